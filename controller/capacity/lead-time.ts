import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { podRequest } from './inventory.ts';

/**
 * The node labels that name a node's pool, most specific first: Karpenter's NodePool, the managed
 * node groups of GKE, EKS and AKS, then the instance type (nodes of one type come from one
 * launch template often enough to share a lead time). A node with none of them is in pool
 * `unlabelled`.
 */
export const POOL_LABELS: readonly string[] = ['karpenter.sh/nodepool', 'cloud.google.com/gke-nodepool', 'eks.amazonaws.com/nodegroup', 'kubernetes.azure.com/agentpool', 'node.kubernetes.io/instance-type'];

/** The pool a node belongs to, from its labels (POOL_LABELS). */
export function poolOf(node: V1Node): string {
  const labels = node.metadata?.labels ?? {};
  for (const l of POOL_LABELS) {
    const v = labels[l];
    if (v) return v;
  }
  return 'unlabelled';
}

/** One pool's node lead time, learned from the nodes it brought for Pending GPU pods. */
export interface PoolLeadTime {
  readonly pool: string;
  /** Seconds from a GPU pod left Pending to the node that took it being Ready. */
  readonly p50Seconds: number;
  readonly p90Seconds: number;
  readonly samples: number;
  /** The GPU resources its learned nodes advertise, so a budget names the pools that serve it. */
  readonly resources: readonly string[];
}

/** GPU pods Pending with no node brought for them for longer than a pool's lead time allows. */
export interface StalledPending {
  readonly resource: string;
  readonly pods: number;
  /** How long the oldest of them has waited, seconds. */
  readonly oldestSeconds: number;
  /** The wait past which no node counts as "no autoscaler behind it": twice the largest p90 known. */
  readonly limitSeconds: number;
}

export interface LeadTimeLearner {
  /** Reads this tick's nodes and pods (the watch caches); learns from nodes not seen Ready before. */
  observe(nodes: readonly V1Node[], pods: readonly V1Pod[], nowMs: number): void;
  /** Each pool with at least one sample, by name. */
  pools(): PoolLeadTime[];
  /** Per GPU resource, the pods that waited past twice the lead time while no node came. */
  stalled(): StalledPending[];
}

export interface LeadTimeOptions {
  /** The GPU resource names to watch (the budget's resources, or the default `nvidia.com/gpu`). */
  readonly resources: () => readonly string[];
  /** Samples kept per pool, newest first: lead times drift as a cloud's capacity does. */
  readonly samplesPerPool?: number;
  /** The wait after which a Pending GPU pod with no new node is reported while no pool has a sample. */
  readonly defaultStallSeconds?: number;
}

/**
 * Learns each node pool's lead time from timestamps the cluster already keeps, no Events needed:
 * a node created after a GPU pod that it then runs was made for that pod (a pod's node is fixed
 * at binding, so the pod was Pending until then), and its lead time is from the pod's creation
 * to the node's Ready transition. Nodes that existed before their pods teach nothing. A node is
 * learned from once, the first time it is seen Ready with such a pod.
 */
export function createLeadTimeLearner(opts: LeadTimeOptions): LeadTimeLearner {
  const keep = opts.samplesPerPool ?? 50;
  const learned = new Set<string>();
  const samples = new Map<string, number[]>();
  const poolResources = new Map<string, Set<string>>();
  let stalledNow: StalledPending[] = [];

  const learn = (nodes: readonly V1Node[], pods: readonly V1Pod[], resources: readonly string[], nowMs: number): void => {
    const fresh = freshNodes(nodes, learned, nowMs);
    for (const [name, podCreated] of firstGpuPods(fresh, pods, resources)) {
      const n = fresh.get(name) as FreshNode;
      const pool = poolOf(n.node);
      samples.set(pool, [Math.max(0, (n.ready - podCreated) / 1000), ...(samples.get(pool) ?? [])].slice(0, keep));
      const advertised = poolResources.get(pool) ?? new Set<string>();
      for (const r of resources) if (Number(n.node.status?.allocatable?.[r] ?? 0) > 0) advertised.add(r);
      poolResources.set(pool, advertised);
      learned.add(name);
    }
  };

  const pools = (): PoolLeadTime[] =>
    [...samples.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([pool, s]) => ({ pool, p50Seconds: quantile(s, 0.5), p90Seconds: quantile(s, 0.9), samples: s.length, resources: [...(poolResources.get(pool) ?? [])].sort() }));

  const findStalled = (nodes: readonly V1Node[], pods: readonly V1Pod[], resources: readonly string[], nowMs: number): StalledPending[] => {
    const known = pools();
    const limitSeconds = known.length > 0 ? 2 * Math.max(...known.map((p) => p.p90Seconds)) : (opts.defaultStallSeconds ?? 1200);
    const newestNode = Math.max(-Infinity, ...nodes.map((n) => time(n.metadata?.creationTimestamp) ?? -Infinity));
    const out: StalledPending[] = [];
    for (const resource of resources) {
      const waits = pods
        .filter((p) => unschedulable(p) && podRequest(p, resource) > 0)
        .map((p) => time(p.metadata?.creationTimestamp) ?? nowMs)
        // A node created after the pod means something is bringing nodes: not stalled.
        .filter((created) => newestNode < created && (nowMs - created) / 1000 > limitSeconds)
        .map((created) => (nowMs - created) / 1000);
      if (waits.length > 0) out.push({ resource, pods: waits.length, oldestSeconds: Math.max(...waits), limitSeconds });
    }
    return out;
  };

  return {
    observe(nodes, pods, nowMs) {
      const resources = opts.resources();
      learn(nodes, pods, resources, nowMs);
      stalledNow = findStalled(nodes, pods, resources, nowMs);
    },
    pools,
    stalled: () => stalledNow,
  };
}

