import { capReplicas, FleetRun, startFleet, type FleetParams, type FleetTotals } from './fleet.ts';

/**
 * The reactive frontier's version in the replay contract, recorded in the JSON beside the output.
 * Version 2 is the fine grid of 404 configurations; version 1 had 36, whose gaps let a policy buy
 * quality by moving to a cost level between two coarse points.
 */
export const FRONTIER_VERSION = 2;

/** Settings of the Kubernetes HPA run as a baseline. */
export interface HpaSettings {
  /** Utilization target (0..1). */
  readonly utilization: number;
  readonly windowSeconds: number;
}

/** The default HPA of the contract: utilization 0.7 and a 300 s scale-down stabilization window. */
export const DEFAULT_HPA: HpaSettings = Object.freeze({ utilization: 0.7, windowSeconds: 300 });

/**
 * The maximum of the last `window` values pushed, in O(1) amortized per value: a deque of
 * (index, value) pairs whose values decrease from front to back.
 */
class SlidingMax {
  private readonly window: number;
  private readonly indices: number[] = [];
  private readonly values: number[] = [];
  private head = 0;

  constructor(window: number) {
    this.window = window;
  }

  /** Adds value number `t` (t increases by one per call) and returns the maximum of the window ending at it. */
  push(t: number, value: number): number {
    // A value no larger than the new one can never be the maximum again: the new one outlives it.
    while (this.values.length > this.head && (this.values[this.values.length - 1] as number) <= value) {
      this.values.pop();
      this.indices.pop();
    }
    this.indices.push(t);
    this.values.push(value);
    if ((this.indices[this.head] as number) <= t - this.window) this.head++;
    // Entries before the head are dead; dropped now and then so a stream that runs for ever stays small.
    if (this.head > 64 && this.head * 2 > this.values.length) {
      this.indices.splice(0, this.head);
      this.values.splice(0, this.head);
      this.head = 0;
    }
    return this.values[this.head] as number;
  }
}

/** A reactive rule run one interval at a time: given d_t (seen at the end of interval t), returns r_t. */
export type ReactiveRule = (d: number) => number;

/**
 * The Kubernetes HPA with its default behaviour on a utilization target, per the contract, as a
 * rule fed one interval at a time from a fleet of `start` pods; capped at the fleet's max replicas
 * as a real HPA's maxReplicas caps it.
 */
export function hpaRule(p: FleetParams, stepSeconds: number, hpa: HpaSettings, start: number): ReactiveRule {
  const u = hpa.utilization;
  const cap = p.capacity;
  // Recommendations kept for scale-down, the current one included.
  const recs = new SlidingMax(Math.max(1, Math.ceil(hpa.windowSeconds / stepSeconds)));
  const doublings = Math.min(64, Math.max(1, Math.floor(stepSeconds / 15)));
  let cur = start;
  let t = 0;
  return (d) => {
    let desired = Math.max(p.minReplicas, Math.ceil(d / (cap * u)));
    // Within the HPA's 10% tolerance the current count is kept (same float order as the reference scorer).
    if (cur > 0 && Math.abs(d / (cap * u * cur) - 1) <= 0.1) desired = cur;
    const recMax = recs.push(t++, desired);
    // Scale-up is not delayed; scale-down waits for the window.
    const next = Math.min(Math.max(cur, desired), recMax);
    let limit = cur;
    // Scale-up is limited per 15 s; after 64 doublings no target is held back.
    for (let i = 0; i < doublings; i++) limit = Math.max(2 * limit, limit + 4);
    cur = capReplicas(Math.max(p.minReplicas, Math.min(next, limit)), p);
    return cur;
  };
}

/** Reactive peak hold as a rule: enough for h times the highest demand in the last `windowSteps` intervals, capped at max replicas. */
export function peakHoldRule(p: FleetParams, h: number, windowSteps: number): ReactiveRule {
  const peak = new SlidingMax(windowSteps);
  let t = 0;
  return (d) => capReplicas(Math.max(p.minReplicas, Math.ceil((h * peak.push(t++, d)) / p.capacity)), p);
}

