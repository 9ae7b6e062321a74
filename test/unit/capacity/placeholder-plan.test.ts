// The live placeholders' decision as a value: how many pods, which to create and which to delete,
// the window after a restart, and a pool with no autoscaler behind it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlaceholderPoolConfig } from '../../../controller/capacity/placeholder-config.ts';
import { decidePool, orphans, type PoolPlanInput } from '../../../controller/capacity/placeholder-plan.ts';
import { placeholderName, type PlaceholderPod } from '../../../controller/capacity/placeholder-pods.ts';
import type { PoolView } from '../../../controller/capacity/placeholder-pool.ts';

const POOL: PlaceholderPoolConfig = { name: 'a100', resource: 'nvidia.com/gpu', nodeSelector: {}, tolerations: [], capGpus: 8, gpusPerPod: 1, mode: 'pods' };
const NOW = 1_000_000_000;

function ph(i: number, x: Partial<PlaceholderPod> = {}): PlaceholderPod {
  return { name: placeholderName('a100', i), pool: 'a100', gpus: 1, bound: true, terminating: false, finished: false, createdMs: NOW - 60_000, ...x };
}

function input(x: { need: number; real?: number; free?: number; placeholders?: PlaceholderPod[]; history?: number[]; pool?: Partial<PlaceholderPoolConfig>; newestNodeMs?: number; lead?: number }): PoolPlanInput {
  const view: PoolView = { freeGpus: x.free ?? 0, comingGpus: 0, realGpus: x.real ?? 0, placeholders: x.placeholders ?? [], newestNodeMs: x.newestNodeMs ?? -Infinity };
  return { pool: { ...POOL, ...x.pool }, view, needGpus: x.need, leadSeconds: x.lead ?? 300, leadSource: 'configured', history: x.history ?? [], stabilizationSteps: 3, nowMs: NOW };
}

test('the gap between the need and the real pods becomes placeholder pods, lowest free names first', () => {
  const p = decidePool(input({ need: 6, real: 2, placeholders: [ph(1)] }));
  assert.equal(p.wantPods, 4);
  assert.deepEqual(p.create, [placeholderName('a100', 0), placeholderName('a100', 2), placeholderName('a100', 3)]);
  assert.deepEqual(p.delete, []);
  assert.equal(p.reason, 'Forecast');
  assert.match(p.message, /pool a100 \(nvidia\.com\/gpu\): the forecasts need 6 GPUs within 300 s \(node lead time, configured\).*placeholders 1 -> 4 pods .*\(Forecast\)/);
});

test('the cap bounds the pods, in GPUs: 3 GPUs a pod under a cap of 8 is 2 pods', () => {
  const p = decidePool(input({ need: 40, pool: { gpusPerPod: 3 } }));
  assert.equal(p.wantPods, 2);
  assert.equal(p.reason, 'PlaceholderCap');
  assert.equal(p.create.length, 2);
});

