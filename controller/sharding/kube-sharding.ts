import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { createLeaderElector } from '../leader/elector.ts';
import { kubeLeaseStore } from '../leader/kube-lease-store.ts';
import type { ShardingConfig } from './config.ts';
import { createShardCoordinator, type ShardCoordinator } from './coordinator.ts';
import { memberLeaseName, type MemberLease } from './member-view.ts';

/**
 * The coordinator on coordination.k8s.io/v1 Leases in `config.namespace`: this replica's
 * membership Lease, the list of all of them, and one Lease per shard, each kept by the same
 * elector as the controller Lease (controller/leader/elector.ts).
 */
export function kubeShardCoordinator(kc: KubeConfig, x: { identity: string; logger: Logger; metrics: MetricRegistry }, config: ShardingConfig): ShardCoordinator {
  const api = kc.makeApiClient(CoordinationV1Api);
  const timing = { leaseDurationSeconds: config.leaseDurationSeconds, renewDeadlineSeconds: config.renewDeadlineSeconds, retryPeriodSeconds: config.retryPeriodSeconds };
  const elector = (lease: string) => createLeaderElector({ store: kubeLeaseStore(kc, config.namespace, lease), logger: x.logger.child({ lease }) }, { identity: x.identity, ...timing });
  return createShardCoordinator(
    {
      membership: elector(memberLeaseName(config.memberLeasePrefix, x.identity)),
      async listMembers(): Promise<MemberLease[]> {
        const list = await api.listNamespacedLease({ namespace: config.namespace });
        return list.items
          .filter((l) => l.metadata?.name?.startsWith(config.memberLeasePrefix))
          .map((l) => ({
            name: l.metadata?.name ?? '',
            holderIdentity: l.spec?.holderIdentity ?? undefined,
            // Only compared with itself from one list to the next, so any stable rendering does.
            renewTime: l.spec?.renewTime === undefined ? undefined : String(l.spec.renewTime instanceof Date ? l.spec.renewTime.getTime() : l.spec.renewTime),
            leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? undefined,
          }));
      },
      shardElector: (shard) => elector(`${config.shardLeasePrefix}${shard}`),
      logger: x.logger,
      metrics: x.metrics,
    },
    { identity: x.identity, shards: config.shards, leaseDurationSeconds: config.leaseDurationSeconds, retryPeriodSeconds: config.retryPeriodSeconds },
  );
}
