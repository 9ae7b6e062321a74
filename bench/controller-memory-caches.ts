import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Deployment, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../common/logger.ts';
import type { ClusterCaches } from '../controller/kube/cluster-caches.ts';
import { watchCache } from '../controller/kube/watch-cache.ts';

/**
 * The peer of controller/kube/cluster-caches.ts in bench/controller-memory.ts: the caches as the
 * controller built them before issue 21's memory work, whole objects from one unpaged list each.
 */
export function wholeObjectCaches(kc: KubeConfig, logger: Logger): Required<ClusterCaches> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const listed = (p: Promise<unknown>): Promise<KubernetesListObject<KubernetesObject>> => p as Promise<KubernetesListObject<KubernetesObject>>;
  return {
    deployments: watchCache<V1Deployment>(kc, logger, { what: 'Deployment', path: '/apis/apps/v1/deployments', list: () => listed(apps.listDeploymentForAllNamespaces({})) }),
    nodes: watchCache<V1Node>(kc, logger, { what: 'Node', path: '/api/v1/nodes', list: () => listed(core.listNode({})) }),
    pods: watchCache<V1Pod>(kc, logger, { what: 'Pod', path: '/api/v1/pods', list: () => listed(core.listPodForAllNamespaces({})) }),
  };
}