/** Targets of the default HPA (or another HPA setting) over a whole series, from the contract's starting fleet. */
export function hpaTargets(demand: readonly number[], p: FleetParams, stepSeconds: number, hpa: HpaSettings = DEFAULT_HPA): number[] {
  return demand.map(hpaRule(p, stepSeconds, hpa, startFleet(demand, p)));
}

/** Targets of reactive peak hold over a whole series. */
export function peakHoldTargets(demand: readonly number[], p: FleetParams, h: number, windowSteps: number): number[] {
  return demand.map(peakHoldRule(p, h, windowSteps));
}

/** The lowest utilization target of the frontier's HPA grid: the one that asks for the most pods. */
const LOWEST_UTILIZATION = 0.15;

/**
 * Whether the fleet's max replicas may cap a fleet that the replay contract leaves uncapped: the
 * starting fleet, or a reactive baseline (the HPA at the lowest utilization target asks for the most,
 * more than peak hold at twice the peak). False means every figure equals the uncapped contract's.
 */
export function mayCapBaselines(demand: readonly number[], p: FleetParams): boolean {
  if (p.maxReplicas === undefined) return false;
  let peak = 0;
  for (const d of demand) peak = Math.max(peak, d);
  const start = startFleet(demand, { ...p, maxReplicas: undefined });
  return Math.max(p.minReplicas, start, Math.ceil(peak / (p.capacity * LOWEST_UTILIZATION))) > p.maxReplicas;
}

/** One reactive baseline configuration's result. */
export interface ReactivePoint {
  readonly cost: number;
  readonly unserved: number;
  readonly name: string;
}

/** The frontier's grid (version 2). Settings are integer hundredths, divided by 100 as the scorer does. */
const HPA_WINDOWS_S = [300, 1800, 7200, 43200];
const HPA_UTILIZATION_PERCENT = percentRange(15, 95);
const PEAK_HOLD_WINDOW_STEPS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 36, 48, 96, 144, 288];
const PEAK_HOLD_HEADROOM_PERCENT = percentRange(100, 200);

/** from, from + 5, ..., to. */
function percentRange(from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += 5) out.push(v);
  return out;
}

/** A number as Python's str() writes a float (1.0, not 1), so point names match the reference scorer's. */
function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** One configuration of the frontier's grid: its name as the reference scorer prints it, and its rule. */
interface GridEntry {
  readonly name: string;
  readonly rule: (p: FleetParams, start: number) => ReactiveRule;
}

/** The 404 configurations of frontier version 2, in the reference scorer's order and names. */
function reactiveGrid(stepSeconds: number): GridEntry[] {
  const grid: GridEntry[] = [];
  for (const windowSeconds of HPA_WINDOWS_S) {
    for (const u100 of HPA_UTILIZATION_PERCENT) {
      grid.push({ name: `hpa u=${pyFloat(u100 / 100)} window=${windowSeconds}s`, rule: (p, start) => hpaRule(p, stepSeconds, { utilization: u100 / 100, windowSeconds }, start) });
    }
  }
  for (const w of PEAK_HOLD_WINDOW_STEPS) {
    // The scorer goes through seconds and back (w * step / step); with a fractional step that can round up.
    const steps = Math.max(1, Math.ceil((w * stepSeconds) / stepSeconds));
    for (const h100 of PEAK_HOLD_HEADROOM_PERCENT) grid.push({ name: `peak-hold h=${pyFloat(h100 / 100)} window=${w} intervals`, rule: (p) => peakHoldRule(p, h100 / 100, steps) });
  }
  return grid;
}

/** The default HPA's name in the grid (utilization 0.7, 300 s window): the stream's default HPA is that point. */
export const DEFAULT_HPA_POINT = `hpa u=${pyFloat(DEFAULT_HPA.utilization)} window=${DEFAULT_HPA.windowSeconds}s`;

