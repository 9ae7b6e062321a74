import type { V1Pod } from '@kubernetes/client-node';
import { podStats, type ClusterReader } from './cluster.ts';
import { parseLabelSelector, type LabelMatcher } from './label-selector.ts';
import type { WatchCache } from './watch-cache.ts';

/**
 * A ClusterReader whose pod statistics come from the pod watch cache the controller already keeps
 * for healing and the GPU budget, instead of a LIST of the target's pods per scaler every few
 * ticks (250 LISTs per tick at 1,000 scalers, each filtered by the API server over every pod of
 * the namespace; bench/scale.ts). Until the cache has synced, and for a selector it cannot read,
 * it lists from the API server as before; the other reads pass through.
 */
export function cachedPodStatsReader(live: ClusterReader, pods: Pick<WatchCache<V1Pod>, 'list' | 'synced'>): ClusterReader {
  const matchers = new Map<string, LabelMatcher | undefined>();
  const matcherFor = (selector: string): LabelMatcher | undefined => {
    if (!matchers.has(selector)) {
      let m: LabelMatcher | undefined;
      try {
        m = parseLabelSelector(selector);
      } catch {
        // Not a form this parser knows: the API server reads it (the live list below).
        m = undefined;
      }
      if (matchers.size > 10_000) matchers.clear();
      matchers.set(selector, m);
    }
    return matchers.get(selector);
  };
  return {
    hpaTargets: () => live.hpaTargets(),
    paused: (namespace, name) => live.paused(namespace, name),
    async podStats(namespace, selector) {
      const match = matcherFor(selector);
      if (!pods.synced() || !match) return live.podStats(namespace, selector);
      return podStats(pods.list(namespace).filter((p) => match(p.metadata?.labels)));
    },
  };
}
