// The HPA path of the replay (pure): the HPA's rules applied to what the policy decided.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actuateThroughHpa, DEFAULT_HPA_ACTUATOR } from '../../../replay/hpa-actuator.ts';
import { stepUpLag } from '../../../bench/actuators.ts';

const P = { capacity: 10, startupSteps: 1, minReplicas: 1, maxReplicas: 100 };

test('at intervals of the sync period or less the HPA acts one interval late; at longer ones within the interval', () => {
  const decided = [2, 2, 8, 8, 8];
  // Read one interval late, then limited to max(100%, 4 pods) per sync: 2 -> 6 -> 8.
  assert.deepEqual(actuateThroughHpa(decided, 2, P, 15), [2, 2, 2, 6, 8]);
  assert.deepEqual(actuateThroughHpa(decided, 2, P, 60), [2, 2, 8, 8, 8]);
});

test('a step inside the tolerance band: up overshoots to the first count the HPA acts on, down is not taken', () => {
  assert.deepEqual(actuateThroughHpa([10, 11, 11], 10, P, 60), [10, 12, 12]);
  assert.deepEqual(actuateThroughHpa([10, 9, 9], 10, P, 60), [10, 10, 10]);
  const exact = { ...DEFAULT_HPA_ACTUATOR, tolerance: { up: 0, down: 0 } };
  assert.deepEqual(actuateThroughHpa([10, 11, 9], 10, P, 60, exact), [10, 11, 9]);
});

test('the scale-up limit: max(100%, 4 pods) per 15 s sync', () => {
  // One sync per 15 s interval: 2 -> 6 -> 12 -> 24 -> 40.
  assert.deepEqual(actuateThroughHpa([2, 40, 40, 40, 40, 40], 2, P, 15), [2, 2, 6, 12, 24, 40]);
});

test('the scale-down window holds the highest recommendation of the window', () => {
  const s = { ...DEFAULT_HPA_ACTUATOR, scaleDownWindowSeconds: 180 };
  // 60 s intervals, a 3-interval window: 20 stays until it leaves the window.
  assert.deepEqual(actuateThroughHpa([20, 5, 5, 5, 5], 20, P, 60, s), [20, 20, 20, 5, 5]);
  assert.deepEqual(actuateThroughHpa([20, 5, 5, 5, 5], 20, P, 60), [20, 5, 5, 5, 5]);
});

test('min and max replicas bound what the HPA sets', () => {
  assert.deepEqual(actuateThroughHpa([1, 500, 500], 1, { ...P, maxReplicas: 30 }, 600), [1, 30, 30]);
});

test('step-up lag: intervals from a decided step up to the target reaching it', () => {
  assert.equal(stepUpLag([2, 8, 8, 8], [2, 8, 8, 8]), 0);
  assert.equal(stepUpLag([2, 8, 8, 8], [2, 2, 8, 8]), 1);
  assert.equal(stepUpLag([2, 2, 2], [2, 2, 2]), 0);
});
