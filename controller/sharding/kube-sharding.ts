import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { createLeaderElector, microTime, type LeaseRecord } from '../leader/elector.ts';
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
  const elector = (lease: string, seen?: { record: LeaseRecord; atMs: number }) => createLeaderElector({ store: kubeLeaseStore(kc, config.namespace, lease), logger: x.logger.child({ lease }), ...(seen ? { seen } : {}) }, { identity: x.identity, ...timing });
  return createShardCoordinator(
    {
      membership: elector(memberLeaseName(config.memberLeasePrefix, x.identity)),
      async listLeases() {
        const list = await api.listNamespacedLease({ namespace: config.namespace });
        const members: MemberLease[] = [];
        const shards = new Map<number, MemberLease>();
        for (const l of list.items) {
          const name = l.metadata?.name ?? '';
          const lease: MemberLease = {
            name,
            holderIdentity: l.spec?.holderIdentity ?? undefined,
            // The form kubeLeaseStore reads back, so that the elector sees the same Lease unchanged.
            renewTime: asMicro(l.spec?.renewTime),
            leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? undefined,
          };
          if (name.startsWith(config.memberLeasePrefix)) members.push(lease);
          const shard = name.startsWith(config.shardLeasePrefix) ? Number(name.slice(config.shardLeasePrefix.length)) : NaN;
          if (Number.isInteger(shard)) shards.set(shard, lease);
        }
        return { members, shards };
      },
      shardElector: (shard, seen) => elector(`${config.shardLeasePrefix}${shard}`, seen),
      logger: x.logger,
      metrics: x.metrics,
    },
    { identity: x.identity, shards: config.shards, leaseDurationSeconds: config.leaseDurationSeconds, retryPeriodSeconds: config.retryPeriodSeconds },
  );
}

/** The renew time as kubeLeaseStore reads it back (a string the client left alone stays as it is). */
function asMicro(t: Date | string | undefined): string | undefined {
  if (t === undefined || typeof t === 'string') return t;
  return microTime(t.getTime());
}
