// The shard key: a GPU pool's scalers share one shard, the rest hash by namespace/name; a scaler
// whose pool changes is written by its new owner only once that has seen the change for settleMs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PredictiveScaler } from '../../../../controller/crd/predictive-scaler.ts';
import { createScalerShards, gpuPoolKey, shardKeyOf } from '../../../../controller/sharding/shard-key.ts';
import { assignShards, shardOf } from '../../../../controller/sharding/rendezvous.ts';

const scaler = (namespace: string, name: string, gpu?: { resource?: string }): PredictiveScaler =>
  ({ apiVersion: 'surgeguard.io/v1alpha1', kind: 'PredictiveScaler', metadata: { namespace, name }, spec: { ...(gpu ? { gpu: { perReplica: 1, ...gpu } } : {}) } }) as unknown as PredictiveScaler;

test('the shard key: a scaler with spec.gpu hashes by its pool (the resource its budget splits), the others by namespace/name', () => {
  assert.equal(shardKeyOf(scaler('ml', 'llm')), 'ml/llm');
  assert.equal(shardKeyOf(scaler('ml', 'llm', {})), gpuPoolKey('nvidia.com/gpu'), 'no resource: the CRD default nvidia.com/gpu');
  assert.equal(shardKeyOf(scaler('ml', 'llm', { resource: 'nvidia.com/mig-1g.10gb' })), 'gpu:nvidia.com/mig-1g.10gb');
  // Many scalers of one pool, over many namespaces: one shard, so one replica owns the whole budget.
  const pool = Array.from({ length: 50 }, (_, i) => scaler(`team-${i}`, `s-${i}`, { resource: 'nvidia.com/gpu' }));
  assert.equal(new Set(pool.map((s) => shardOf(shardKeyOf(s), 32))).size, 1);
  const owners = assignShards(32, ['a', 'b', 'c']);
  assert.equal(new Set(pool.map((s) => owners[shardOf(shardKeyOf(s), 32)])).size, 1);
  // Without spec.gpu they spread as before (the same hash as namespace/name always had).
  const plain = pool.map((s) => scaler(s.metadata.namespace, s.metadata.name));
  assert.ok(new Set(plain.map((s) => shardOf(shardKeyOf(s), 32))).size > 10);
  assert.equal(shardOf(shardKeyOf(scaler('ml', 'llm')), 32), shardOf('ml/llm', 32));
});

/** A coordinator that holds the shards in `held`, and counts the writes begun per shard key. */
function fakeCoordinator(held: Set<number>, shards = 32) {
  const begun: string[] = [];
  return {
    begun,
    shardOf: (key: string) => shardOf(key, shards),
    owns: (key: string) => held.has(shardOf(key, shards)),
    begin: (key: string) => (held.has(shardOf(key, shards)) ? () => void begun.push(key) : undefined),
  };
}

// Two pools that hash to different shards with 32 shards.
const A = 'nvidia.com/gpu';
const B = ['nvidia.com/mig-1g.10gb', 'nvidia.com/mig-2g.20gb', 'nvidia.com/gpu.shared'].find((r) => shardOf(gpuPoolKey(r), 32) !== shardOf(gpuPoolKey(A), 32)) as string;