test('the cost cap bounds the pods too: whole pods whose GPU-hours stay within it, reason CostCap', () => {
  // 2 GPUs a pod at 2.5 an hour each: a pod costs 5; a cap of 14 an hour allows 2 pods (10), not 3 (15).
  const p = decidePool(input({ need: 8, pool: { gpusPerPod: 2, pricePerGpuHour: 2.5, capCostPerHour: 14 } }));
  assert.equal(p.wantPods, 2);
  assert.equal(p.reason, 'CostCap');
  assert.equal(p.costPerHour, 10);
  assert.match(p.message, /placeholders 0 -> 2 pods of 2 GPU \(cap 8 GPUs, 10 an hour at 2.5 per GPU-hour \(cost cap 14\); /);
  assert.match(p.message, /\(CostCap\)$/);
  // A cap that allows more than the need or the GPU cap does not bind: the other reasons stand.
  assert.deepEqual([decidePool(input({ need: 4, pool: { pricePerGpuHour: 2, capCostPerHour: 100 } }))].map((x) => [x.wantPods, x.reason, x.costPerHour]), [[4, 'Forecast', 8]]);
  assert.deepEqual([decidePool(input({ need: 40, pool: { pricePerGpuHour: 2, capCostPerHour: 100 } }))].map((x) => [x.wantPods, x.reason]), [[8, 'PlaceholderCap']]);
  // Exactly at the cap is within it (no float residue drops a pod); no price: no cost, no cap.
  assert.equal(decidePool(input({ need: 8, pool: { pricePerGpuHour: 0.1, capCostPerHour: 0.3 } })).wantPods, 3);
  assert.equal(decidePool(input({ need: 8 })).costPerHour, undefined);
});

test('a cost cap lowered below what exists deletes the surplus, Pending first', () => {
  const live = [ph(0), ph(1), ph(2, { bound: false })];
  const p = decidePool(input({ need: 3, placeholders: live, history: [3, 3], pool: { pricePerGpuHour: 3, capCostPerHour: 3 } }));
  assert.equal(p.wantPods, 1);
  assert.equal(p.reason, 'CostCap');
  assert.deepEqual(p.delete.map((d) => d.name), [placeholderName('a100', 2), placeholderName('a100', 1)]);
});

test('a fall of the forecast releases nothing within the window, then Pending ones first, newest first', () => {
  const live = [ph(0), ph(1, { bound: false, createdMs: NOW - 5000 }), ph(2), ph(3, { bound: false, createdMs: NOW - 1000 })];
  const held = decidePool(input({ need: 0, placeholders: live, history: [4, 4] }));
  assert.equal(held.reason, 'Stabilized');
  assert.deepEqual(held.delete, []);
  const released = decidePool(input({ need: 1, placeholders: live, history: [1, 1] }));
  assert.equal(released.wantPods, 1);
  // Pending before bound (they hold nothing); among bound, the highest index goes first.
  assert.deepEqual(released.delete.map((d) => d.name), [placeholderName('a100', 3), placeholderName('a100', 1), placeholderName('a100', 2)]);
  assert.ok(released.delete.every((d) => d.reason === 'Released'));
});

test('real pods replace placeholders one for one, never faster', () => {
  const live = [ph(0), ph(1), ph(2), ph(3)];
  const p = decidePool(input({ need: 6, real: 3, placeholders: live, history: [6, 6] }));
  assert.equal(p.wantPods, 3);
  assert.equal(p.delete.length, 1);
});

test('after a restart the window is seeded with what the adopted placeholders stand for: no release, no duplicate', () => {
  const live = [ph(0), ph(1), ph(2)];
  const p = decidePool({ ...input({ need: 0, real: 1, placeholders: live }), history: undefined });
  assert.deepEqual(p.create, []);
  assert.deepEqual(p.delete, []);
  assert.deepEqual(p.history, [4, 0]);
  // And adopting the same pods while the need is unchanged creates nothing.
  const same = decidePool({ ...input({ need: 4, real: 1, placeholders: live }), history: undefined });
  assert.deepEqual(same.create, []);
});

test('terminating placeholders are not counted and keep their names; finished ones are deleted', () => {
  const p = decidePool(input({ need: 2, placeholders: [ph(0, { terminating: true }), ph(1, { finished: true, bound: false })] }));
  assert.deepEqual(p.create, [placeholderName('a100', 2), placeholderName('a100', 3)]);
  assert.deepEqual(p.delete, [{ name: placeholderName('a100', 1), reason: 'Finished' }]);
});

test('Pending past twice the lead time with no new node: reported, and the pool does not grow', () => {
  const old = NOW - 700_000;
  const live = [ph(0), ph(1, { bound: false, createdMs: old })];
  const stalled = decidePool(input({ need: 6, placeholders: live, lead: 300, newestNodeMs: old - 1 }));
  assert.deepEqual(stalled.stall, { pods: 1, oldestSeconds: 700, limitSeconds: 600 });
  assert.equal(stalled.wantPods, 2);
  assert.deepEqual(stalled.create, []);
  assert.equal(stalled.reason, 'NoAutoscaler');
  assert.match(stalled.message, /no autoscaler seems to feed this pool/);
  // It may still shrink when the forecast falls.
  assert.equal(decidePool(input({ need: 1, placeholders: live, newestNodeMs: old - 1, history: [1] })).wantPods, 1);
  // A node created after the placeholder: something brings nodes, not stalled.
  assert.equal(decidePool(input({ need: 6, placeholders: live, newestNodeMs: old + 1 })).stall, undefined);
  // Not yet past twice the lead time.
  assert.equal(decidePool(input({ need: 6, placeholders: live, lead: 400, newestNodeMs: old - 1 })).stall, undefined);
});

test('placeholders of pools no longer configured are orphans', () => {
  const pods = [ph(0), { ...ph(0), name: 'surgeguard-placeholder-old-0', pool: 'old' }, { ...ph(1), name: 'surgeguard-placeholder-old-1', pool: 'old', terminating: true }];
  assert.deepEqual(orphans(pods, ['a100']), ['surgeguard-placeholder-old-0']);
});

test('what new nodes must bring: the gap less what placeholders already hold, free and coming GPUs', () => {
  const p = decidePool(input({ need: 6, free: 1, placeholders: [ph(0), ph(1), ph(2, { bound: false })] }));
  assert.equal(p.sizing.gpus, 6);
  // 6 - 2 held by bound placeholders - 1 free.
  assert.equal(p.sizing.provisionGpus, 3);
});
