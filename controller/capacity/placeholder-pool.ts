import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { PlaceholderPoolConfig } from './placeholder-config.ts';
import { isPlaceholderPod, type PlaceholderPod } from './placeholder-pods.ts';
import { podRequest, selectorMatches } from './inventory.ts';
import { deviceQuantity, isNodeReady, isPodFinished, timestampMs } from './kube-facts.ts';
import type { ComingClaim } from './replacement.ts';

/** A scaler whose forecast sizes a pool: where its pods are and how to pick them out. */
export interface PoolMember {
  readonly key: string;
  readonly namespace: string;
  /** The target's pod selector, from its scale subresource. */
  readonly selector: string;
}

/** One pool as the cluster shows it this tick, in GPUs of the pool's resource. */
export interface PoolView {
  /** Allocatable on the pool's Ready, schedulable nodes, bound to no pod (real or placeholder). */
  readonly freeGpus: number;
  /** On the pool's nodes not Ready yet and its Karpenter NodeClaims launched (no Node yet), less what Pending real pods beyond the free GPUs will take. */
  readonly comingGpus: number;
  /** What the members' pods ask for, bound or Pending (not terminating). */
  readonly realGpus: number;
  /** The pool's placeholders as listed from the API server. */
  readonly placeholders: readonly PlaceholderPod[];
  /** When the pool's newest node was created (-Infinity with none): a node after a Pending placeholder means something brings nodes. */
  readonly newestNodeMs: number;
}

/**
 * Reads one pool from the node and pod caches: its nodes are those its nodeSelector matches (all
 * nodes for an empty one), its real pods those of the member scalers' targets. Karpenter NodeClaims
 * launched and not Ready whose labels the nodeSelector matches are coming too, until their Node
 * exists (then the Node is counted). Pure.
 */
export function readPool(pool: PlaceholderPoolConfig, cluster: { nodes: readonly V1Node[]; pods: readonly V1Pod[]; claims?: readonly ComingClaim[] }, members: readonly PoolMember[], placeholders: readonly PlaceholderPod[]): PoolView {
  const r = pool.resource;
  const nodes = cluster.nodes.filter((n) => inPool(n, pool.nodeSelector) && !n.spec?.unschedulable);
  const ready = new Set(nodes.filter(isNodeReady).map((n) => n.metadata?.name ?? ''));
  const alloc = (n: V1Node): number => deviceQuantity(n.status?.allocatable?.[r]);
  let free = nodes.filter(isNodeReady).reduce((s, n) => s + alloc(n), 0);
  const names = new Set(cluster.nodes.map((n) => n.metadata?.name ?? ''));
  const claims = (cluster.claims ?? []).filter((c) => !names.has(c.name) && Object.entries(pool.nodeSelector).every(([k, v]) => c.labels[k] === v));
  const comingAlloc = nodes.filter((n) => !isNodeReady(n)).reduce((s, n) => s + alloc(n), 0) + claims.reduce((s, c) => s + (c.resources[r] ?? 0), 0);
  const isMember = (p: V1Pod): boolean => members.some((m) => m.namespace === p.metadata?.namespace && selectorMatches(m.selector, p.metadata?.labels ?? {}));
  let real = 0;
  let pendingReal = 0;
  for (const p of cluster.pods) {
    const gpus = isPodFinished(p) ? 0 : podRequest(p, r);
    if (gpus === 0) continue;
    if (p.spec?.nodeName && ready.has(p.spec.nodeName)) free -= gpus;
    // A placeholder takes free GPUs but is never a real pod, whatever a member's selector says.
    if (p.metadata?.deletionTimestamp || isPlaceholderPod(p) || !isMember(p)) continue;
    real += gpus;
    if (!p.spec?.nodeName) pendingReal += gpus;
  }
  free = Math.max(0, free);
  const comingGpus = Math.max(0, comingAlloc - Math.max(0, pendingReal - free));
  // A NodeClaim launched for the pool is a node on its way: something brings nodes.
  const newestNodeMs = Math.max(-Infinity, ...cluster.nodes.filter((n) => inPool(n, pool.nodeSelector)).map((n) => timestampMs(n.metadata?.creationTimestamp, -Infinity)), ...claims.map((c) => c.createdMs));
  return { freeGpus: free, comingGpus, realGpus: real, placeholders: placeholders.filter((p) => p.pool === pool.name), newestNodeMs };
}

function inPool(n: V1Node, selector: Readonly<Record<string, string>>): boolean {
  const labels = n.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
