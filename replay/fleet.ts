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

  /**
   * Makes the groups serving in interval `s` one group. Which of them a later keep() removes does not
   * change what the fleet serves or costs (all serve from then on), so their order may be forgotten.
   */
  mergeServing(s: number): void {
    let n = 0;
    while (n < this.starts.length && (this.starts[n] as number) <= s) n++;
    if (n < 2) return;
    this.starts.splice(0, n - 1);
    this.cumulative.splice(0, n - 1);
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

/** A fleet's totals so far, as the replay contract sums them. */
export type FleetTotals = Omit<FleetResult, 'ready' | 'existing'>;

/**
 * The contract's fleet model run one interval at a time: `step` serves interval s's demand, then
 * applies the target decided at its end. simulateFleet is this over a whole series; the demo and the
 * reactive frontier's stream call it tick by tick. Memory stays bounded however long it runs: pods
 * that all serve are one group.
 */
export class FleetRun {
  private readonly p: FleetParams;
  private readonly backlog: boolean;
  private readonly pods = new PodGroups();
  private s = 0;
  private cost = 0;
  private unserved = 0;
  private short = 0;
  private queue = 0;
  private maxQueue = 0;
  private queueSum = 0;
  private total = 0;

  /** `start`: the pods that exist and serve at interval 0 (startFleet for the contract's fleet). */
  constructor(p: FleetParams, start: number, backlog = false) {
    this.p = p;
    this.backlog = backlog;
    this.pods.add(0, start);
  }

  /** Serves the next interval's demand, then applies the target decided at its end; returns that interval's pods. */
  step(d: number, target: number | undefined): { ready: number; existing: number } {
    const s = this.s++;
    this.total += d;
    // Pods serving now serve from here on: one group, so the groups kept are at most K + 2.
    this.pods.mergeServing(s);
    const ready = this.pods.servingAt(s);
    const existing = this.pods.size;
    this.cost += existing;
    const left = Math.max(0, (this.backlog ? d + this.queue : d) - this.p.capacity * ready);
    if (left > 0) this.short++;
    if (this.backlog) {
      this.queue = left;
      this.maxQueue = Math.max(this.maxQueue, left);
      this.queueSum += left;
    } else this.unserved += left;
    // New pods serve from s + 1 + K, which never decreases, so the groups stay in order and keeping the
    // oldest pods removes those not serving yet first (newest first), then the newest serving.
    const t = capReplicas(target ?? existing, this.p);
    if (t > existing) this.pods.add(s + 1 + this.p.startupSteps, t - existing);
    else if (t < existing) this.pods.keep(t);
    return { ready, existing };
  }

  /** Totals over the intervals stepped so far. */
  totals(): FleetTotals {
    const base = { cost: this.cost, demand: this.total, unservedIntervals: this.short };
    return this.backlog ? { ...base, unserved: this.queue, maxBacklog: this.maxQueue, backlogIntervalSum: this.queueSum } : { ...base, unserved: this.unserved };
  }
}

/**
 * Applies targets r_t (decided at the end of interval t) to the fleet model of the replay contract.
 * With `backlog`, unserved work waits in a queue instead of being dropped.
 */
export function simulateFleet(demand: readonly number[], targets: readonly number[], p: FleetParams, backlog = false): FleetResult {
  const run = new FleetRun(p, startFleet(demand, p), backlog);
  const ready: number[] = [];
  const existing: number[] = [];
  for (let s = 0; s < demand.length; s++) {
    const x = run.step(demand[s] ?? 0, targets[s]);
    ready.push(x.ready);
    existing.push(x.existing);
  }
  return { ready, existing, ...run.totals() };
}
