/** The simulated fleet's parameters, as the replay contract names them. */
export interface FleetParams {
  /** Requests one serving replica handles per interval. */
  readonly capacity: number;
  /** Intervals between the decision that adds a pod and the interval in which it first serves. */
  readonly startupSteps: number;
  readonly minReplicas: number;
  /**
   * The most pods any fleet may have (the policy's, and the reactive baselines', as a real HPA's
   * maxReplicas caps it). Absent: no cap.
   */
  readonly maxReplicas?: number;
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

/** Pods the fleet starts with: enough for the first K+1 intervals, all serving, and no more than max replicas. */
export function startFleet(demand: readonly number[], p: FleetParams): number {
  let peak = 0;
  for (let i = 0; i <= p.startupSteps && i < demand.length; i++) peak = Math.max(peak, demand[i] ?? 0);
  return capReplicas(Math.max(p.minReplicas, Math.ceil(peak / p.capacity)), p);
}

/** A replica count no larger than the fleet's max replicas (when it has one). */
export function capReplicas(replicas: number, p: FleetParams): number {
  return p.maxReplicas === undefined ? replicas : Math.min(p.maxReplicas, replicas);
}

/**
 * The pods of a simulated fleet, grouped by the first interval they serve in, oldest first. Memory
 * grows with the number of groups (at most one per interval), never with the replica count, so a
 * demand spike that asks for 1e11 pods costs one number, not an array of 1e11.
 */
export class PodGroups {
  /** First serving interval of each group, strictly increasing. */
  private readonly starts: number[] = [];
  /** Pods in groups 0..i. */
  private readonly cumulative: number[] = [];

  get size(): number {
    return this.cumulative[this.cumulative.length - 1] ?? 0;
  }

  /** Adds `n` pods that serve from interval `start` on (never earlier than the newest group's). */
  add(start: number, n: number): void {
    const last = this.starts.length - 1;
    if (last >= 0 && this.starts[last] === start) this.cumulative[last] = this.size + n;
    else {
      this.cumulative.push(this.size + n);
      this.starts.push(start);
    }
  }

  /** Keeps the `n` oldest pods: those not serving yet go first (newest first), then the newest serving. */
  keep(n: number): void {
    while (this.starts.length > 0 && (this.cumulative[this.cumulative.length - 2] ?? 0) >= n) {
      this.starts.pop();
      this.cumulative.pop();
    }
    const last = this.cumulative.length - 1;
    if (last >= 0) this.cumulative[last] = Math.min(this.cumulative[last] as number, n);
  }

  /** Pods serving in interval `s`: those whose first serving interval is at most `s`. */
  servingAt(s: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as number) <= s) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : (this.cumulative[lo - 1] as number);
  }
}

/**
 * Applies targets r_t (decided at the end of interval t) to the fleet model of the replay contract.
 * With `backlog`, unserved work waits in a queue instead of being dropped.
 */
export function simulateFleet(demand: readonly number[], targets: readonly number[], p: FleetParams, backlog = false): FleetResult {
  // New pods serve from s + 1 + K, which never decreases, so the groups stay in order and keeping the
  // oldest pods removes those not serving yet first (newest first), then the newest serving.
  const pods = new PodGroups();
  pods.add(0, startFleet(demand, p));
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
    const r = pods.servingAt(s);
    const size = pods.size;
    ready.push(r);
    existing.push(size);
    cost += size;
    const left = Math.max(0, (backlog ? d + queue : d) - p.capacity * r);
    if (left > 0) short++;
    if (backlog) {
      queue = left;
      maxQueue = Math.max(maxQueue, queue);
      queueSum += queue;
    } else unserved += left;
    const t = capReplicas(targets[s] ?? size, p);
    if (t > size) pods.add(s + 1 + p.startupSteps, t - size);
    else if (t < size) pods.keep(t);
  }
  const base = { ready, existing, cost, demand: total, unservedIntervals: short };
  return backlog ? { ...base, unserved: queue, maxBacklog: maxQueue, backlogIntervalSum: queueSum } : { ...base, unserved };
}
