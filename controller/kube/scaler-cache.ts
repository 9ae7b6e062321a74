import { CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { GROUP, PLURAL, VERSION, resolveSpec, type PredictiveScaler } from '../crd/predictive-scaler.ts';

/** The PredictiveScalers of the cluster, kept current by a watch. */
export interface ScalerCache {
  list(): readonly PredictiveScaler[];
  /** True once the first list has arrived; the loop does not act on an unsynced cache. */
  synced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A list-watch informer on predictivescalers. The client's informer stops for good on any error
 * other than 410, so this restarts it with exponential backoff (1 s doubling to 30 s).
 */
export function kubeScalerCache(kc: KubeConfig, logger: Logger, labelSelector = ''): ScalerCache {
  const api = kc.makeApiClient(CustomObjectsApi);
  const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => (await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, ...(labelSelector ? { labelSelector } : {}) })) as KubernetesListObject<KubernetesObject>;
  const informer = makeInformer<KubernetesObject>(kc, `/apis/${GROUP}/${VERSION}/${PLURAL}`, listFn, labelSelector || undefined);
  let synced = false;
  let stopped = false;
  let backoffMs = 1000;
  let timer: NodeJS.Timeout | undefined;
  informer.on('connect', () => {
    synced = true;
    backoffMs = 1000;
  });
  const restartLater = (err: unknown): void => {
    if (stopped) return;
    logger.warn({ err: errorMessage(err), retryInMs: backoffMs }, 'PredictiveScaler watch failed; restarting');
    clearTimeout(timer);
    timer = setTimeout(() => {
      informer.start().catch(restartLater);
    }, backoffMs);
    backoffMs = Math.min(30_000, backoffMs * 2);
  };
  informer.on('error', restartLater);
  return {
    // Objects written before a default existed lack it: resolve defaults on read.
    list: () => (informer.list() as unknown as PredictiveScaler[]).map((s) => ({ ...s, spec: resolveSpec(s.spec) })),
    synced: () => synced,
    async start() {
      stopped = false;
      // A first list that fails (API server not up yet) is retried like any later error.
      await informer.start().then(() => void (synced = true), restartLater);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
}
