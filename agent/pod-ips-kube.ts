import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../common/logger.ts';
import type { PodIpSource } from './pod-ips.ts';

/**
 * Watches the pods of one node (field selector `spec.nodeName`) through an informer and keeps
 * their IPs. kubernetes/client-node's informer stops for good on any error but 410, so it is
 * restarted on `error` with a capped backoff.
 */
export function watchNodePodIps(nodeName: string, logger: Logger, kubeConfig?: k8s.KubeConfig): PodIpSource {
  const kc = kubeConfig ?? new k8s.KubeConfig();
  if (!kubeConfig) kc.loadFromDefault();
  const api = kc.makeApiClient(k8s.CoreV1Api);
  const selector = `spec.nodeName=${nodeName}`;
  const informer = k8s.makeInformer(kc, `/api/v1/pods?fieldSelector=${encodeURIComponent(selector)}`, () => api.listPodForAllNamespaces({ fieldSelector: selector }));
  let synced = false;
  let backoffMs = 1000;
  let closed = false;
  const ips = (): Set<string> => new Set(informer.list().flatMap((p) => (p.status?.podIPs ?? []).map((x) => x.ip)).filter((x): x is string => Boolean(x)));
  informer.on('connect', () => {
    synced = true;
    backoffMs = 1000;
  });
  informer.on('error', (err: unknown) => {
    if (closed) return;
    logger.warn({ err, retryInMs: backoffMs }, 'pod watch failed; restarting');
    setTimeout(() => void informer.start().catch(() => undefined), backoffMs).unref();
    backoffMs = Math.min(backoffMs * 2, 60_000);
  });
  void informer.start().catch((err: unknown) => logger.warn({ err }, 'pod watch did not start'));
  return {
    ips: () => (synced ? ips() : undefined),
    async close() {
      closed = true;
      await informer.stop();
    },
  };
}