/**
 * Every reactive configuration of the frontier's grid, run one interval at a time on its own fleet of
 * the contract's model: after pushing d_0..d_t, points() are the (cost, unserved) points the reference
 * scorer computes on that prefix. A push costs O(404) (each rule and fleet is O(1) amortized), and
 * memory does not grow with the intervals pushed, so a live page can keep the frontier of the stream so
 * far at every tick. reactivePoints is this stream run over a whole series.
 */
export class ReactiveStream {
  private readonly runs: Array<{ name: string; rule: ReactiveRule; fleet: FleetRun }>;
  private pushed = 0;

  /** `start`: the starting fleet of every run (startFleet of the series: its first K + 1 intervals). */
  constructor(p: FleetParams, stepSeconds: number, start: number) {
    this.runs = reactiveGrid(stepSeconds).map((g) => ({ name: g.name, rule: g.rule(p, start), fleet: new FleetRun(p, start) }));
  }

  /** The next interval's demand. */
  push(d: number): void {
    for (const r of this.runs) r.fleet.step(d, r.rule(d));
    this.pushed++;
  }

  /** Intervals pushed so far. */
  get intervals(): number {
    return this.pushed;
  }

  /** Each configuration's cost and unserved demand so far, in the grid's order. */
  points(): ReactivePoint[] {
    return this.runs.map((r) => {
      const t = r.fleet.totals();
      return { cost: t.cost, unserved: t.unserved, name: r.name };
    });
  }

  /** One configuration's totals so far, by its name (DEFAULT_HPA_POINT for the default HPA). */
  totalsOf(name: string): FleetTotals | undefined {
    return this.runs.find((r) => r.name === name)?.fleet.totals();
  }
}

/**
 * Cost and unserved demand of every reactive baseline configuration of the contract (frontier
 * version 2, 404 points): the HPA for u in 0.15..0.95 with W in {300, 1800, 7200, 43200} s, then peak
 * hold for h in 1.00..2.00 with windows of 1 to 288 intervals, in the reference scorer's order and names.
 */
export function reactivePoints(demand: readonly number[], p: FleetParams, stepSeconds: number): ReactivePoint[] {
  const stream = new ReactiveStream(p, stepSeconds, startFleet(demand, p));
  for (const d of demand) stream.push(d);
  return stream.points();
}

/** The points, by cost, that leave less unserved demand than every cheaper point (at equal cost the lower). */
export function frontier(points: readonly ReactivePoint[]): ReactivePoint[] {
  // Ties broken as Python sorts (cost, unserved, name) tuples, so the same point is kept.
  const sorted = [...points].sort((a, b) => a.cost - b.cost || a.unserved - b.unserved || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: ReactivePoint[] = [];
  let best = Infinity;
  for (const pt of sorted) {
    if (pt.unserved < best) {
      best = pt.unserved;
      out.push(pt);
    }
  }
  return out;
}

/** Unserved demand of the reactive frontier at a cost, interpolated linearly and clamped to its ends. */
export function unservedAtCost(front: readonly ReactivePoint[], cost: number): number {
  const first = front[0];
  const last = front[front.length - 1];
  if (!first || !last) return 0;
  if (cost <= first.cost) return first.unserved;
  if (cost >= last.cost) return last.unserved;
  for (let i = 1; i < front.length; i++) {
    const a = front[i - 1] as ReactivePoint;
    const b = front[i] as ReactivePoint;
    if (a.cost <= cost && cost <= b.cost) return a.unserved + ((b.unserved - a.unserved) * (cost - a.cost)) / (b.cost - a.cost || 1);
  }
  return last.unserved;
}

/**
 * The reactive configuration that at no more than `cost` left the least unserved demand (at equal
 * unserved, the cheaper): the frontier's last point at or below that cost. Undefined when every
 * configuration cost more.
 */
export function bestAtCost(front: readonly ReactivePoint[], cost: number): ReactivePoint | undefined {
  let best: ReactivePoint | undefined;
  for (const pt of front) if (pt.cost <= cost) best = pt;
  return best;
}
