import type { V1Node } from '@kubernetes/client-node';
import { poolOf } from './lead-time.ts';
import { isDeviceResource, type ComingClaim } from './replacement.ts';

/** Karpenter's NodeClaim API (karpenter.sh/v1), as far as coming capacity needs it. */
export const NODECLAIM_API = { group: 'karpenter.sh', version: 'v1', plural: 'nodeclaims' } as const;

/** The fields of a NodeClaim read here; the rest of the object is ignored. */
export interface NodeClaimObject {
  metadata?: { name?: string; labels?: Record<string, string>; creationTimestamp?: Date | string; deletionTimestamp?: Date | string };
  status?: {
    nodeName?: string;
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    conditions?: Array<{ type?: string; status?: string }>;
  };
}

/**
 * The NodeClaims that are capacity on its way: launched (the cloud provider made the instance,
 * condition Launched=True), not Ready yet, not being deleted. What each will offer is its
 * status.allocatable (its instance type's, less overhead), else status.capacity, device resources
 * only; its pool is read from its labels as a node's is (Karpenter copies the NodePool's template
 * labels and `karpenter.sh/nodepool` onto the claim). Its name for de-duplication is the node it
 * registered as, else its own: once the Node exists, the Node is counted instead. Pure.
 */
export function comingNodeClaims(items: readonly NodeClaimObject[], nowMs: number): ComingClaim[] {
  const out: ComingClaim[] = [];
  for (const c of items) {
    const conditions = c.status?.conditions ?? [];
    const is = (type: string): boolean => conditions.some((x) => x.type === type && x.status === 'True');
    if (c.metadata?.deletionTimestamp || !is('Launched') || is('Ready')) continue;
    const labels = c.metadata?.labels ?? {};
    const offered = c.status?.allocatable ?? c.status?.capacity ?? {};
    const resources = Object.fromEntries(Object.entries(offered).filter(([k]) => isDeviceResource(k)).map(([k, v]) => [k, wholeQuantity(v)]).filter(([, v]) => (v as number) > 0));
    const created = c.metadata?.creationTimestamp ? new Date(c.metadata.creationTimestamp).getTime() : nowMs;
    out.push({ name: c.status?.nodeName || (c.metadata?.name ?? ''), pool: poolOf({ metadata: { labels } } as V1Node), labels, resources, createdMs: Number.isFinite(created) ? created : nowMs });
  }
  return out;
}

/** Device counts are whole numbers ("8"); anything else (a unit suffix, garbage) counts as 0. */
function wholeQuantity(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
