import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { silentLogger } from '../../../../common/logger.ts';
import { createMetricRegistry } from '../../../../common/metrics.ts';
import { LeaseConflict, createLeaderElector, type LeaseRecord, type LeaseStore } from '../../../../controller/leader/elector.ts';
import { createShardCoordinator, type ShardCoordinator } from '../../../../controller/sharding/coordinator.ts';
import { assignShards, shardOf } from '../../../../controller/sharding/rendezvous.ts';

// In-memory Leases with resourceVersion checks (the API server's optimistic locking); a replica
// can be cut off from them, which to the others looks exactly like a SIGKILL: it stops renewing.
const SHARDS = 8;
// A lease long enough that the 0.3 s wait below stays inside it on a loaded machine.
const timing = { leaseDurationSeconds: 2, renewDeadlineSeconds: 1.2, retryPeriodSeconds: 0.05 };
const leases = new Map<string, LeaseRecord>();
let rv = 0;
const cut = new Set<string>();

function store(name: string, who: string): LeaseStore {
  const check = (): void => {
    if (cut.has(who)) throw new Error('connection refused');
  };
  return {
    async get() {
      check();
      const r = leases.get(name);
      return r && { ...r };
    },
    async create(r) {
      check();
      if (leases.has(name)) throw new LeaseConflict();
      leases.set(name, { ...r, resourceVersion: String(++rv) });
      return { ...(leases.get(name) as LeaseRecord) };
    },
    async update(r) {
      check();
      if (r.resourceVersion !== leases.get(name)?.resourceVersion) throw new LeaseConflict();
      leases.set(name, { ...r, resourceVersion: String(++rv) });
      return { ...(leases.get(name) as LeaseRecord) };
    },
  };
}

interface Replica {
  id: string;
  c: ShardCoordinator;
  stop: AbortController;
  running: Promise<void>;
}
const replicas = new Map<string, Replica>();

function start(id: string): Replica {
  const elector = (lease: string, seen?: { record: LeaseRecord; atMs: number }) => createLeaderElector({ store: store(lease, id), logger: silentLogger(), ...(seen ? { seen } : {}) }, { identity: id, ...timing });
  const c = createShardCoordinator(
    {
      membership: elector(`member-${id}`),
      async listLeases() {
        if (cut.has(id)) throw new Error('connection refused');
        const all = [...leases.entries()].map(([name, r]) => ({ name, holderIdentity: r.holderIdentity, renewTime: r.renewTime, leaseDurationSeconds: r.leaseDurationSeconds }));
        return { members: all.filter((l) => l.name.startsWith('member-')), shards: new Map(all.filter((l) => l.name.startsWith('shard-')).map((l) => [Number(l.name.slice(6)), l])) };
      },
      shardElector: (shard, seen) => elector(`shard-${shard}`, seen),
      logger: silentLogger(),
      metrics: createMetricRegistry(),
    },
    { identity: id, shards: SHARDS, leaseDurationSeconds: timing.leaseDurationSeconds, retryPeriodSeconds: timing.retryPeriodSeconds },
  );
  const stop = new AbortController();
  const r = { id, c, stop, running: c.run(stop.signal) };
  replicas.set(id, r);
  return r;
}

// One scaler key per shard, to ask each replica about every shard.
const keyOfShard: string[] = [];
for (let i = 0; keyOfShard.filter(Boolean).length < SHARDS; i++) keyOfShard[shardOf(`ns/s-${i}`, SHARDS)] ??= `ns/s-${i}`;

/** Samples ownership every few milliseconds and fails on any shard two replicas own at once. */
let doubles: string[] = [];
const sampler = setInterval(() => {
  for (let s = 0; s < SHARDS; s++) {
    const owners = [...replicas.values()].filter((r) => r.c.owns(keyOfShard[s] as string)).map((r) => r.id);
    if (owners.length > 1) doubles.push(`shard ${s}: ${owners.join(',')}`);
  }
}, 2);
after(async () => {
  clearInterval(sampler);
  for (const r of replicas.values()) r.stop.abort();
  await Promise.all([...replicas.values()].map((r) => r.running));
});

const ownersNow = (ids: readonly string[]): Array<string | undefined> =>
  Array.from({ length: SHARDS }, (_, s) => ids.find((id) => replicas.get(id)?.c.owns(keyOfShard[s] as string)));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('three replicas own every shard once, as rendezvous hashing assigns them', async () => {
  for (const id of ['a', 'b', 'c']) start(id);
  const expected = assignShards(SHARDS, ['a', 'b', 'c']);
  await until('the assignment held', () => JSON.stringify(ownersNow(['a', 'b', 'c'])) === JSON.stringify(expected));
  assert.deepEqual(doubles, []);
});

test('a replica cut off stops writing; its shards move to the others, never owned twice', async () => {
  const before = assignShards(SHARDS, ['a', 'b', 'c']);
  const cShards = before.flatMap((o, i) => (o === 'c' ? [i] : []));
  assert.ok(cShards.length > 0);
  cut.add('c');
  await until('c stopped owning', () => cShards.every((s) => !replicas.get('c')?.c.owns(keyOfShard[s] as string)));
  const expected = assignShards(SHARDS, ['a', 'b']);
  await until('a and b own all', () => JSON.stringify(ownersNow(['a', 'b'])) === JSON.stringify(expected));
  assert.deepEqual(doubles, []);
});

test('a joining replica takes a shard only after the previous owner released it, and that waits for its write in flight', async () => {
  const before = assignShards(SHARDS, ['a', 'b']);
  const after = assignShards(SHARDS, ['a', 'b', 'd']);
  const moving = before.flatMap((o, i) => (after[i] === 'd' && o === 'a' ? [i] : []));
  assert.ok(moving.length > 0, 'some shard moves from a to d');
  const key = keyOfShard[moving[0] as number] as string;
  const a = replicas.get('a') as Replica;
  const done = a.c.begin(key);
  assert.ok(done, 'a owns the shard and starts a write');
  const d = start('d');
  await until('a gave the shard up', () => !a.c.owns(key));
  assert.equal(a.c.begin(key), undefined, 'a starts no new write for it');
  await new Promise((r) => setTimeout(r, timing.retryPeriodSeconds * 1000 * 6));
  assert.equal(d.c.owns(key), false, 'd waits while a write of a is in flight');
  done();
  await until('d owns what it was assigned', () => JSON.stringify(ownersNow(['a', 'b', 'd'])) === JSON.stringify(after));
  assert.deepEqual(doubles, []);
});

test('a graceful stop releases the shards (holder emptied, no expiry to wait out) and the others take them', async () => {
  const d = replicas.get('d') as Replica;
  d.stop.abort();
  await d.running;
  replicas.delete('d');
  assert.ok([...leases.entries()].filter(([n]) => n.startsWith('shard-')).every(([, r]) => r.holderIdentity !== 'd'));
  assert.equal(leases.get('member-d')?.holderIdentity, '');
  await until('a and b own all again', () => JSON.stringify(ownersNow(['a', 'b'])) === JSON.stringify(assignShards(SHARDS, ['a', 'b'])));
  assert.deepEqual(doubles, []);
  doubles = [];
});
