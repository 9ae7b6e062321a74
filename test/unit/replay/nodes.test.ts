import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulateFleet } from '../../../replay/fleet.ts';
import { simulateNodes } from '../../../replay/nodes.ts';

// Small series worked out by hand: capacity 10 per replica, K = 1, N = 2, one GPU per replica and
// per node (so node counts are GPU counts), no free GPU at the start, 60 s intervals.
const BASE = { capacity: 10, startupSteps: 1, minReplicas: 1, nodeLeadSteps: 2, gpusPerReplica: 1, gpusPerNode: 1, gpusFree: 0, scaleDownDelaySteps: 100 };
const DEMAND = [10, 10, 10, 10, 10, 30, 30, 30];
// The policy asks for 3 replicas at the end of interval 3 (they would serve from 5); the forecast
// saw the need at the node horizon (N + K + 1 = 4 intervals ahead) from interval 0 on.
const TARGETS = [1, 1, 1, 3, 3, 3, 3, 3];
const NEED = [3, 3, 3, 3, 3, 3, 3, 3];

test('nodes: without free GPUs a new pod Pends until the node its Pending brought is Ready (N intervals)', () => {
  const r = simulateNodes({ demand: DEMAND, targets: TARGETS, intervalSeconds: 60 }, BASE);
  // Two pods created at the end of 3 Pend in 4 and 5, bind in 6 (nodes asked at the end of 3, Ready at 3+1+2), serve from 7.
  assert.deepEqual(r.pending, [0, 0, 0, 0, 2, 2, 0, 0]);
  assert.deepEqual(r.ready, [1, 1, 1, 1, 1, 1, 1, 3]);
  assert.equal(r.pendingPodIntervals, 4);
  assert.equal(r.podsCreated, 2);
  assert.equal(r.podsPending, 2);
  assert.equal(r.meanPendingSeconds, 120);
  assert.equal(r.p95PendingSeconds, 120);
  assert.equal(r.unserved, 40);
  // Nodes are paid for from their request on: 1 until the end of 3, then 3.
  assert.deepEqual(r.nodes, [1, 1, 1, 1, 3, 3, 3, 3]);
  assert.equal(r.gpuNodeHours, 16 / 60);
});

test('nodes: with free GPUs, the same pods bind at once and the run equals the contract fleet', () => {
  const r = simulateNodes({ demand: DEMAND, targets: TARGETS, intervalSeconds: 60 }, { ...BASE, gpusFree: 2 });
  assert.deepEqual(r.ready, [1, 1, 1, 1, 1, 3, 3, 3]);
  assert.equal(r.pendingPodIntervals, 0);
  assert.equal(r.unserved, 0);
});

test('nodes: placeholders sized by the forecast bring the nodes before the pods are created', () => {
  const r = simulateNodes({ demand: DEMAND, targets: TARGETS, need: NEED, intervalSeconds: 60 }, { ...BASE, placeholders: { capGpus: 100, stabilizationSteps: 1 } });
  // Placeholders for 2 GPUs Pend at the end of 0, their nodes are Ready in 3; the real pods created
  // at the end of 3 take those GPUs and bind in 4 (no Pending), serving from 5 as the policy meant.
  assert.deepEqual(r.placeholderGpus, [2, 2, 2, 0, 0, 0, 0, 0]);
  assert.deepEqual(r.ready, [1, 1, 1, 1, 1, 3, 3, 3]);
  assert.equal(r.pendingPodIntervals, 0);
  assert.equal(r.unserved, 0);
  // Paid for: two nodes more from interval 1 on, three intervals earlier than without.
  assert.deepEqual(r.nodes, [1, 3, 3, 3, 3, 3, 3, 3]);
  assert.equal(r.gpuNodeHours, 22 / 60);
});

test('nodes: the cap in GPUs bounds the placeholders; what it leaves out Pends for a node as before', () => {
  const r = simulateNodes({ demand: DEMAND, targets: TARGETS, need: NEED, intervalSeconds: 60 }, { ...BASE, placeholders: { capGpus: 1, stabilizationSteps: 1 } });
  assert.equal(Math.max(...r.placeholderGpus), 1);
  // One pod takes the placeholder's GPU at once; the other asks for a node at the end of 3 and binds in 6.
  assert.deepEqual(r.ready, [1, 1, 1, 1, 1, 2, 2, 3]);
  assert.equal(r.pendingPodIntervals, 2);
  assert.equal(r.unserved, 20);
  assert.equal(r.podsPending, 1);
  assert.equal(r.meanPendingSeconds, 60);
  assert.equal(r.p95PendingSeconds, 120);
});

test('nodes: placeholders are released only after the stabilization window, then their empty nodes after the delay', () => {
  const flat = [10, 10, 10, 10, 10, 10, 10, 10];
  const r = simulateNodes({ demand: flat, targets: flat.map(() => 1), need: [3, 3, 1, 1, 1, 1, 1, 1], intervalSeconds: 60 }, { ...BASE, scaleDownDelaySteps: 2, placeholders: { capGpus: 100, stabilizationSteps: 3 } });
  // The need of 3 holds through the end of 3 (window of 3 intervals: 1..3 still holds the 3 of 1).
  assert.deepEqual(r.placeholderGpus, [2, 2, 2, 2, 0, 0, 0, 0]);
  // Empty from the end of 4; after two empty intervals the two nodes go (end of 5), never the starting one.
  assert.deepEqual(r.nodes, [1, 3, 3, 3, 3, 3, 1, 1]);
});

test('nodes: a pod deleted while Pending counts its wait so far; one still Pending at the end too', () => {
  const r = simulateNodes({ demand: [10, 10, 10, 10, 10], targets: [2, 1, 1, 3, 3], intervalSeconds: 60 }, { ...BASE, nodeLeadSteps: 10 });
  // Created at the end of 0, Pending in 1, deleted at the end of 1: 1 interval. Two created at the
  // end of 3 Pend in 4 and are still Pending at the end: 1 interval each.
  assert.equal(r.podsCreated, 3);
  assert.equal(r.pendingPodIntervals, 3);
  assert.equal(r.meanPendingSeconds, 60);
});

test('nodes: with GPUs never short, the model is the contract fleet (ready, existing, unserved, cost)', () => {
  const demand = [5, 40, 12, 90, 33, 7, 70, 71, 2, 0, 55, 60, 61, 10];
  const targets = [3, 9, 2, 10, 4, 1, 8, 8, 1, 1, 6, 7, 7, 2];
  const fleet = simulateFleet(demand, targets, { capacity: 10, startupSteps: 2, minReplicas: 1 });
  const nodes = simulateNodes({ demand, targets, intervalSeconds: 60 }, { ...BASE, startupSteps: 2, gpusFree: 1000, gpusPerNode: 8 });
  assert.deepEqual(nodes.ready, fleet.ready);
  assert.deepEqual(nodes.existing, fleet.existing);
  assert.equal(nodes.unserved, fleet.unserved);
  assert.equal(nodes.cost, fleet.cost);
  assert.equal(nodes.pendingPodIntervals, 0);
});
