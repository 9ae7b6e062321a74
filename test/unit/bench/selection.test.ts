// The outcome switch of bench/selection.ts: it may take a candidate's target only after that
// candidate's own fleet has shown it doing better, waits `earnAfter` intervals, needs the margin, and
// takes a cheaper candidate that loses no more. The fleets are the replay contract's (startup 0: a pod
// added at the end of t serves from t + 1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outcomeSwitch, type OutcomeSwitchSettings } from '../../../bench/selection.ts';

const fleet = { capacity: 10, startupSteps: 0, minReplicas: 1 };
const settings: OutcomeSwitchSettings = { halfLife: 48, earnAfter: 3, margin: 0.1, costSlack: 0.1 };
const flat = (v: number, n: number): number[] => Array.from({ length: n }, () => v);

test('a candidate that loses less at about the same cost is taken once earnAfter intervals are seen', () => {
  const demand = flat(100, 8);
  // A keeps 8 pods (drops 20 an interval from interval 1), B keeps 10 (drops nothing): 18% more pods
  // by interval 3 (both start with 10), 25% in the long run.
  const r = outcomeSwitch(demand, [flat(8, 8), flat(10, 8)], fleet, { ...settings, costSlack: 0.2 });
  assert.deepEqual(r.targets, [8, 8, 8, 10, 10, 10, 10, 10]);
  assert.equal(r.switches, 1);
  // Beyond a 10% slack: not within the budget, so A stays.
  assert.deepEqual(outcomeSwitch(demand, [flat(8, 8), flat(10, 8)], fleet, settings).targets, flat(8, 8));
});

test('the switch is causal: a candidate that sized ahead of a rise is taken after the rise is seen, not before', () => {
  const demand = [...flat(100, 10), ...flat(150, 4)];
  const a = flat(10, 14);
  // B orders 15 pods at the end of interval 9, so they serve the rise at 10; A never does.
  const b = [...flat(10, 9), ...flat(15, 5)];
  const r = outcomeSwitch(demand, [a, b], fleet, settings);
  // Interval 9 is still A's (B's ask there had not yet shown anything); from 10 on, B's.
  assert.deepEqual(r.targets.slice(8), [10, 10, 15, 15, 15, 15]);
});

test('less unserved demand by less than the margin does not switch; by more, it does', () => {
  const demand = flat(100, 40);
  const a = flat(9, 40);
  // B drops on every other interval that A drops on, at 5.6% more pods. (Waiting 10 intervals skips
  // the start, where B had dropped on one interval of A's three.)
  const b = demand.map((_, i) => (i % 2 === 0 ? 10 : 9));
  assert.equal(outcomeSwitch(demand, [a, b], fleet, { ...settings, earnAfter: 10, margin: 0.6 }).switches, 0);
  assert.equal(outcomeSwitch(demand, [a, b], fleet, { ...settings, earnAfter: 10, margin: 0.4 }).switches, 1);
});

test('a cheaper candidate that loses no more is taken; a cheaper one that loses more is not', () => {
  const demand = flat(100, 10);
  const r = outcomeSwitch(demand, [flat(15, 10), flat(10, 10)], fleet, settings);
  assert.deepEqual(r.targets, [15, 15, 15, 10, 10, 10, 10, 10, 10, 10]);
  assert.equal(outcomeSwitch(demand, [flat(10, 10), flat(8, 10)], fleet, settings).switches, 0);
});
