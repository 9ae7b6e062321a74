import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { podRequest } from './inventory.ts';
import { poolOf } from './lead-time.ts';
import { deviceQuantity, isNodeReady, isPodFinished, timestampMs } from './kube-facts.ts';
import { isPlaceholderPod } from './placeholder-pods.ts';

/**
 * Replacement capacity for a node about to be drained: can the GPUs its pods hold be had
 * elsewhere in its pool, now or within the horizon? Pure; the healing loop asks it before it
 * cordons a node for a degraded fault (controller/healing/capacity-wait.ts decides what to do
 * with the answer), and the answer is recorded on the node as the drain's claim, which later
 * drains count as taken.
 */

/** A node on its way that has no Node object yet: a Karpenter NodeClaim launched and not Ready. */
export interface ComingClaim {
  readonly name: string;
  /** The node pool it belongs to, read from its labels as a node's is (lead-time.ts `poolOf`). */
  readonly pool: string;
  /** Its labels (the NodePool's template labels): what a placeholder pool's nodeSelector is matched against. */
  readonly labels: Readonly<Record<string, string>>;
  /** What it will offer, by resource name (its status.allocatable, else status.capacity). */
  readonly resources: Readonly<Record<string, number>>;
  readonly createdMs: number;
}

/** A drain already admitted whose claim is still outstanding (its replacements not all ready). */
export interface OutstandingClaim {
  readonly node: string;
  readonly pool: string;
  readonly gpus: Readonly<Record<string, number>>;
}

export interface ReplacementInput {
  readonly node: V1Node;
  readonly nodes: readonly V1Node[];
  readonly pods: readonly V1Pod[];
  readonly claims?: readonly ComingClaim[];
  readonly outstanding?: readonly OutstandingClaim[];
  /** A node or NodeClaim not Ready after this long is stuck, not coming. */
  readonly horizonSeconds: number;
  readonly nowMs: number;
}

/** One resource's arithmetic, in its units (GPUs, MIG slices, time-sliced shares). */
export interface ResourceCapacity {
  readonly resource: string;
  /** Requested by the node's pods that a drain moves (not DaemonSet, mirror, placeholder or finished pods). */
  readonly needed: number;
  /** Allocatable on the pool's other Ready, schedulable nodes, bound to no pod. */
  readonly free: number;
  /** Held by placeholder pods on those nodes: real pods preempt them. */
  readonly placeholders: number;
  /** On the pool's nodes not Ready yet and NodeClaims launched, within the horizon, less what is bound there. */
  readonly coming: number;
  /** Asked for by Pending real pods that the pool's nodes would take: they are ahead in the queue. */
  readonly pendingAhead: number;
  /** Claimed by other drains of the pool still waiting for their replacements. */
  readonly claimed: number;
  /** free + placeholders + coming - pendingAhead - claimed (at least 0). */
  readonly available: number;
}

export type ReplacementReason = 'NoGpuPods' | 'ReplacementCapacity' | 'NoReplacementCapacity';

export interface ReplacementVerdict {
  /** True when every resource the node's pods hold can be had elsewhere in the pool. */
  readonly enough: boolean;
  readonly reason: ReplacementReason;
  readonly pool: string;
  readonly resources: readonly ResourceCapacity[];
  /** What the drain claims if it goes ahead: what its pods need, by resource. */
  readonly claim: Readonly<Record<string, number>>;
  /** One line with the numbers, for the decision's message. */
  readonly message: string;
}

/** Resource names counted: the device plugins' (`vendor/name`); cpu, memory, pods and hugepages are not the scarce part. */
export function isDeviceResource(name: string): boolean {
  return name.includes('/') && !name.startsWith('kubernetes.io/') && !name.startsWith('requests.');
}

/**
 * Answers for one node. Its pool is the nodes with the same pool label (lead-time.ts `poolOf`);
 * capacity in other pools is not counted, since pods are usually pinned to a pool by selector or
 * taint and a per-pod scheduling simulation would repeat the scheduler badly.
 */
export function replacementCapacity(x: ReplacementInput): ReplacementVerdict {
  const name = x.node.metadata?.name ?? '';
  const pool = poolOf(x.node);
  const needed = neededOf(x.pods, name);
  const claim = Object.fromEntries([...needed].filter(([, v]) => v > 0));
  if (Object.keys(claim).length === 0) {
    return { enough: true, reason: 'NoGpuPods', pool, resources: [], claim, message: `no pod on ${name} holds a GPU: nothing to replace` };
  }
  const others = x.nodes.filter((n) => n.metadata?.name !== name && poolOf(n) === pool && takesPods(n));
  const resources = [...needed.keys()].sort().map((r) => resourceCapacity(r, needed.get(r) ?? 0, { ...x, pool, others }));
  const enough = resources.every((r) => r.available >= r.needed);
  const what = resources.map((r) => `${r.resource}: needs ${r.needed}, ${r.available} available (${r.free} free, ${r.placeholders} in placeholders, ${r.coming} coming within ${Math.round(x.horizonSeconds)} s, less ${r.pendingAhead} for Pending pods and ${r.claimed} claimed by other drains)`).join('; ');
  return { enough, reason: enough ? 'ReplacementCapacity' : 'NoReplacementCapacity', pool, resources, claim, message: `replacement capacity in pool ${pool}: ${what}` };
}

