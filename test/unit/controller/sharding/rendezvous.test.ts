import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignShards, shardOf } from '../../../../controller/sharding/rendezvous.ts';

const SHARDS = 32;
const scalers = Array.from({ length: 1000 }, (_, i) => `team-${i % 37}/scaler-${i}`);
// Pod names as a Deployment makes them, and short ones: the bound must not depend on their shape.
const memberSets = [
  ['replica-a', 'replica-b', 'replica-c'],
  ['surgeguard-controller-7d9f6c5b4-x2k9q', 'surgeguard-controller-7d9f6c5b4-p8m3z', 'surgeguard-controller-7d9f6c5b4-t4w7n'],
  ['a', 'b', 'c'],
];

function scalersPer(owners: ReadonlyArray<string | undefined>): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of scalers) {
    const o = owners[shardOf(k, SHARDS)] as string;
    out.set(o, (out.get(o) ?? 0) + 1);
  }
  return out;
}

test('a scaler has one shard, the same for the same count, and shard 0 with one shard', () => {
  for (const k of scalers.slice(0, 50)) {
    const s = shardOf(k, SHARDS);
    assert.ok(Number.isInteger(s) && s >= 0 && s < SHARDS);
    assert.equal(shardOf(k, SHARDS), s);
    assert.equal(shardOf(k, 1), 0);
  }
});

test('every replica computes the same assignment whatever order it lists the members in', () => {
  for (const m of memberSets) assert.deepEqual(assignShards(SHARDS, [...m].reverse()), assignShards(SHARDS, m));
  assert.deepEqual(assignShards(4, []), [undefined, undefined, undefined, undefined]);
});

test('balance: shards within one of each other, 1,000 scalers over 3 replicas within 12% of the mean', () => {
  for (const m of memberSets) {
    const owners = assignShards(SHARDS, m);
    const shardsPer = m.map((x) => owners.filter((o) => o === x).length);
    assert.ok(Math.max(...shardsPer) - Math.min(...shardsPer) <= 1, `shards per replica ${shardsPer.join('/')}`);
    const counts = [...scalersPer(owners).values()];
    assert.equal(counts.length, 3);
    assert.equal(counts.reduce((a, b) => a + b, 0), 1000);
    // The rest of the spread is how many scalers hash to each shard (about 31 +- 5.6 here).
    assert.ok(Math.max(...counts) <= (1000 / 3) * 1.12, `scalers per replica ${counts.join('/')}`);
    assert.ok(Math.min(...counts) >= (1000 / 3) * 0.88, `scalers per replica ${counts.join('/')}`);
  }
});

test('a replica leaving moves its own shards and at most a few more; one joining takes about its share', () => {
  for (const m of memberSets) {
    const before = assignShards(SHARDS, m);
    const leaver = m[1] as string;
    const after = assignShards(SHARDS, m.filter((x) => x !== leaver));
    const own = before.filter((o) => o === leaver).length;
    const moved = before.filter((o, i) => o !== after[i]).length;
    assert.ok(after.every((o) => o !== leaver));
    assert.ok(moved >= own && moved <= own + 3, `leave: moved ${moved}, of which ${own} were the leaver's`);

    const joined = assignShards(SHARDS, [...m, 'replica-new']);
    const toNew = joined.filter((o) => o === 'replica-new').length;
    const movedJoin = before.filter((o, i) => o !== joined[i]).length;
    assert.equal(toNew, SHARDS / 4, 'the newcomer takes its share (8 of 32)');
    assert.ok(movedJoin <= toNew + 3, `join: moved ${movedJoin}, ${toNew} of them to the newcomer`);
  }
});

test('one member owns every shard, no member none', () => {
  assert.ok(assignShards(SHARDS, ['only']).every((o) => o === 'only'));
  assert.ok(assignShards(SHARDS, []).every((o) => o === undefined));
});
