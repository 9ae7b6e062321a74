import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import { GROUP, PLURAL, VERSION, resolveSpec, type PredictiveScaler } from '../crd/predictive-scaler.ts';
import { watchCache, type WatchCache } from './watch-cache.ts';

/** The PredictiveScalers of the cluster, kept current by a watch; the loop does not act on an unsynced cache. */
export type ScalerCache = WatchCache<PredictiveScaler>;

export function kubeScalerCache(kc: KubeConfig, logger: Logger, labelSelector = ''): ScalerCache {
  const api = kc.makeApiClient(CustomObjectsApi);
  const cache = watchCache<PredictiveScaler>(kc, logger, {
    what: 'PredictiveScaler',
    path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
    list: async (page) => (await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, ...page, ...(labelSelector ? { labelSelector } : {}) })) as KubernetesListObject<KubernetesObject>,
    labelSelector,
  });
  // Objects written before a default existed lack it: resolve defaults on read.
  return { ...cache, list: () => cache.list().map((s) => ({ ...s, spec: resolveSpec(s.spec) })) };
}
