/** The simulated fleet's parameters, as the replay contract names them. */
export interface FleetParams {
  /** Requests one serving replica handles per interval. */
  readonly capacity: number;
  /** Intervals between the decision that adds a pod and the interval in which it first serves. */
  readonly startupSteps: number;
  readonly minReplicas: number;
}

/** What happened in the simulated fleet, interval by interval and in total. */
export interface FleetResult {
  readonly ready: number[];
  readonly existing: number[];
  /** Sum of pods that exist per interval (a starting GPU pod is paid for). */
  readonly cost: number;
  readonly demand: number;
  /** Dropped work; with a backlog, what is still queued at the end. */
  readonly unserved: number;
  readonly unservedIntervals: number;
  readonly maxBacklog?: number;
  readonly backlogIntervalSum?: number;
}

/** Pods the fleet starts with: enough for the first K+1 intervals, all serving. */
export function startFleet(demand: readonly number[], p: FleetParams): number {
  let peak = 0;
  for (let i = 0; i <= p.startupSteps && i < demand.length; i++) peak = Math.max(peak, demand[i] ?? 0);
  return Math.max(p.minReplicas, Math.ceil(peak / p.capacity));
}

/**
 * Applies targets r_t (decided at the end of interval t) to the fleet model of the replay contract.
 * With `backlog`, unserved work waits in a queue instead of being dropped.
 */
export function simulateFleet(demand: readonly number[], targets: readonly number[], p: FleetParams, backlog = false): FleetResult {
  // First serving interval of each pod. New pods get s + 1 + K, which never decreases, so the list stays
  // sorted; truncating it removes pods that are not serving yet first (newest first), then the newest serving.
  const pods: number[] = new Array<number>(startFleet(demand, p)).fill(0);
  const ready: number[] = [];
  const existing: number[] = [];
  let cost = 0;
  let unserved = 0;
  let short = 0;
  let queue = 0;
  let maxQueue = 0;
  let queueSum = 0;
  let total = 0;
  for (let s = 0; s < demand.length; s++) {
    const d = demand[s] ?? 0;
    total += d;
    const r = countAtMost(pods, s);
    ready.push(r);
    existing.push(pods.length);
    cost += pods.length;
    const left = Math.max(0, (backlog ? d + queue : d) - p.capacity * r);
    if (left > 0) short++;
    if (backlog) {
      queue = left;
      maxQueue = Math.max(maxQueue, queue);
      queueSum += queue;
    } else unserved += left;
    const t = targets[s] ?? pods.length;
    if (t > pods.length) for (let k = pods.length; k < t; k++) pods.push(s + 1 + p.startupSteps);
    else if (t < pods.length) pods.length = t;
  }
  const base = { ready, existing, cost, demand: total, unservedIntervals: short };
  return backlog ? { ...base, unserved: queue, maxBacklog: maxQueue, backlogIntervalSum: queueSum } : { ...base, unserved };
}

/** Number of values <= x in an ascending array. */
function countAtMost(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
