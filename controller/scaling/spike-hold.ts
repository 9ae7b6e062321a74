/**
 * A floor that remembers a lone spike at fine intervals for a few intervals after it is gone.
 *
 * World Cup 98's 05-12 flash crowd came 7 minutes after a one-minute 10x spike out of a flat series;
 * the best reactive rule at the policy's cost there held that spike for 8 intervals. The forecast lets
 * a lone spike go at once and the stabilization window holds it for 5 minutes, so pods ordered for it
 * are gone when the crowd comes. This rule finds, among the last `intervals` intervals, any whose
 * demand was at least `ratio` times the median of the `baselineIntervals` before it (at least 2(K+1)
 * of them, so a cold start's first minutes are no baseline) while the interval after it was back under
 * that bar, as was the one before it (a lone spike), and asks for `headroom` x the largest such demand. It uses demand up to now
 * only and keeps no state. `decide` keeps this ask out of the stabilization window's memory, so the
 * hold lasts `intervals` at any interval length (the window would add 20 intervals at 15 s, 5 at 1 min).
 */
export interface SpikeHoldSettings {
  /** A spike is demand at least this multiple of the median before it (> 1). */
  readonly ratio: number;
  /** How many intervals a spike is held, the interval it came in included. */
  readonly intervals: number;
  /** Multiplier on the spike's demand. */
  readonly headroom: number;
  /** Intervals before a candidate whose median is its baseline (at most; at least 2(K+1) are needed). */
  readonly baselineIntervals: number;
}

/** What the spike hold asks for now. */
export interface SpikeHold {
  readonly replicas: number;
  /** The largest spike's demand rate in the hold, in the unit of the demand given. */
  readonly peak: number;
  /** How many intervals ago it came (0 = the current interval). */
  readonly age: number;
}

/** Checks settings once, at the edge, so a bad one fails with the setting named. */
export function validateSpikeHoldSettings(s: SpikeHoldSettings): SpikeHoldSettings {
  if (!(s.ratio > 1 && Number.isFinite(s.ratio))) throw new Error(`spike hold: ratio must be a finite number > 1, got ${s.ratio}`);
  if (!(Number.isInteger(s.intervals) && s.intervals >= 1)) throw new Error(`spike hold: intervals must be an integer >= 1, got ${s.intervals}`);
  if (!(s.headroom > 0 && Number.isFinite(s.headroom))) throw new Error(`spike hold: headroom must be a finite number > 0, got ${s.headroom}`);
  if (!(Number.isInteger(s.baselineIntervals) && s.baselineIntervals >= 1)) throw new Error(`spike hold: baselineIntervals must be an integer >= 1, got ${s.baselineIntervals}`);
  return s;
}

/**
 * The spike hold at the end of the last interval of `demandRates` (oldest first), for pods that serve
 * `lead` intervals after they are ordered and replicas serving `capacity` each; undefined where no
 * interval of the hold was a spike.
 */
export function spikeHold(demandRates: ArrayLike<number>, x: { lead: number; capacity: number }, s: SpikeHoldSettings): SpikeHold | undefined {
  const n = demandRates.length;
  const minBaseline = 2 * Math.max(1, x.lead);
  const window = Math.max(minBaseline, s.baselineIntervals);
  let best: { peak: number; age: number } | undefined;
  // One buffer for every candidate's baseline, sorted natively: this runs for every scaler every tick.
  const base = new Float64Array(window);
  // The current interval cannot be known lone yet: the reactive and surge rules size for it.
  for (let i = Math.max(minBaseline, n - s.intervals); i < n - 1; i++) {
    const d = rate(demandRates[i]);
    if (d > 0 && (!best || d > best.peak) && isLoneSpike(demandRates, i, s.ratio, base)) best = { peak: d, age: n - 1 - i };
  }
  if (!best) return undefined;
  // Rounds up like decide does, ignoring float noise from rate conversions.
  return { replicas: Math.max(0, Math.ceil((s.headroom * best.peak) / x.capacity - 1e-9)), ...best };
}

/**
 * Whether interval i is at least `ratio` x the median of the intervals before it (as many as `base`
 * holds) while the one before and the one after are under that bar. A lone spike is above both its
 * neighbours, so the median is taken only then. A crowd that stays up is not held here (the
 * stabilization window and the forecast follow it).
 */
function isLoneSpike(demandRates: ArrayLike<number>, i: number, ratio: number, base: Float64Array): boolean {
  const d = rate(demandRates[i]);
  const before = rate(demandRates[i - 1]);
  const after = rate(demandRates[i + 1]);
  if (!(d > before && d > after)) return false;
  const from = Math.max(0, i - base.length);
  for (let j = from; j < i; j++) base[j - from] = rate(demandRates[j]);
  const bar = ratio * median(base.subarray(0, i - from));
  return d >= bar && before < bar && after < bar;
}

/** The median of `xs`, sorting it in place. */
function median(xs: Float64Array): number {
  xs.sort();
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

/** A missing or non-finite rate counts as no demand, as decide's reactive rule reads it. */
function rate(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) ? v : 0;
}
