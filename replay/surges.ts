/**
 * Surges in a demand series and what each one cost a fleet, by cause. Pure functions over arrays
 * (no clock, no I/O), so the report and the tests classify the same way. docs/replay.md defines
 * every term; the definitions here are the reference.
 */

/** How surges are found. */
export interface SurgeSettings {
  /** A surge starts where demand exceeds this multiple of the baseline. */
  readonly ratio: number;
  /** The baseline is the median demand of this many intervals before the candidate onset. */
  readonly baselineIntervals: number;
  /** A surge ends at the first of this many intervals in a row at or below its threshold. */
  readonly quietIntervals: number;
  /** Demand must also exceed this (one replica's capacity): a surge one pod absorbs is not one. */
  readonly floor: number;
}

/** One surge: intervals [onset, end) of the demand series. */
export interface Surge {
  readonly onset: number;
  /** Exclusive: the first quiet interval, or the series' length. */
  readonly end: number;
  /** ratio × the baseline at the onset (or the floor, when higher). */
  readonly threshold: number;
  readonly peak: number;
  readonly peakAt: number;
}

/** Why demand went unserved in a surge interval; tried in this order on each interval. */
export type UnservedCause = 'onset' | 'scaleDownEarly' | 'followOn' | 'sustained';

export const UNSERVED_CAUSES: readonly UnservedCause[] = ['onset', 'followOn', 'scaleDownEarly', 'sustained'];

/** The words the report uses for each cause. */
export const CAUSE_LABELS: Readonly<Record<UnservedCause, string>> = Object.freeze({
  onset: 'onset nobody could see',
  followOn: 'follow-on',
  scaleDownEarly: 'scale-down too early',
  sustained: 'sustained',
});

/** A fleet's run on the series: ready pods per interval, and the target decided at the end of each. */
export interface FleetSeries {
  readonly ready: readonly number[];
  readonly targets: readonly number[];
}

/** Requests per interval one pod serves, and K: the intervals from asking for a pod to its first serving interval. */
export interface SurgeFleetParams {
  readonly capacity: number;
  readonly startupSteps: number;
}

/** What one surge cost one fleet. */
export interface SurgeOutcome {
  /**
   * Intervals between the decision that first raised the target for this surge and the onset:
   * positive = before the onset (K + 1 or more: the new pods served from the onset on), 0 = in the
   * onset interval, negative = after it; null = the target never rose.
   */
  readonly leadIntervals: number | null;
  readonly unserved: Readonly<Record<UnservedCause, number>>;
  readonly total: number;
}

/** Defaults for a fleet with startup K and the given capacity: twice the 4-hour median at 5-minute steps. */
export function defaultSurgeSettings(p: SurgeFleetParams): SurgeSettings {
  return { ratio: 2, baselineIntervals: 48, quietIntervals: 2 * (p.startupSteps + 1), floor: p.capacity };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** The first interval at or after `from` that starts `quiet` intervals in a row at or below `threshold`. */
function surgeEnd(demand: readonly number[], from: number, threshold: number, quiet: number): number {
  let run = 0;
  for (let t = from; t < demand.length; t++) {
    run = (demand[t] ?? 0) <= threshold ? run + 1 : 0;
    if (run === quiet) return t - quiet + 1;
  }
  return demand.length;
}

/**
 * Finds surges: an onset is an interval t (with a full baseline window before it, outside any earlier
 * surge) whose demand exceeds both `floor` and `ratio` × the median of the `baselineIntervals` before
 * it; the surge lasts until demand stays at or below that threshold for `quietIntervals` intervals.
 */
export function findSurges(demand: readonly number[], s: SurgeSettings): Surge[] {
  const out: Surge[] = [];
  let t = s.baselineIntervals;
  while (t < demand.length) {
    const threshold = Math.max(s.floor, s.ratio * median(demand.slice(t - s.baselineIntervals, t)));
    if ((demand[t] ?? 0) <= threshold) {
      t++;
      continue;
    }
    const end = surgeEnd(demand, t + 1, threshold, s.quietIntervals);
    let peakAt = t;
    for (let i = t; i < end; i++) if ((demand[i] ?? 0) > (demand[peakAt] ?? 0)) peakAt = i;
    out.push({ onset: t, end, threshold, peak: demand[peakAt] ?? 0, peakAt });
    t = end;
  }
  return out;
}

/**
 * Lead: the target before the look-back window (K + 1 intervals before the onset) is the reference;
 * the lead is the onset minus the first interval of the run of higher targets that reaches the onset,
 * or, when the target was not above it at the onset, minus the first higher target during the surge.
 */
function leadIntervals(surge: Surge, targets: readonly number[], startupSteps: number): number | null {
  const lookback = startupSteps + 1;
  const ref = targets[Math.max(0, surge.onset - lookback - 1)] ?? 0;
  let s = surge.onset;
  while (s - 1 >= Math.max(0, surge.onset - lookback) && (targets[s - 1] ?? 0) > ref) s--;
  if (s < surge.onset) return surge.onset - s;
  for (let t = surge.onset; t < surge.end; t++) if ((targets[t] ?? 0) > ref) return surge.onset - t;
  return null;
}

/** The cause of interval t's unserved demand, given the surge's state before t. */
function causeOf(t: number, d: number, ctx: { onset: number; k: number; maxReady: number; ready: number; capacity: number; seen: number }): UnservedCause {
  if (t <= ctx.onset + ctx.k) return 'onset';
  if (ctx.capacity * ctx.maxReady >= d && ctx.ready < ctx.maxReady) return 'scaleDownEarly';
  if (d > ctx.seen) return 'followOn';
  return 'sustained';
}

/**
 * What a surge cost a fleet: each interval's unserved demand, max(0, demand − capacity × ready),
 * goes whole to the first cause that holds:
 * - onset nobody could see: within K + 1 intervals of the onset (t ≤ onset + K), which only pods asked
 *   for before the surge was visible can serve;
 * - scale-down too early: earlier in the surge the fleet had enough ready pods for this demand, and
 *   it has fewer ready now;
 * - follow-on: demand above every value of the surge seen a startup time earlier (onset..t−K−1), a
 *   new high no reaction could have met;
 * - sustained: the rest, a level already visible a startup time earlier that the fleet did not meet.
 */
export function surgeOutcome(surge: Surge, demand: readonly number[], fleet: FleetSeries, p: SurgeFleetParams): SurgeOutcome {
  const unserved: Record<UnservedCause, number> = { onset: 0, followOn: 0, scaleDownEarly: 0, sustained: 0 };
  let maxReady = 0;
  let seen = -Infinity;
  let total = 0;
  for (let t = surge.onset; t < surge.end; t++) {
    const seenAt = t - p.startupSteps - 1;
    if (seenAt >= surge.onset) seen = Math.max(seen, demand[seenAt] ?? 0);
    const d = demand[t] ?? 0;
    const ready = fleet.ready[t] ?? 0;
    const u = Math.max(0, d - p.capacity * ready);
    if (u > 0) {
      unserved[causeOf(t, d, { onset: surge.onset, k: p.startupSteps, maxReady, ready, capacity: p.capacity, seen })] += u;
      total += u;
    }
    maxReady = Math.max(maxReady, ready);
  }
  return { leadIntervals: leadIntervals(surge, fleet.targets, p.startupSteps), unserved, total };
}
