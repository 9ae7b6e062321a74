/**
 * A reactive floor whose rule each target learns from its own past.
 *
 * The learner keeps a small grid of reactive peak-hold rules (h times the highest demand of the last
 * w intervals, as the replay contract's frontier does) and replays each one on the target's own demand
 * as it arrives: a rule's pods ordered at the end of interval s serve from s + lead, so in interval t
 * it serves with the fewest pods it asked for over the last `lead` intervals (scale-down removes pods
 * not yet serving first). Each rule's unserved demand and pods are summed with an exponential decay
 * (recent traffic counts most), and so are the forecast-driven policy's own asks, scored the same way.
 * The floor is the rule that lost least within the policy's own recent cost (times `budget`): where the
 * forecast keeps missing a kind of rise that a reactive rule of the same cost catches, the floor
 * catches it too. Comparing with the policy's asks before the floor, not its final replicas, keeps the
 * budget from ratcheting up: a floor that raised the budget would pick a dearer floor next.
 *
 * All state is the target's own and causal: at the end of interval t it has seen demand up to t only,
 * and each tick costs O(rules x lead).
 */
export interface ReactiveFloorSettings {
  /** Headrooms h of the grid (multipliers on the peak). */
  readonly headrooms: readonly number[];
  /** Windows w of the grid, in intervals. */
  readonly windows: readonly number[];
  /** Scored intervals after which a rule's past counts half. */
  readonly halfLife: number;
  /** Intervals scored before the floor binds. */
  readonly earnAfter: number;
  /** A rule may cost at most this multiple of the policy's own recent asks. */
  readonly budget: number;
}

/**
 * The grid measured on the dev table (docs/forecasting.md, third round): 60 rules from current demand to
 * twice the peak of the last 48 intervals; a day's half-life at 1 minute.
 */
export const REACTIVE_FLOOR_DEFAULTS: ReactiveFloorSettings = validateReactiveFloorSettings(
  Object.freeze({
    headrooms: Object.freeze([1, 1.1, 1.25, 1.5, 1.75, 2]),
    windows: Object.freeze([1, 2, 3, 4, 6, 8, 12, 16, 24, 48]),
    halfLife: 1440,
    earnAfter: 12,
    budget: 1,
  }),
);

/** Sliding maximum over the last `window` values, as a deque of (index, value) with decreasing values. */
interface Peak {
  readonly window: number;
  readonly at: number[];
  readonly values: number[];
}

/** One target's learner. Rule r is headroom `r % headrooms` over window `floor(r / headrooms)`. */
export interface ReactiveFloorState {
  readonly lead: number;
  readonly peaks: Peak[];
  /** Per rule, then the policy's asks last: the asks of the last `lead` intervals, oldest first. */
  readonly asks: number[][];
  /** Per rule, then the policy: decayed unserved demand and decayed pods. */
  readonly unserved: Float64Array;
  readonly pods: Float64Array;
  /** Intervals seen and intervals scored. */
  seen: number;
  scored: number;
}

/** The rule in force and what it asks for now. */
export interface LearnedFloor {
  readonly replicas: number;
  readonly headroom: number;
  readonly windowIntervals: number;
}

/** Checks a grid once, at the edge, so a bad one fails with the setting named. */
export function validateReactiveFloorSettings(s: ReactiveFloorSettings): ReactiveFloorSettings {
  const bad = (what: string): never => {
    throw new Error(`reactive floor: ${what}`);
  };
  if (s.headrooms.length === 0 || s.headrooms.some((h) => !(h >= 1 && h <= 10))) bad(`headrooms must be non-empty, each in [1, 10], got [${s.headrooms.join(', ')}]`);
  if (s.windows.length === 0 || s.windows.some((w) => !Number.isInteger(w) || w < 1)) bad(`windows must be non-empty positive integers (intervals), got [${s.windows.join(', ')}]`);
  if (!(s.halfLife > 0)) bad(`halfLife must be > 0 intervals, got ${s.halfLife}`);
  if (!(s.earnAfter >= 0)) bad(`earnAfter must be >= 0 intervals, got ${s.earnAfter}`);
  if (!(s.budget > 0)) bad(`budget must be > 0, got ${s.budget}`);
  return s;
}

