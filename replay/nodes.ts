import { sizePlaceholders, type PlaceholderSettings } from '../controller/capacity/placeholders.ts';
import { capReplicas, PodGroups, startFleet, type FleetParams } from './fleet.ts';

/**
 * The GPU nodes under a replayed fleet (issue 18): pods take K intervals to start once they have a
 * GPU, and a new node takes N intervals to become Ready. The contract's fleet (replay/fleet.ts) is
 * this model with GPUs never short; docs/capacity.md states the assumptions.
 */
export interface NodeSettings {
  /** N: intervals from a node requested (end of t) to the node Ready (interval t + 1 + N). */
  readonly nodeLeadSteps: number;
  readonly gpusPerReplica: number;
  readonly gpusPerNode: number;
  /** GPUs free at the start, besides those the starting fleet holds. */
  readonly gpusFree: number;
  /** Intervals a node must stay empty before the autoscaler removes it. */
  readonly scaleDownDelaySteps: number;
  /** Set: SurgeGuard's forecast-sized placeholders request nodes ahead (controller/capacity/placeholders.ts). */
  readonly placeholders?: PlaceholderSettings;
}

/** What happened to the fleet on its nodes, interval by interval and in total. */
export interface NodeRunResult {
  readonly ready: number[];
  /** Pods that exist (serving, starting or Pending). */
  readonly existing: number[];
  readonly pending: number[];
  /** Nodes paid for in each interval: Ready, and requested but not Ready yet. */
  readonly nodes: number[];
  /** GPUs placeholder pods hold or ask for at the end of each interval. */
  readonly placeholderGpus: number[];
  readonly demand: number;
  readonly unserved: number;
  readonly unservedIntervals: number;
  /** Sum over intervals of the pods Pending in it. */
  readonly pendingPodIntervals: number;
  /** Pods created after the start. */
  readonly podsCreated: number;
  /** Of those, pods that spent at least one interval Pending. */
  readonly podsPending: number;
  /** Mean and nearest-rank 95th percentile of the time each created pod spent Pending (0 for most). */
  readonly meanPendingSeconds: number;
  readonly p95PendingSeconds: number;
  /** Sum over intervals of the nodes paid for, in node-hours. */
  readonly gpuNodeHours: number;
  /** Pod-intervals, as the contract's cost. */
  readonly cost: number;
}

/** What the run feeds the model: the fleet's targets and, for placeholders, the forecast need at the node horizon. */
export interface NodeRunInput {
  readonly demand: readonly number[];
  readonly targets: readonly number[];
  /** Replicas the forecast needs at the horizon N + K + 1, per interval (read only with placeholders). */
  readonly need?: readonly number[];
  readonly intervalSeconds: number;
}

/** Nodes requested at the same time, Ready from interval `at`. */
interface Arrival {
  at: number;
  n: number;
}

/** Pods created at the end of interval `created`, still Pending. */
interface PendingGroup {
  created: number;
  n: number;
}

/** The cluster's state between intervals; one instance per run. */
class Cluster {
  readonly bound = new PodGroups();
  readonly pending: PendingGroup[] = [];
  readonly coming: Arrival[] = [];
  readonly waits = new Map<number, number>();
  readyNodes: number;
  readonly minNodes: number;
  placeholderBound = 0;
  placeholderPending = 0;
  emptyHistory: number[] = [];
  placeholderHistory: readonly number[] = [];
  podsCreated = 0;
  pendingPods = 0;
  boundPods: number;

  readonly p: FleetParams & NodeSettings;

  constructor(p: FleetParams & NodeSettings, start: number) {
    this.p = p;
    this.bound.add(0, start);
    this.boundPods = start;
    // The starting nodes are the pool's floor: scale-down never goes below them (docs/capacity.md).
    this.readyNodes = Math.ceil((start * p.gpusPerReplica + p.gpusFree) / p.gpusPerNode - 1e-9);
    this.minNodes = this.readyNodes;
  }

  get totalGpus(): number {
    return this.readyNodes * this.p.gpusPerNode;
  }

  get comingGpus(): number {
    return this.coming.reduce((s, a) => s + a.n, 0) * this.p.gpusPerNode;
  }

