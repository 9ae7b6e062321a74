import { simulateFleet, startFleet, type FleetParams } from './fleet.ts';

/** Settings of the Kubernetes HPA run as a baseline. */
export interface HpaSettings {
  /** Utilization target (0..1). */
  readonly utilization: number;
  readonly windowSeconds: number;
}

/** The default HPA of the contract: utilization 0.7 and a 300 s scale-down stabilization window. */
export const DEFAULT_HPA: HpaSettings = Object.freeze({ utilization: 0.7, windowSeconds: 300 });

/** Targets of the Kubernetes HPA with its default behaviour on a utilization target, per the contract. */
export function hpaTargets(demand: readonly number[], p: FleetParams, stepSeconds: number, hpa: HpaSettings = DEFAULT_HPA): number[] {
  const u = hpa.utilization;
  const cap = p.capacity;
  const window = Math.max(1, Math.ceil(hpa.windowSeconds / stepSeconds));
  const doublings = Math.min(64, Math.max(1, Math.floor(stepSeconds / 15)));
  const recs: number[] = [];
  const targets: number[] = [];
  let cur = startFleet(demand, p);
  for (const d of demand) {
    let desired = Math.max(p.minReplicas, Math.ceil(d / (cap * u)));
    // Within the HPA's 10% tolerance the current count is kept (same float order as the reference scorer).
    if (cur > 0 && Math.abs(d / (cap * u * cur) - 1) <= 0.1) desired = cur;
    recs.push(desired);
    if (recs.length > window) recs.shift();
    let next = cur;
    if (next < desired) next = desired;
    const recMax = Math.max(...recs);
    if (next > recMax) next = recMax;
    let limit = cur;
    for (let i = 0; i < doublings; i++) limit = Math.max(2 * limit, limit + 4);
    next = Math.max(p.minReplicas, Math.min(next, limit));
    targets.push(next);
    cur = next;
  }
  return targets;
}

/** Targets of reactive peak hold: enough for h times the highest demand in the last window. */
export function peakHoldTargets(demand: readonly number[], p: FleetParams, h: number, windowSteps: number): number[] {
  const q: number[] = [];
  let head = 0;
  const out: number[] = [];
  for (let t = 0; t < demand.length; t++) {
    const d = demand[t] ?? 0;
    while (q.length > head && (demand[q[q.length - 1] ?? 0] ?? 0) <= d) q.pop();
    q.push(t);
    if ((q[head] ?? 0) <= t - windowSteps) head++;
    out.push(Math.max(p.minReplicas, Math.ceil((h * (demand[q[head] ?? 0] ?? 0)) / p.capacity)));
  }
  return out;
}

/** One reactive baseline configuration's result. */
export interface ReactivePoint {
  readonly cost: number;
  readonly unserved: number;
  readonly name: string;
}

const WINDOWS_S = [300, 1800, 7200, 43200];
const HEADROOMS = [1.0, 1.1, 1.25, 1.5, 2.0];

/** Cost and unserved demand of every reactive baseline configuration of the contract. */
export function reactivePoints(demand: readonly number[], p: FleetParams, stepSeconds: number): ReactivePoint[] {
  const pts: ReactivePoint[] = [];
  for (const windowSeconds of WINDOWS_S) {
    for (let u10 = 15; u10 < 96; u10 += 10) {
      const sim = simulateFleet(demand, hpaTargets(demand, p, stepSeconds, { utilization: u10 / 100, windowSeconds }), p);
      pts.push({ cost: sim.cost, unserved: sim.unserved, name: `hpa u=${u10 / 100} window=${windowSeconds}s` });
    }
    for (const h of HEADROOMS) {
      const steps = Math.max(1, Math.ceil(windowSeconds / stepSeconds));
      const sim = simulateFleet(demand, peakHoldTargets(demand, p, h, steps), p);
      pts.push({ cost: sim.cost, unserved: sim.unserved, name: `peak-hold h=${h} window=${windowSeconds}s` });
    }
  }
  return pts;
}

/** The points, by cost, that leave less unserved demand than every cheaper point (at equal cost the lower). */
export function frontier(points: readonly ReactivePoint[]): ReactivePoint[] {
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
