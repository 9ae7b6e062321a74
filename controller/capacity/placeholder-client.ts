import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

/** The API calls placeholders need, all in the controller's own namespace (its Role allows no other). */
export interface PlaceholderClient {
  /** The pods matching `selector`, read from the API server (not a cache): a restart adopts exactly what exists. */
  list(namespace: string, selector: string): Promise<V1Pod[]>;
  /** Creates a pod; resolves false when one of that name exists already (a retried create). */
  create(pod: V1Pod): Promise<boolean>;
  /** Deletes a pod; resolves false when it is gone already. */
  delete(namespace: string, name: string): Promise<boolean>;
}

/** The client-node implementation. */
export function kubePlaceholderClient(kc: KubeConfig): PlaceholderClient {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async list(namespace, selector) {
      return (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
    },
    async create(pod) {
      try {
        await core.createNamespacedPod({ namespace: pod.metadata?.namespace ?? '', body: pod });
        return true;
      } catch (err) {
        if (statusOf(err) === 409) return false;
        throw err;
      }
    },
    async delete(namespace, name) {
      try {
        await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
      }
    },
  };
}

function statusOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}