  /** GPUs bound to no pod, real or placeholder. */
  get freeGpus(): number {
    return this.totalGpus - this.boundPods * this.p.gpusPerReplica - this.placeholderBound;
  }

  get pendingGpus(): number {
    return this.pendingPods * this.p.gpusPerReplica + this.placeholderPending;
  }

  wait(steps: number, n: number): void {
    if (n > 0) this.waits.set(steps, (this.waits.get(steps) ?? 0) + n);
  }

  /** Nodes requested N intervals ago become Ready. */
  arrive(s: number): void {
    while (this.coming.length > 0 && (this.coming[0] as Arrival).at <= s) this.readyNodes += (this.coming.shift() as Arrival).n;
  }

  /**
   * The scheduler: Pending real pods bind oldest first, preempting placeholders (lower priority); a
   * preempted placeholder is recreated and Pends. Then Pending placeholders take what is left.
   */
  schedule(s: number): void {
    const g = this.p.gpusPerReplica;
    let room = Math.floor((this.totalGpus - this.boundPods * g) / g);
    while (room > 0 && this.pending.length > 0) {
      const group = this.pending[0] as PendingGroup;
      const m = Math.min(group.n, room);
      this.bound.add(s + this.p.startupSteps, m);
      this.boundPods += m;
      this.pendingPods -= m;
      room -= m;
      this.wait(s - 1 - group.created, m);
      group.n -= m;
      if (group.n === 0) this.pending.shift();
    }
    const preempted = Math.max(0, this.placeholderBound - (this.totalGpus - this.boundPods * g));
    this.placeholderBound -= preempted;
    this.placeholderPending += preempted;
    const take = Math.max(0, Math.min(this.placeholderPending, this.freeGpus));
    this.placeholderBound += take;
    this.placeholderPending -= take;
  }

  /** The Deployment follows the target: new pods Pend; removed ones go Pending first (newest first), then as the contract says. */
  follow(s: number, target: number): void {
    const size = this.boundPods + this.pendingPods;
    const t = capReplicas(target, this.p);
    if (t > size) {
      this.pending.push({ created: s, n: t - size });
      this.pendingPods += t - size;
      this.podsCreated += t - size;
      return;
    }
    let drop = size - t;
    while (drop > 0 && this.pending.length > 0) {
      const group = this.pending[this.pending.length - 1] as PendingGroup;
      const m = Math.min(group.n, drop);
      // Pending in intervals created+1..s, then deleted.
      this.wait(s - group.created, m);
      group.n -= m;
      this.pendingPods -= m;
      drop -= m;
      if (group.n === 0) this.pending.pop();
    }
    if (drop > 0) {
      this.boundPods -= drop;
      this.bound.keep(this.boundPods);
    }
  }

  /** SurgeGuard's placeholders for this interval's forecast need: grow as Pending pods, shrink Pending first. */
  placeholders(needReplicas: number, settings: PlaceholderSettings): void {
    const g = this.p.gpusPerReplica;
    const realGpus = (this.boundPods + this.pendingPods) * g;
    // Pending pods take the free GPUs first, then the coming ones.
    const comingGpus = Math.max(0, this.comingGpus - Math.max(0, this.pendingGpus - this.freeGpus));
    const d = sizePlaceholders({ needGpus: Math.max(needReplicas * g, realGpus), realGpus, freeGpus: this.freeGpus, comingGpus }, settings, this.placeholderHistory);
    this.placeholderHistory = d.history;
    const held = this.placeholderBound + this.placeholderPending;
    if (d.gpus >= held) {
      this.placeholderPending += d.gpus - held;
      return;
    }
    const cutPending = Math.min(this.placeholderPending, held - d.gpus);
    this.placeholderPending -= cutPending;
    this.placeholderBound -= held - d.gpus - cutPending;
  }

  /** The autoscaler: nodes for the Pending GPUs that free and coming GPUs do not cover, Ready N intervals later. */
  scaleUp(s: number): void {
    const uncovered = this.pendingGpus - Math.max(0, this.freeGpus) - this.comingGpus;
    const n = Math.ceil(Math.max(0, uncovered) / this.p.gpusPerNode - 1e-9);
    if (n > 0) this.coming.push({ at: s + 1 + this.p.nodeLeadSteps, n });
  }

