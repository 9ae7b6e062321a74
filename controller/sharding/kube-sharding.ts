import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { createLeaderElector, microTime, type LeaseRecord } from '../leader/elector.ts';
import { kubeLeaseStore } from '../leader/kube-lease-store.ts';
import type { ShardingConfig } from './config.ts';
import { createShardCoordinator, type MemberLeaseDeletion, type ShardCoordinator } from './coordinator.ts';
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
          const lease = memberLease(l);
          const name = lease.name;
          if (name.startsWith(config.memberLeasePrefix)) members.push(lease);
          const shard = name.startsWith(config.shardLeasePrefix) ? Number(name.slice(config.shardLeasePrefix.length)) : NaN;
          if (Number.isInteger(shard)) shards.set(shard, lease);
        }
        return { members, shards };
      },
      shardElector: (shard, seen) => elector(`${config.shardLeasePrefix}${shard}`, seen),
      deleteMemberLease: (lease) => deleteLeaseIfUnchanged(api, config.namespace, lease),
      logger: x.logger,
      metrics: x.metrics,
    },
    { identity: x.identity, shards: config.shards, leaseDurationSeconds: config.leaseDurationSeconds, retryPeriodSeconds: config.retryPeriodSeconds, memberLeaseDeleteAfterSeconds: config.memberLeaseDeleteAfterSeconds },
  );
}

/**
 * Deletes a Lease only if it is still the object listed: its resourceVersion (and uid) as
 * preconditions, so one renewed since is kept ('renewed', the API server's 409), and one another
 * replica deleted first is 'gone' (404).
 */
export async function deleteLeaseIfUnchanged(api: CoordinationV1Api, namespace: string, lease: MemberLease): Promise<MemberLeaseDeletion> {
  if (!lease.resourceVersion) throw new Error(`membership Lease ${namespace}/${lease.name} was listed without a resourceVersion; not deleted`);
  const preconditions = { resourceVersion: lease.resourceVersion, ...(lease.uid ? { uid: lease.uid } : {}) };
  try {
    await api.deleteNamespacedLease({ name: lease.name, namespace, body: { preconditions } });
    return 'deleted';
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 409) return 'renewed';
    if (code === 404) return 'gone';
    throw err;
  }
}

/** What the coordinator reads of a listed Lease. */
export function memberLease(l: V1Lease): MemberLease {
  return {
    name: l.metadata?.name ?? '',
    holderIdentity: l.spec?.holderIdentity ?? undefined,
    // The form kubeLeaseStore reads back, so that the elector sees the same Lease unchanged.
    renewTime: asMicro(l.spec?.renewTime),
    leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? undefined,
    resourceVersion: l.metadata?.resourceVersion,
    uid: l.metadata?.uid,
  };
}

/** The renew time as kubeLeaseStore reads it back (a string the client left alone stays as it is). */
function asMicro(t: Date | string | undefined): string | undefined {
  if (t === undefined || typeof t === 'string') return t;
  return microTime(t.getTime());
}