test('a scaler whose pool changes: the new owner writes only after settleMs, the old one refuses at once', () => {
  const clock = { t: 1_000_000 };
  const cache = new Map<string, PredictiveScaler>([['ml/llm', scaler('ml', 'llm', { resource: A })]]);
  const lookup = (ns: string, name: string): PredictiveScaler | undefined => cache.get(`${ns}/${name}`);
  // Replica 1 holds pool A's shard, replica 2 pool B's.
  const c1 = fakeCoordinator(new Set([shardOf(gpuPoolKey(A), 32)]));
  const c2 = fakeCoordinator(new Set([shardOf(gpuPoolKey(B), 32)]));
  const r1 = createScalerShards({ coordinator: c1, lookup, now: () => clock.t }, { settleMs: 30_000 });
  const r2 = createScalerShards({ coordinator: c2, lookup, now: () => clock.t }, { settleMs: 30_000 });
  const tick = (r: typeof r1): string[] => {
    r.sync([...cache.values()]);
    return [...cache.values()].filter((s) => r.owns(s)).map((s) => s.metadata.name);
  };
  // First seen (a replica that just started): settled at once.
  assert.deepEqual([tick(r1), tick(r2)], [['llm'], []]);
  assert.ok(r1.begin('ml/llm'));
  // The pool changes to B. Replica 1's fence reads its cache at the write and refuses at once.
  cache.set('ml/llm', scaler('ml', 'llm', { resource: B }));
  assert.equal(r1.begin('ml/llm'), undefined, 'the old owner refuses as soon as its cache shows the new pool');
  assert.deepEqual(tick(r1), []);
  // Replica 2 holds B's shard, but waits settleMs from when it saw the move.
  assert.deepEqual(tick(r2), [], 'the new owner does not act at once');
  assert.equal(r2.begin('ml/llm'), undefined, 'nor does its fence let a write through');
  clock.t += 29_999;
  assert.deepEqual(tick(r2), []);
  clock.t += 1;
  assert.deepEqual(tick(r2), ['llm'], 'settled after one lease duration');
  const done = r2.begin('ml/llm');
  assert.ok(done);
  done();
  assert.deepEqual(c2.begun, [gpuPoolKey(B)], 'the write is counted in flight on the pool\'s shard');
  assert.equal(r2.shardOf('ml/llm'), shardOf(gpuPoolKey(B), 32));
});

test('a scaler deleted and recreated at once in another pool settles too; one gone for settleMs is new again', () => {
  const clock = { t: 0 };
  const cache = new Map<string, PredictiveScaler>([['ml/llm', scaler('ml', 'llm', { resource: A })]]);
  const c = fakeCoordinator(new Set([shardOf(gpuPoolKey(A), 32), shardOf(gpuPoolKey(B), 32), shardOf('ml/llm', 32)]));
  const r = createScalerShards({ coordinator: c, lookup: (ns, n) => cache.get(`${ns}/${n}`), now: () => clock.t }, { settleMs: 10_000 });
  r.sync([...cache.values()]);
  cache.delete('ml/llm');
  r.sync([]);
  clock.t += 5_000;
  r.sync([]);
  const again = scaler('ml', 'llm', { resource: B });
  cache.set('ml/llm', again);
  r.sync([again]);
  assert.equal(r.owns(again), false, 'recreated in another pool within settleMs: waits');
  clock.t += 10_000;
  assert.equal(r.owns(again), true);
  // Gone for longer than settleMs: forgotten, and a new one is settled at once.
  cache.delete('ml/llm');
  r.sync([]);
  clock.t += 10_000;
  r.sync([]);
  const plain = scaler('ml', 'llm');
  cache.set('ml/llm', plain);
  r.sync([plain]);
  assert.equal(r.owns(plain), true);
});

test('a pool change that keeps the shard (another key, same Lease) needs no wait', () => {
  const clock = { t: 0 };
  // Find a plain scaler name on pool A's shard.
  const name = Array.from({ length: 5000 }, (_, i) => `s-${i}`).find((n) => shardOf(`ml/${n}`, 32) === shardOf(gpuPoolKey(A), 32)) as string;
  const cache = new Map<string, PredictiveScaler>([[`ml/${name}`, scaler('ml', name)]]);
  const r = createScalerShards({ coordinator: fakeCoordinator(new Set([shardOf(gpuPoolKey(A), 32)])), lookup: (ns, n) => cache.get(`${ns}/${n}`), now: () => clock.t }, { settleMs: 10_000 });
  r.sync([...cache.values()]);
  const withGpu = scaler('ml', name, { resource: A });
  cache.set(`ml/${name}`, withGpu);
  r.sync([withGpu]);
  assert.equal(r.owns(withGpu), true);
  assert.ok(r.begin(`ml/${name}`));
});
