import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSurges, surgeOutcome } from '../../../replay/surges.ts';

// K = 1, 10 requests per pod per interval; baseline of 4 intervals, twice it starts a surge, 2 quiet intervals end it.
const P = { capacity: 10, startupSteps: 1 };
const S = { ratio: 2, baselineIntervals: 4, quietIntervals: 2, floor: 10 };
const DEMAND = [10, 10, 10, 10, 50, 60, 80, 80, 80, 80, 80, 10, 10, 10];
// The pods a target decided at the end of t serve from t + 2: ready[t + 2] = targets[t].
const TARGETS = [1, 1, 1, 5, 6, 7, 7, 8, 8, 3, 3, 3, 3, 3];
const READY = [1, 1, 1, 1, 1, 5, 6, 7, 7, 8, 3, 3, 3, 3];

test('a surge starts above twice the baseline median and ends at the first of its quiet intervals', () => {
  assert.deepEqual(findSurges(DEMAND, S), [{ onset: 4, end: 11, threshold: 20, peak: 80, peakAt: 6 }]);
});

test('each interval\'s unserved demand goes to one cause: onset, follow-on, sustained, scale-down too early', () => {
  const [surge] = findSurges(DEMAND, S);
  assert.ok(surge);
  const out = surgeOutcome(surge, DEMAND, { ready: READY, targets: TARGETS }, P);
  // t4, t5: within K + 1 of the onset (40 + 10). t6, t7: 80 is above all seen by t − K − 1 (50, then 60): 20 + 10.
  // t8: 80 was seen at t6, 7 pods never served it: 10. t10: 8 pods served 80 at t9, 3 are left: 50.
  assert.deepEqual(out.unserved, { onset: 50, followOn: 30, sustained: 10, scaleDownEarly: 50 });
  assert.equal(out.total, 140);
  // The target rose at the end of t3, one interval before the onset.
  assert.equal(out.leadIntervals, 1);
});

test('lead time: 0 for a rise in the onset interval, negative after it, null when the target never rises', () => {
  const [surge] = findSurges(DEMAND, S);
  assert.ok(surge);
  const ready = DEMAND.map(() => 1);
  const at = (targets: number[]): number | null => surgeOutcome(surge, DEMAND, { ready, targets }, P).leadIntervals;
  assert.equal(at([1, 1, 1, 1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]), 0);
  assert.equal(at([1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5, 5, 5]), -2);
  assert.equal(at(DEMAND.map(() => 1)), null);
  // A fleet that always had enough leaves nothing unserved.
  assert.equal(surgeOutcome(surge, DEMAND, { ready: DEMAND.map(() => 8), targets: DEMAND.map(() => 8) }, P).total, 0);
});

test('no surge on flat demand, below the floor, or before a full baseline window; one running to the end is closed there', () => {
  assert.deepEqual(findSurges([5, 5, 5, 5, 5, 5, 5, 5], S), []);
  assert.deepEqual(findSurges([1, 1, 1, 1, 9, 9, 1, 1], S), []);
  assert.deepEqual(findSurges([1, 90, 1, 1, 1, 1], S), []);
  assert.deepEqual(findSurges([10, 10, 10, 10, 30, 40], S), [{ onset: 4, end: 6, threshold: 20, peak: 40, peakAt: 5 }]);
});