function resourceCapacity(resource: string, needed: number, x: ReplacementInput & { pool: string; others: readonly V1Node[] }): ResourceCapacity {
  const alloc = (n: V1Node): number => deviceQuantity(n.status?.allocatable?.[resource]);
  const freshWithin = (createdMs: number): boolean => (x.nowMs - createdMs) / 1000 <= x.horizonSeconds;
  const ready = x.others.filter(isNodeReady);
  const coming = x.others.filter((n) => !isNodeReady(n) && freshWithin(timestampMs(n.metadata?.creationTimestamp, x.nowMs)));
  const pods = podsOf(x.pods, resource, new Set(ready.map((n) => n.metadata?.name ?? '')), x.node.metadata?.labels ?? {});
  const left = (n: V1Node): number => Math.max(0, alloc(n) - (pods.bound.get(n.metadata?.name ?? '') ?? 0));
  const free = ready.reduce((s, n) => s + left(n), 0);
  const nodeNames = new Set(x.nodes.map((n) => n.metadata?.name ?? ''));
  // A NodeClaim whose Node exists is counted as that node (above), not twice.
  const fromClaims = (x.claims ?? []).filter((c) => c.pool === x.pool && !nodeNames.has(c.name) && freshWithin(c.createdMs)).reduce((s, c) => s + (c.resources[resource] ?? 0), 0);
  const comingGpus = coming.reduce((s, n) => s + left(n), 0) + fromClaims;
  const self = x.node.metadata?.name ?? '';
  const claimed = (x.outstanding ?? []).filter((o) => o.pool === x.pool && o.node !== self).reduce((s, o) => s + (o.gpus[resource] ?? 0), 0);
  const available = Math.max(0, free + pods.placeholders + comingGpus - pods.pendingAhead - claimed);
  return { resource, needed, free, placeholders: pods.placeholders, coming: comingGpus, pendingAhead: pods.pendingAhead, claimed, available };
}

/** One pass over the pods for one resource: what is bound per node, held by placeholders on Ready pool nodes, and asked by Pending real pods the pool would take. */
function podsOf(all: readonly V1Pod[], resource: string, readyNames: ReadonlySet<string>, poolLabels: Readonly<Record<string, string>>): { bound: Map<string, number>; placeholders: number; pendingAhead: number } {
  const bound = new Map<string, number>();
  let placeholders = 0;
  let pendingAhead = 0;
  for (const p of all) {
    const gpus = isPodFinished(p) ? 0 : podRequest(p, resource);
    if (gpus === 0) continue;
    const on = p.spec?.nodeName;
    if (on) bound.set(on, (bound.get(on) ?? 0) + gpus);
    if (on && isPlaceholderPod(p) && readyNames.has(on) && !p.metadata?.deletionTimestamp) placeholders += gpus;
    if (!on && !isPlaceholderPod(p) && selects(p, poolLabels)) pendingAhead += gpus;
  }
  return { bound, placeholders, pendingAhead };
}

/** What the node's movable pods request, per device resource. */
function neededOf(pods: readonly V1Pod[], node: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pods) {
    if (p.spec?.nodeName !== node || !moves(p)) continue;
    for (const r of requestedResources(p)) out.set(r, (out.get(r) ?? 0) + podRequest(p, r));
  }
  return out;
}

/** A pod a drain moves and that needs a place elsewhere: not a DaemonSet's, mirror, placeholder, finished or leaving pod. */
function moves(p: V1Pod): boolean {
  if (p.metadata?.deletionTimestamp || isPodFinished(p) || isPlaceholderPod(p)) return false;
  if (p.metadata?.annotations?.['kubernetes.io/config.mirror']) return false;
  return !(p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet');
}

function requestedResources(p: V1Pod): Set<string> {
  const names = new Set<string>();
  for (const c of [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])]) {
    for (const r of Object.keys({ ...c.resources?.requests, ...c.resources?.limits })) if (isDeviceResource(r)) names.add(r);
  }
  return names;
}

/** A Pending pod the pool's nodes would take: its nodeSelector, if any, matches the pool's labels. */
function selects(p: V1Pod, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(p.spec?.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
}

/** Takes new pods: not cordoned and not tainted unhealthy by SurgeGuard. */
function takesPods(n: V1Node): boolean {
  return !n.spec?.unschedulable && !(n.spec?.taints ?? []).some((t) => t.key === 'surgeguard.io/unhealthy');
}
