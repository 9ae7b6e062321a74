import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { watchCache, type WatchCache } from '../kube/watch-cache.ts';
import { NODECLAIM_API, type NodeClaimObject } from './nodeclaims.ts';

/**
 * A watch cache of Karpenter's NodeClaims, or undefined where the cluster does not serve
 * `nodeclaims.karpenter.sh/v1` (said once in the log): coming capacity is then the Nodes not Ready
 * yet, as without Karpenter. Asked once at start with a one-item list, so a cluster that installs
 * Karpenter later needs a restart to be read. A refusal other than "not served" (403: the role
 * lacks list on nodeclaims) is an error: the operator asked for NodeClaims and should hear why not.
 */
export async function nodeClaimCache(kc: KubeConfig, logger: Logger): Promise<WatchCache<NodeClaimObject> | undefined> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = (limit?: number): Promise<KubernetesListObject<KubernetesObject>> => custom.listClusterCustomObject({ ...NODECLAIM_API, ...(limit ? { limit } : {}) }) as Promise<KubernetesListObject<KubernetesObject>>;
  try {
    await list(1);
  } catch (err) {
    if ((err as { code?: number }).code === 404) {
      logger.warn({ api: `${NODECLAIM_API.plural}.${NODECLAIM_API.group}/${NODECLAIM_API.version}` }, 'capacity.nodeClaims is on but this cluster does not serve Karpenter NodeClaims; only Nodes not Ready yet count as coming capacity');
      return undefined;
    }
    throw new Error(`capacity.nodeClaims: listing ${NODECLAIM_API.plural}.${NODECLAIM_API.group} failed: ${errorMessage(err)}`, { cause: err });
  }
  return watchCache<NodeClaimObject>(kc, logger, { what: 'NodeClaim', path: `/apis/${NODECLAIM_API.group}/${NODECLAIM_API.version}/${NODECLAIM_API.plural}`, list: () => list() });
}
