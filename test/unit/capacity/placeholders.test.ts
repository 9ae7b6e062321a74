import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forecastNeedGpus, sizePlaceholders } from '../../../controller/capacity/placeholders.ts';

const S = { capGpus: 16, stabilizationSteps: 3 };

test('placeholders: the gap between the forecast need and the real pods, less nothing for free or coming GPUs', () => {
  const d = sizePlaceholders({ needGpus: 10, realGpus: 4, freeGpus: 2, comingGpus: 1 }, S, []);
  assert.equal(d.gpus, 6);
  // Free and coming GPUs are held by the placeholders too; only the rest needs new nodes.
  assert.equal(d.provisionGpus, 3);
  assert.equal(d.reason, 'Forecast');
  assert.deepEqual(d.history, [10]);
});

test('placeholders: none when the real pods already ask for the need', () => {
  const d = sizePlaceholders({ needGpus: 4, realGpus: 6, freeGpus: 0, comingGpus: 0 }, S, []);
  assert.equal(d.gpus, 0);
  assert.equal(d.reason, 'NoGap');
});

test('placeholders: the cap bounds them', () => {
  const d = sizePlaceholders({ needGpus: 40, realGpus: 4, freeGpus: 0, comingGpus: 0 }, S, []);
  assert.equal(d.gpus, 16);
  assert.equal(d.provisionGpus, 16);
  assert.equal(d.reason, 'PlaceholderCap');
});

test('placeholders: a falling forecast releases them only after the window; real pods replace them one for one', () => {
  let h: readonly number[] = [];
  const gpus: number[] = [];
  const reasons: string[] = [];
  // Need 10 once, then 4; real pods grow 2 -> 4 over the first two ticks.
  for (const [need, real] of [[10, 2], [4, 3], [4, 4], [4, 4], [4, 4]] as const) {
    const d = sizePlaceholders({ needGpus: need, realGpus: real, freeGpus: 0, comingGpus: 0 }, S, h);
    h = d.history;
    gpus.push(d.gpus);
    reasons.push(d.reason);
  }
  assert.deepEqual(gpus, [8, 7, 6, 0, 0]);
  assert.deepEqual(reasons, ['Forecast', 'Stabilized', 'Stabilized', 'NoGap', 'NoGap']);
});

test('placeholders: the need at the horizon is the peak quantile of the steps from pod lead to node lead, in whole replicas', () => {
  const q = [100, 100, 250, 180, 999];
  // Steps 1..3 (the 999 at step 4 is past the horizon): peak 250, headroom 1.2 -> 300 / 100 = 3 replicas of 2 GPUs.
  assert.equal(forecastNeedGpus(q, { fromStep: 1, toStep: 3, perReplicaCapacity: 100, headroom: 1.2, minReplicas: 1, maxReplicas: 10, gpusPerReplica: 2 }), 6);
  assert.equal(forecastNeedGpus(q, { fromStep: 0, toStep: 4, perReplicaCapacity: 100, headroom: 1, minReplicas: 1, maxReplicas: 5, gpusPerReplica: 1 }), 5);
});
