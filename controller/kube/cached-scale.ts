import type { V1Deployment, V1LabelSelector } from '@kubernetes/client-node';
import { replicasManager, type ScaleClient, type ScaleState, type TargetRef } from './scale-target.ts';
import type { WatchCache } from './watch-cache.ts';

/** The counters a cached scale client keeps, so the benchmark and /metrics can tell hits from reads. */
export interface CachedScaleStats {
  /** Reads answered from the watch cache. */
  cached: number;
  /** Reads that went to the API server: another kind, not in the cache yet, or after a conflict. */
  live: number;
}

/**
 * A ScaleClient that answers reads of Deployments from a watch cache of Deployments, so a tick
 * costs the API server requests only for the targets it changes, not one GET per scaler (1,000
 * GETs every 15 s at 1,000 scalers; bench/scale.ts). The Deployment carries everything the scale
 * subresource shows (spec.replicas, status.replicas, the selector, and the same
 * resourceVersion, so a patch guarded by it still fails with 409 if anyone wrote in between),
 * and its managedFields name the last writer without a second request (so the role needs no GET
 * on Deployments).
 *
 * Reads fall through to `live` for other kinds, for a Deployment the cache does not hold yet, and
 * for a target whose write failed with a conflict (the cache may not have seen the other writer).
 * After its own write, the client answers with what the write returned until the cache holds a
 * newer version, so the next tick never decides again from the replicas its write replaced.
 */
export function cachedScaleClient(live: ScaleClient, deployments: Pick<WatchCache<V1Deployment>, 'get' | 'synced'>): ScaleClient & { stats(): CachedScaleStats } {
  const stats: CachedScaleStats = { cached: 0, live: 0 };
  const readLive = new Set<string>();
  const written = new Map<string, { replaced: string; state: ScaleState }>();
  const keyOf = (ref: TargetRef): string => `${ref.namespace}/${ref.name}`;
  const cachedDeployment = (ref: TargetRef): V1Deployment | undefined => (ref.apiVersion === 'apps/v1' && ref.kind === 'Deployment' && deployments.synced() && !readLive.has(keyOf(ref)) ? deployments.get(ref.name, ref.namespace) : undefined);

  return {
    stats: () => ({ ...stats }),
    async read(ref) {
      const key = keyOf(ref);
      const d = cachedDeployment(ref);
      if (!d) {
        stats.live++;
        const state = await live.read(ref);
        readLive.delete(key);
        return state;
      }
      stats.cached++;
      const rv = d.metadata?.resourceVersion ?? '';
      const mine = written.get(key);
      if (mine && mine.replaced === rv) return { ...mine.state };
      written.delete(key);
      return deploymentScale(d);
    },
    async writerOf(ref) {
      if (ref.apiVersion !== 'apps/v1' || ref.kind !== 'Deployment' || !deployments.synced()) return live.writerOf(ref);
      // From the cache even right after a conflict, and nothing for a Deployment it has not seen
      // yet: the role lists and watches Deployments but has no GET on them, and the next tick
      // names the writer from a cache that has caught up.
      const d = deployments.get(ref.name, ref.namespace);
      return d ? replicasManager(d.metadata?.managedFields) : undefined;
    },
    async setReplicas(ref, replicas, resourceVersion) {
      const key = keyOf(ref);
      try {
        const state = await live.setReplicas(ref, replicas, resourceVersion);
        written.set(key, { replaced: resourceVersion, state });
        return state;
      } catch (err) {
        // Someone else wrote: the cache may still hold the version before theirs, so the retry's
        // read and the next tick's go to the API server until one read there succeeds.
        if ((err as { code?: number }).code === 409) readLive.add(key);
        throw err;
      }
    },
  };
}

/** The scale subresource of a Deployment, as the API server would serve it. */
export function deploymentScale(d: V1Deployment): ScaleState {
  return {
    replicas: d.spec?.replicas ?? 1,
    currentReplicas: d.status?.replicas ?? 0,
    selector: formatSelector(d.spec?.selector),
    resourceVersion: d.metadata?.resourceVersion ?? '',
  };
}

/**
 * A label selector in the string form the scale subresource uses (requirements sorted by key:
 * `app=x,tier in (a,b)`), which list calls accept as labelSelector.
 */
export function formatSelector(sel: V1LabelSelector | undefined): string {
  const parts: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) parts.push([k, `${k}=${v}`]);
  for (const e of sel?.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    const text = e.operator === 'In' ? `${e.key} in (${values})` : e.operator === 'NotIn' ? `${e.key} notin (${values})` : e.operator === 'Exists' ? e.key : `!${e.key}`;
    parts.push([e.key, text]);
  }
  return parts
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, t]) => t)
    .join(',');
}