interface FreshNode {
  readonly node: V1Node;
  readonly created: number;
  readonly ready: number;
}

/**
 * The Ready nodes not learned from yet, by name. Updates `learned`: names of nodes gone are
 * forgotten, and a node Ready for a while with no pod older than itself is settled: it was not
 * made for a Pending pod and will not be (its pods are bound by now), so a large cluster is not
 * rescanned every tick. It gets this one last look.
 */
function freshNodes(nodes: readonly V1Node[], learned: Set<string>, nowMs: number): Map<string, FreshNode> {
  const fresh = new Map<string, FreshNode>();
  const present = new Set<string>();
  for (const n of nodes) {
    const name = n.metadata?.name ?? '';
    present.add(name);
    const created = time(n.metadata?.creationTimestamp);
    const ready = readyAt(n);
    if (!name || learned.has(name) || created === undefined || ready === undefined) continue;
    if (nowMs - ready > SETTLE_MS) learned.add(name);
    fresh.set(name, { node: n, created, ready });
  }
  for (const name of learned) if (!present.has(name)) learned.delete(name);
  return fresh;
}

/** The creation time of the earliest GPU pod each fresh node runs that is older than the node. */
function firstGpuPods(fresh: ReadonlyMap<string, FreshNode>, pods: readonly V1Pod[], resources: readonly string[]): Map<string, number> {
  const first = new Map<string, number>();
  if (fresh.size === 0) return first;
  for (const p of pods) {
    const name = p.spec?.nodeName ?? '';
    const n = fresh.get(name);
    const created = time(p.metadata?.creationTimestamp);
    if (!n || created === undefined || created >= n.created || !resources.some((r) => podRequest(p, r) > 0)) continue;
    first.set(name, Math.min(created, first.get(name) ?? Infinity));
  }
  return first;
}

/** A node Ready this long is past learning from (10 minutes: a few scheduler and autoscaler loops). */
const SETTLE_MS = 600_000;

/** Pending because the scheduler found no node (not because its images are pulling). */
function unschedulable(p: V1Pod): boolean {
  return !p.spec?.nodeName && p.status?.phase === 'Pending' && (p.status?.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
}

function readyAt(n: V1Node): number | undefined {
  const c = (n.status?.conditions ?? []).find((x) => x.type === 'Ready');
  return c?.status === 'True' ? time(c.lastTransitionTime) : undefined;
}

/** client-node gives Dates for timestamps; a cache fed raw JSON gives strings. */
function time(v: Date | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v instanceof Date ? v.getTime() : Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/** Nearest-rank quantile: a lead time that was seen, not an interpolation between two. */
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
}

/**
 * How a budget decision names the lead time of the pools that serve a resource; empty when none is
 * learned (a decision says what is known, not what is missing).
 */
export function leadTimeText(pools: readonly PoolLeadTime[]): string {
  if (pools.length === 0) return '';
  return `new nodes take ${pools.map((p) => `${Math.round(p.p50Seconds)} s (p90 ${Math.round(p.p90Seconds)} s) in pool ${p.pool}`).join(', ')} from a Pending GPU pod to Ready`;
}