  /** Nodes empty for the whole delay are removed, never below the starting nodes. */
  scaleDown(): void {
    const empty = Math.max(0, Math.floor((this.freeGpus - this.pendingGpus) / this.p.gpusPerNode));
    this.emptyHistory.push(Math.min(empty, this.readyNodes - this.minNodes));
    const window = Math.max(1, this.p.scaleDownDelaySteps);
    if (this.emptyHistory.length > window) this.emptyHistory.shift();
    if (this.emptyHistory.length < window) return;
    const k = Math.min(...this.emptyHistory);
    if (k <= 0) return;
    this.readyNodes -= k;
    this.emptyHistory = this.emptyHistory.map((e) => Math.max(0, e - k));
  }

  /** Pods still Pending at the end count their wait so far. */
  close(n: number): void {
    for (const group of this.pending) this.wait(n - 1 - group.created, group.n);
  }
}

/** Mean and nearest-rank 95th percentile of a histogram of waits (intervals -> pods). */
function waitStats(waits: Map<number, number>, pods: number): { mean: number; p95: number; waited: number } {
  if (pods === 0) return { mean: 0, p95: 0, waited: 0 };
  const sorted = [...waits.entries()].sort((a, b) => a[0] - b[0]);
  let sum = 0;
  let waited = 0;
  for (const [w, c] of sorted) {
    sum += w * c;
    if (w > 0) waited += c;
  }
  const rank = Math.ceil(0.95 * pods);
  // Pods created and never Pending have no entry when they bound in the next interval with wait 0.
  let seen = pods - [...waits.values()].reduce((a, b) => a + b, 0);
  let p95 = 0;
  for (const [w, c] of sorted) {
    if (seen >= rank) break;
    seen += c;
    p95 = w;
  }
  return { mean: sum / pods, p95, waited };
}

/**
 * Runs the fleet's targets on GPU nodes, interval by interval: nodes requested N intervals ago become
 * Ready; the scheduler binds Pending pods (a bound pod serves K intervals later); the interval is
 * served; then the Deployment follows the target, SurgeGuard's placeholders (when set) follow the
 * forecast need, and the autoscaler requests nodes for what is Pending and removes nodes empty for
 * the scale-down delay. With N = 0 or GPUs never short it equals the contract's fleet.
 */
export function simulateNodes(input: NodeRunInput, p: FleetParams & NodeSettings): NodeRunResult {
  const { demand, targets } = input;
  const c = new Cluster(p, startFleet(demand, p));
  const out = { ready: [] as number[], existing: [] as number[], pending: [] as number[], nodes: [] as number[], placeholderGpus: [] as number[] };
  const sums = { demand: 0, unserved: 0, unservedIntervals: 0, pendingPodIntervals: 0, nodeIntervals: 0, cost: 0 };
  for (let s = 0; s < demand.length; s++) {
    c.arrive(s);
    c.schedule(s);
    const r = c.bound.servingAt(s);
    const d = demand[s] ?? 0;
    const left = Math.max(0, d - p.capacity * r);
    const nodes = c.readyNodes + c.coming.reduce((a, x) => a + x.n, 0);
    out.ready.push(r);
    out.existing.push(c.boundPods + c.pendingPods);
    out.pending.push(c.pendingPods);
    out.nodes.push(nodes);
    sums.demand += d;
    sums.unserved += left;
    if (left > 0) sums.unservedIntervals++;
    sums.pendingPodIntervals += c.pendingPods;
    sums.nodeIntervals += nodes;
    sums.cost += c.boundPods + c.pendingPods;
    c.follow(s, targets[s] ?? c.boundPods + c.pendingPods);
    if (p.placeholders) c.placeholders(input.need?.[s] ?? 0, p.placeholders);
    out.placeholderGpus.push(c.placeholderBound + c.placeholderPending);
    c.scaleUp(s);
    c.scaleDown();
  }
  c.close(demand.length);
  const w = waitStats(c.waits, c.podsCreated);
  const { nodeIntervals, ...rest } = sums;
  return { ...out, ...rest, podsCreated: c.podsCreated, podsPending: w.waited, meanPendingSeconds: w.mean * input.intervalSeconds, p95PendingSeconds: w.p95 * input.intervalSeconds, gpuNodeHours: (nodeIntervals * input.intervalSeconds) / 3600 };
}
