import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { errorMessage } from '../../common/errors.ts';
import type { LeaderElector, LeaseRecord } from '../leader/elector.ts';
import type { MemberLease } from './member-view.ts';
import { createMemberView } from './member-view.ts';
import { assignShards, shardOf } from './rendezvous.ts';

export interface CoordinatorConfig {
  identity: string;
  shards: number;
  leaseDurationSeconds: number;
  retryPeriodSeconds: number;
  /** Membership Leases unchanged this long are deleted (with `deleteMemberLease`); absent: never. */
  memberLeaseDeleteAfterSeconds?: number;
}

/** How a delete of a dead membership Lease ended. */
export type MemberLeaseDeletion = 'deleted' | 'renewed' | 'gone';

export interface CoordinatorDeps {
  /** This replica's own membership Lease (it is the only candidate for it). */
  membership: LeaderElector;
  /** One list of the Leases: the membership Leases of every replica (this one's included) and the shard Leases by shard. */
  listLeases(): Promise<{ members: MemberLease[]; shards: ReadonlyMap<number, MemberLease> }>;
  /**
   * An elector for shard N's Lease; one is made each time the shard is assigned here, told when
   * this replica first saw the Lease as it is now, so that a dead owner's Lease is waited out from
   * then and not for a whole duration more.
   */
  shardElector(shard: number, seen?: { record: LeaseRecord; atMs: number }): LeaderElector;
  /**
   * Deletes a membership Lease if it is still the object listed (its uid and resourceVersion as
   * preconditions): 'renewed' when it changed since (the API server's 409), 'gone' when another
   * replica deleted it first (404).
   */
  deleteMemberLease?(lease: MemberLease): Promise<MemberLeaseDeletion>;
  logger: Logger;
  metrics: MetricRegistry;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface ShardCoordinator {
  /** Keeps the membership Lease, follows the members and the shard Leases until `signal` aborts, then releases them. */
  run(signal: AbortSignal): Promise<void>;
  /** The shard of a shard key (shard-key.ts: a scaler's `namespace/name` or its GPU pool's `gpu:<resource>`). */
  shardOf(key: string): number;
  /** True while this replica may write for the key: its shard is assigned here and its Lease held within the renew deadline. */
  owns(key: string): boolean;
  /**
   * Marks a write for the key as started, if this replica owns it; the returned function marks
   * it finished. A shard that moves away is released only after its writes in flight finished.
   */
  begin(key: string): (() => void) | undefined;
  /** The live members this replica saw last, sorted. */
  members(): readonly string[];
}

interface Held {
  elector: LeaderElector;
  stop: AbortController;
  running: Promise<void>;
  inFlight: number;
  dropping: boolean;
}

/**
 * Who writes for which scaler when several replicas share the work (docs/sharding.md). Each period
 * it lists the membership Leases, assigns the shards over the live members by rendezvous hashing,
 * campaigns for the shards assigned here and gives up those assigned elsewhere. The shard Lease is
 * what makes a single writer: a replica that a new member's arrival takes a shard from stops
 * writing it at once, and releases the Lease once its writes in flight are done, so the new owner
 * acquires it only then (or, if the old owner died, once its Lease expired).
 */
export function createShardCoordinator(deps: CoordinatorDeps, config: CoordinatorConfig): ShardCoordinator {
  const now = deps.now ?? Date.now;
  const wait = deps.sleep ?? ((ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined));
  const view = createMemberView(now, config.leaseDurationSeconds);
  const held = new Map<number, Held>();
  const shardSeen = new Map<number, { record: LeaseRecord; atMs: number }>();
  let members: string[] = [];
  const m = {
    members: deps.metrics.gauge('surgeguard_sharding_members', 'Live controller replicas this replica sees through the membership Leases.'),
    assigned: deps.metrics.gauge('surgeguard_sharding_shards_assigned', 'Shards rendezvous hashing assigns to this replica.'),
    held: deps.metrics.gauge('surgeguard_sharding_shards_held', 'Shards whose Lease this replica holds (it writes only for these).'),
    rebalances: deps.metrics.counter('surgeguard_sharding_rebalances_total', 'Times the shards assigned to this replica changed, by what happened.', ['change']),
    listErrors: deps.metrics.counter('surgeguard_sharding_member_list_errors_total', 'Failed lists of the membership Leases (the assignment is kept as it was).'),
    deletions: deps.metrics.counter('surgeguard_sharding_member_lease_deletions_total', 'Deletes of membership Leases dead for memberLeaseDeleteAfterSeconds, by result (deleted; renewed: changed since listed, kept; gone: deleted by another; error).', ['result']),
  };
  /** A Lease whose delete failed is not tried again before this (ms): a missing RBAC verb must not cost a request per period. */
  const retryDeleteAt = new Map<string, number>();
  const ownsShard = (shard: number): boolean => {
    const h = held.get(shard);
    return !!h && !h.dropping && h.elector.isLeader();
  };

  const acquire = (shard: number): void => {
    const elector = deps.shardElector(shard, shardSeen.get(shard));
    const stop = new AbortController();
    held.set(shard, { elector, stop, running: elector.run(stop.signal), inFlight: 0, dropping: false });
  };

  /** Stops writing at once; releases the Lease after the writes in flight (at most one lease duration). */
  const drop = async (shard: number): Promise<void> => {
    const h = held.get(shard);
    if (!h) return;
    h.dropping = true;
    const until = now() + config.leaseDurationSeconds * 1000;
    while (h.inFlight > 0 && now() < until) await wait(50, new AbortController().signal);
    h.stop.abort();
    await h.running;
    if (held.get(shard) === h) held.delete(shard);
  };

  /** Keeps when each shard Lease was first seen as it is now (the elector's rule for expiry). */
  const see = (shards: ReadonlyMap<number, MemberLease>): void => {
    for (const [shard, l] of shards) {
      const prev = shardSeen.get(shard);
      if (!prev || prev.record.holderIdentity !== l.holderIdentity || prev.record.renewTime !== l.renewTime) {
        shardSeen.set(shard, { record: { holderIdentity: l.holderIdentity, renewTime: l.renewTime, leaseDurationSeconds: l.leaseDurationSeconds }, atMs: now() });
      }
    }
    for (const shard of [...shardSeen.keys()]) if (!shards.has(shard)) shardSeen.delete(shard);
  };

  const rebalance = async (): Promise<void> => {
    let leases: MemberLease[];
    try {
      const listed = await deps.listLeases();
      leases = listed.members;
      see(listed.shards);
    } catch (err) {
      m.listErrors.inc();
      deps.logger.warn({ err: errorMessage(err), identity: config.identity }, 'could not list the membership Leases; keeping the shards as they are');
      return;
    }
    // Without its own membership renewed, this replica takes no new shards: the others do not count it.
    const live = view.update(leases).filter((id) => id !== config.identity || deps.membership.isLeader());
    members = live;
    m.members.set(live.length);
    // One replica collects, the first live member by name; views that differ for a retry period
    // can make two try, which the preconditions and a 404 counted as gone make harmless.
    if (live[0] === config.identity) await collectGarbage();
    const owners = assignShards(config.shards, live);
    const mine = new Set(owners.flatMap((o, i) => (o === config.identity ? [i] : [])));
    // A shard assigned back while it is still being given up is campaigned for once that finished.
    const gained = [...mine].filter((s) => !held.has(s));
    const lost = [...held.keys()].filter((s) => !mine.has(s) && !held.get(s)?.dropping);
    for (const s of gained) acquire(s);
    for (const s of lost) void drop(s);
    m.assigned.set(mine.size);
    if (gained.length > 0 || lost.length > 0) {
      if (gained.length > 0) m.rebalances.inc({ change: 'gained' });
      if (lost.length > 0) m.rebalances.inc({ change: 'lost' });
      deps.logger.info({ identity: config.identity, members: live, gained, lost, assigned: mine.size }, 'shards rebalanced');
    }
  };

  /**
   * Deletes the membership Leases that have not changed for memberLeaseDeleteAfterSeconds on this
   * clock (replicas killed without a graceful stop, or stopped long ago), each only if it is still
   * the object listed: one renewed meanwhile is kept, and its replica, were it alive and its Lease
   * gone anyway, would create it again at its next retry.
   */
  const collectGarbage = async (): Promise<void> => {
    if (config.memberLeaseDeleteAfterSeconds === undefined || !deps.deleteMemberLease) return;
    const afterMs = config.memberLeaseDeleteAfterSeconds * 1000;
    for (const lease of view.stale(afterMs)) {
      if (lease.holderIdentity === config.identity || (retryDeleteAt.get(lease.name) ?? 0) > now()) continue;
      await deleteOne(lease, deps.deleteMemberLease, afterMs);
    }
    for (const name of [...retryDeleteAt.keys()]) if ((retryDeleteAt.get(name) ?? 0) <= now()) retryDeleteAt.delete(name);
  };

  const deleteOne = async (lease: MemberLease, del: NonNullable<CoordinatorDeps['deleteMemberLease']>, afterMs: number): Promise<void> => {
    const about = { lease: lease.name, holder: lease.holderIdentity, renewTime: lease.renewTime, resourceVersion: lease.resourceVersion, identity: config.identity };
    try {
      const result = await del(lease);
      m.deletions.inc({ result });
      if (result === 'deleted') deps.logger.info({ ...about, deadForSeconds: config.memberLeaseDeleteAfterSeconds }, 'deleted the membership Lease of a replica gone for memberLeaseDeleteAfterSeconds');
      else deps.logger.info({ ...about, result }, result === 'renewed' ? 'kept a membership Lease renewed since it was listed' : 'a membership Lease was already deleted');
    } catch (err) {
      m.deletions.inc({ result: 'error' });
      retryDeleteAt.set(lease.name, now() + afterMs);
      deps.logger.warn({ ...about, err: errorMessage(err) }, 'could not delete a dead membership Lease; trying again after memberLeaseDeleteAfterSeconds');
    }
  };

  return {
    shardOf: (key) => shardOf(key, config.shards),
    owns: (key) => ownsShard(shardOf(key, config.shards)),
    members: () => members,
    begin(key) {
      const shard = shardOf(key, config.shards);
      if (!ownsShard(shard)) return undefined;
      const h = held.get(shard) as Held;
      h.inFlight++;
      return () => {
        h.inFlight--;
      };
    },
    async run(signal) {
      const memberStop = new AbortController();
      const membership = deps.membership.run(memberStop.signal);
      while (!signal.aborted) {
        await rebalance();
        m.held.set([...held.keys()].filter(ownsShard).length);
        await wait(config.retryPeriodSeconds * 1000, signal);
      }
      // Shards first, so that the others see them free before they see this member gone.
      await Promise.all([...held.keys()].map((s) => drop(s)));
      m.held.set(0);
      memberStop.abort();
      await membership;
    },
  };
}
