import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Deployment, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import { slimDeployment, slimNode, slimPod } from './slim.ts';
import { watchCache, type WatchCache } from './watch-cache.ts';

/** The controller's watch caches of the cluster, besides the PredictiveScalers'. */
export interface ClusterCaches {
  /** Deployment targets' scale (cached-scale.ts); absent with `targetCache: false`. */
  deployments?: WatchCache<V1Deployment>;
  /** Nodes for healing, the GPU budget and the placeholders: the GPU nodes when a selector is set. */
  nodes: WatchCache<V1Node>;
  /** Every pod: healing, the GPU budget, placeholders and targets' pod statistics. */
  pods: WatchCache<V1Pod>;
}

/**
 * Builds (does not start) the controller's Deployment, Node and Pod caches. Each keeps only the
 * fields some reader reads (slim.ts) and lists in pages, so at 2,000 nodes and 30,000 pods the
 * caches cost tens of MiB rather than hundreds (bench/controller-memory.ts). `gpuNodeSelector`
 * is the config's `gpu.nodeSelector`: a label-selected node watch. Pods are not selected by node,
 * since a target's pods and a pending pod's claim may be anywhere.
 */
export function clusterCaches(kc: KubeConfig, logger: Logger, config: { targetCache: boolean; gpuNodeSelector: string }): ClusterCaches {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const listed = (p: Promise<unknown>): Promise<KubernetesListObject<KubernetesObject>> => p as Promise<KubernetesListObject<KubernetesObject>>;
  const selector = config.gpuNodeSelector;
  return {
    ...(config.targetCache ? { deployments: watchCache<V1Deployment>(kc, logger, { what: 'Deployment', path: '/apis/apps/v1/deployments', list: (page) => listed(apps.listDeploymentForAllNamespaces(page)), transform: (o) => slimDeployment(o) }) } : {}),
    nodes: watchCache<V1Node>(kc, logger, {
      what: 'Node',
      path: '/api/v1/nodes',
      list: (page) => listed(core.listNode({ ...page, ...(selector ? { labelSelector: selector } : {}) })),
      labelSelector: selector,
      transform: (o) => slimNode(o),
    }),
    pods: watchCache<V1Pod>(kc, logger, { what: 'Pod', path: '/api/v1/pods', list: (page) => listed(core.listPodForAllNamespaces(page)), transform: (o) => slimPod(o) }),
  };
}
