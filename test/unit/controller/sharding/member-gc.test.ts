// Membership Lease garbage: which Leases are dead long enough to delete (member-view.ts, on the
// reader's clock), and the coordinator deleting them: only the first live member by name, never its
// own, each counted and logged, one renewed since it was listed kept, a failed one not retried at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../../common/logger.ts';
import { createMetricRegistry } from '../../../../common/metrics.ts';
import type { LeaderElector } from '../../../../controller/leader/elector.ts';
import { createShardCoordinator, type MemberLeaseDeletion } from '../../../../controller/sharding/coordinator.ts';
import { createMemberView, type MemberLease } from '../../../../controller/sharding/member-view.ts';

const lease = (name: string, holder: string, renew: string, rv = renew): MemberLease => ({ name, holderIdentity: holder, renewTime: renew, leaseDurationSeconds: 10, resourceVersion: rv, uid: `uid-${name}` });

test('stale: Leases unchanged for afterMs on this clock, released ones included; first seen counts as just changed', () => {
  const clock = { t: 0 };
  const view = createMemberView(() => clock.t, 10);
  view.update([lease('m-a', 'a', 't1'), lease('m-dead', 'dead', 't1'), lease('m-gone', '', 't1')]);
  clock.t = 99_999;
  view.update([lease('m-a', 'a', 't2'), lease('m-dead', 'dead', 't1'), lease('m-gone', '', 't1')]);
  assert.deepEqual(view.stale(100_000), [], 'a replica that just started deletes nothing before afterMs');
  clock.t = 100_000;
  view.update([lease('m-a', 'a', 't2'), lease('m-dead', 'dead', 't1', 'rv-7'), lease('m-gone', '', 't1')]);
  assert.deepEqual(view.stale(100_000).map((l) => [l.name, l.resourceVersion]), [['m-dead', 'rv-7'], ['m-gone', 't1']], 'the dead and the released; the version is the latest listed');
  // Renewed: not stale any more; and a Lease no longer listed is forgotten.
  clock.t = 150_000;
  view.update([lease('m-a', 'a', 't2'), lease('m-dead', 'dead', 't9')]);
  assert.deepEqual(view.stale(100_000).map((l) => l.name), []);
  clock.t = 200_000;
  view.update([lease('m-a', 'a', 't3'), lease('m-dead', 'dead', 't9')]);
  assert.deepEqual(view.stale(40_000).map((l) => l.name), ['m-dead']);
});

const alive = (id: string): LeaderElector => ({ identity: () => id, isLeader: () => true, run: (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })) });

/** A coordinator on a fake clock, run for `periods` retry periods over the listed Leases. */
async function runCoordinator(x: { identity: string; members: () => MemberLease[]; del: (l: MemberLease) => Promise<MemberLeaseDeletion>; periods: number; deleteAfterSeconds?: number }) {
  const clock = { t: 0 };
  const metrics = createMetricRegistry();
  const logs: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const logger = { ...silentLogger(), info: (obj: Record<string, unknown>, msg: string) => void logs.push({ obj, msg }), warn: (obj: Record<string, unknown>, msg: string) => void logs.push({ obj, msg }) } as unknown as ReturnType<typeof silentLogger>;
  const stop = new AbortController();
  let periods = 0;
  const c = createShardCoordinator(
    {
      membership: alive(x.identity),
      listLeases: async () => ({ members: x.members(), shards: new Map() }),
      shardElector: () => alive(x.identity),
      deleteMemberLease: x.del,
      logger,
      metrics,
      now: () => clock.t,
      sleep: async (ms) => {
        clock.t += ms;
        if (++periods >= x.periods) stop.abort();
        await new Promise((r) => setImmediate(r));
      },
    },
    { identity: x.identity, shards: 4, leaseDurationSeconds: 10, retryPeriodSeconds: 5, ...(x.deleteAfterSeconds ? { memberLeaseDeleteAfterSeconds: x.deleteAfterSeconds } : {}) },
  );
  await c.run(stop.signal);
  return { metrics: (await metrics.render()).body, logs, clock };
}

test('the first live member deletes the Leases dead for memberLeaseDeleteAfterSeconds, with preconditions, counted and logged', async () => {
  const leases = new Map<string, MemberLease>([
    ['m-a', lease('m-a', 'a', 'r0')],
    ['m-b', lease('m-b', 'b', 'r0')],
    ['m-dead', lease('m-dead', 'dead', 'r0', 'rv-dead')],
  ]);
  let n = 0;
  const deleted: MemberLease[] = [];
  const out = await runCoordinator({
    identity: 'a',
    // a and b renew every period; m-dead never does.
    members: () => {
      n++;
      for (const id of ['a', 'b']) leases.set(`m-${id}`, lease(`m-${id}`, id, `r${n}`));
      return [...leases.values()];
    },
    del: async (l) => {
      deleted.push(l);
      leases.delete(l.name);
      return 'deleted';
    },
    periods: 30,
    deleteAfterSeconds: 100,
  });
  assert.deepEqual(deleted.map((l) => [l.name, l.resourceVersion, l.uid]), [['m-dead', 'rv-dead', 'uid-m-dead']], 'only the dead one, once, as listed');
  assert.match(out.metrics, /surgeguard_sharding_member_lease_deletions_total\{result="deleted"\} 1/);
  assert.ok(out.logs.some((l) => l.msg.startsWith('deleted the membership Lease') && l.obj.lease === 'm-dead'));
});

test('not the first live member: deletes nothing; no setting: nothing either', async () => {
  const members = (): MemberLease[] => [lease('m-a', 'a', String(Math.random())), lease('m-b', 'b', String(Math.random())), lease('m-dead', 'dead', 'r0')];
  const tried: string[] = [];
  await runCoordinator({ identity: 'b', members, del: async (l) => (tried.push(l.name), 'deleted'), periods: 30, deleteAfterSeconds: 100 });
  assert.equal(tried.join(), '', 'b is not the first live member: a collects');
  await runCoordinator({ identity: 'a', members, del: async (l) => (tried.push(l.name), 'deleted'), periods: 30 });
  assert.equal(tried.join(), '', 'without memberLeaseDeleteAfterSeconds nothing is deleted');
});

test('a Lease renewed between the list and the delete is kept; a failed delete waits afterMs before the next try', async () => {
  const members = (): MemberLease[] => [lease('m-a', 'a', String(Math.random())), lease('m-dead', 'dead', 'r0')];
  const renewed = await runCoordinator({ identity: 'a', members, del: async () => 'renewed', periods: 24, deleteAfterSeconds: 100 });
  assert.match(renewed.metrics, /surgeguard_sharding_member_lease_deletions_total\{result="renewed"\} [1-9]/);
  assert.ok(renewed.logs.some((l) => l.msg.startsWith('kept a membership Lease renewed')));
  // 403 (no delete verb): tried at 100 s, then not before 200 s; 300 s of periods make three tries, not forty.
  let tries = 0;
  const failed = await runCoordinator({ identity: 'a', members, del: async () => (tries++, Promise.reject(Object.assign(new Error('forbidden'), { code: 403 }))), periods: 62, deleteAfterSeconds: 100 });
  assert.equal(tries, 3);
  assert.match(failed.metrics, /surgeguard_sharding_member_lease_deletions_total\{result="error"\} 3/);
});