/** A new target's learner for pods that serve `lead` intervals after they are ordered. */
export function newReactiveFloor(lead: number, settings: ReactiveFloorSettings = REACTIVE_FLOOR_DEFAULTS): ReactiveFloorState {
  const rules = settings.headrooms.length * settings.windows.length;
  return {
    lead: Math.max(1, lead),
    peaks: settings.windows.map((window) => ({ window, at: [], values: [] })),
    asks: Array.from({ length: rules + 1 }, () => []),
    unserved: new Float64Array(rules + 1),
    pods: new Float64Array(rules + 1),
    seen: 0,
    scored: 0,
  };
}

function pushPeak(p: Peak, t: number, value: number): number {
  while (p.values.length > 0 && (p.values[p.values.length - 1] as number) <= value) {
    p.values.pop();
    p.at.pop();
  }
  p.values.push(value);
  p.at.push(t);
  if ((p.at[0] as number) <= t - p.window) {
    p.at.shift();
    p.values.shift();
  }
  return p.values[0] as number;
}

/**
 * Advances one tick at the end of an interval: scores every rule and the policy on `demand` (a rate),
 * then records what each rule asks for now and what the policy asked (`policyAsk`, replicas before the
 * floor). `capacity` is what one replica serves, in the unit of `demand`. Mutates and returns `s`.
 */
export function observeReactiveFloor(s: ReactiveFloorState, x: { demand: number; capacity: number; policyAsk: number }, settings: ReactiveFloorSettings = REACTIVE_FLOOR_DEFAULTS): ReactiveFloorState {
  const decay = Math.pow(0.5, 1 / settings.halfLife);
  const d = Number.isFinite(x.demand) && x.demand > 0 ? x.demand : 0;
  if (s.seen >= s.lead) {
    for (let r = 0; r < s.asks.length; r++) {
      const asks = s.asks[r] as number[];
      // Pods ordered `lead` intervals ago and still kept are the ones serving now.
      const serving = Math.min(...asks);
      s.unserved[r] = decay * (s.unserved[r] as number) + Math.max(0, d - serving * x.capacity);
      s.pods[r] = decay * (s.pods[r] as number) + (asks[asks.length - 1] as number);
    }
    s.scored++;
  }
  const nh = settings.headrooms.length;
  for (let wi = 0; wi < s.peaks.length; wi++) {
    const peak = pushPeak(s.peaks[wi] as Peak, s.seen, d);
    for (let hi = 0; hi < nh; hi++) record(s.asks[wi * nh + hi] as number[], Math.max(0, Math.ceil(((settings.headrooms[hi] as number) * peak) / x.capacity - 1e-9)), s.lead);
  }
  record(s.asks[s.asks.length - 1] as number[], Math.max(0, x.policyAsk), s.lead);
  s.seen++;
  return s;
}

function record(asks: number[], replicas: number, lead: number): void {
  asks.push(replicas);
  while (asks.length > lead) asks.shift();
}

/**
 * The floor now: what the rule with the least decayed unserved demand among those whose decayed pods
 * are at most `budget` times the policy's asks asks for (at equal loss the cheaper rule); undefined
 * until `earnAfter` intervals were scored or when no rule fits the budget.
 */
export function learnedFloor(s: ReactiveFloorState, settings: ReactiveFloorSettings = REACTIVE_FLOOR_DEFAULTS): LearnedFloor | undefined {
  if (s.scored < Math.max(1, settings.earnAfter)) return undefined;
  const policy = s.asks.length - 1;
  const limit = settings.budget * (s.pods[policy] as number);
  let best = -1;
  for (let r = 0; r < policy; r++) {
    const c = s.pods[r] as number;
    if (c > limit) continue;
    const u = s.unserved[r] as number;
    const bu = best < 0 ? Infinity : (s.unserved[best] as number);
    if (u < bu || (u === bu && c < (s.pods[best] as number))) best = r;
  }
  if (best < 0) return undefined;
  const nh = settings.headrooms.length;
  const asks = s.asks[best] as number[];
  return { replicas: asks[asks.length - 1] as number, headroom: settings.headrooms[best % nh] as number, windowIntervals: settings.windows[Math.floor(best / nh)] as number };
}
