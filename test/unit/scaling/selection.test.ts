// Per-target forecaster selection in shadow (controller/scaling/selection.ts) and the policy step's
// use of it (chooseForecast): scored causally at the lead, switching only on a clear margin.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseForecast, type PolicyMemory } from '../../../controller/reconcile/policy-step.ts';
import { newSelection, pinball, selectCandidate, SELECTION_DEFAULTS } from '../../../controller/scaling/selection.ts';
import type { SeriesForecast } from '../../../inference/forecaster.ts';
import { flatForecast } from '../../helpers/forecasts.ts';

test('pinball at q = 0.9: demand above the band costs nine times the same amount below it', () => {
  assert.ok(Math.abs(pinball(110, 100, 0.9) - 9) < 1e-9);
  assert.ok(Math.abs(pinball(90, 100, 0.9) - 1) < 1e-9);
  assert.equal(pinball(100, 100, 0.9), 0);
});

test('the first candidate is used until the others are earned, then the one with the lower loss', () => {
  const s = newSelection(2);
  // Demand 100 every interval; candidate 0 under-forecasts (p90 60), candidate 1 is close (p90 105).
  const picks: number[] = [];
  for (let t = 0; t < 40; t++) picks.push(selectCandidate(s, { demand: 100, forecasts: [flatForecast(50, { p90: 60 }), flatForecast(100, { p90: 105 })], lead: 2 }));
  // Scores start once a forecast reaches its interval (lead 2), and count after earnAfter of them.
  const firstSwitch = picks.indexOf(1);
  assert.equal(firstSwitch, 2 + SELECTION_DEFAULTS.earnAfter - 1, `switched at ${firstSwitch}`);
  assert.ok(picks.slice(0, firstSwitch).every((p) => p === 0));
  assert.ok(picks.slice(firstSwitch).every((p) => p === 1));
  assert.equal(s.switches, 1);
});

test('a candidate only a little better does not take over (no flapping on noise)', () => {
  const s = newSelection(2);
  for (let t = 0; t < 200; t++) {
    // Both miss by about the same: candidate 1 is 5% better, under the 10% margin.
    selectCandidate(s, { demand: 100, forecasts: [flatForecast(80), flatForecast(81)], lead: 1 });
  }
  assert.equal(s.chosen, 0);
  assert.equal(s.switches, 0);
});

test('scoring is causal: a forecast is judged against the demand of the interval it was made for', () => {
  const s = newSelection(2);
  // Candidate 1 always forecasts the demand that comes `lead` intervals later; candidate 0 the demand now.
  const demand = Array.from({ length: 80 }, (_, t) => 100 + 50 * Math.sin(t / 3));
  const lead = 3;
  for (let t = 0; t < demand.length; t++) {
    const next = demand[t + lead - 1 + 1] ?? demand[demand.length - 1] ?? 0;
    selectCandidate(s, { demand: demand[t] ?? 0, forecasts: [flatForecast(demand[t] ?? 0), flatForecast(next)], lead });
  }
  // The pending queue lags by lead - 1; a candidate that knew the future at the lead scores near 0.
  assert.equal(s.chosen, 1);
  assert.ok((s.loss[1] as number) < 1e-6, `loss ${s.loss[1]}`);
});

test('chooseForecast: one candidate is returned as it is; a shadow in use says so in its source', () => {
  const one: PolicyMemory = { recommendations: [] };
  const only = { forecast: flatForecast(1, { p90: 2 }), source: 'holt-winters' };
  assert.equal(chooseForecast(one, { demand: 1, candidates: [only], lead: 1 }), only);
  assert.equal(one.selection, undefined);

  const m: PolicyMemory = { recommendations: [] };
  let last = '';
  for (let t = 0; t < 40; t++) last = chooseForecast(m, { demand: 100, candidates: [{ forecast: flatForecast(10, { p90: 20 }), source: 'holt-winters' }, { forecast: flatForecast(100, { p90: 104 }), source: 'onnx' }], lead: 1 }).source;
  assert.equal(last, 'onnx (selected)');
  assert.throws(() => chooseForecast(m, { demand: 1, candidates: [], lead: 1 }), /no candidate/);
});

// Written for the survivors of the 2026-12-07 run over selection.ts (76.1%).

test('the loss is an exponentially weighted mean: after halfLife scores of a new loss it has moved half-way', () => {
  const s = newSelection(1);
  const settings = { ...SELECTION_DEFAULTS, halfLife: 10 };
  // Lead 1: each tick scores the forecast of the tick before. p90 100 against demand 110 costs 9.
  selectCandidate(s, { demand: 110, forecasts: [flatForecast(100)], lead: 1 }, settings);
  selectCandidate(s, { demand: 110, forecasts: [flatForecast(110)], lead: 1 }, settings);
  assert.ok(Math.abs((s.loss[0] as number) - 9) < 1e-9, `first score is the loss itself: ${s.loss[0]}`);
  // Scores of 0 (the forecast was exact): five take it to 9 x 0.5^(1/2), ten halve it.
  for (let t = 0; t < 5; t++) selectCandidate(s, { demand: 110, forecasts: [flatForecast(110)], lead: 1 }, settings);
  assert.ok(Math.abs((s.loss[0] as number) - 9 * Math.SQRT1_2) < 1e-9, `after half a half-life: ${s.loss[0]}`);
  for (let t = 0; t < 5; t++) selectCandidate(s, { demand: 110, forecasts: [flatForecast(110)], lead: 1 }, settings);
  assert.ok(Math.abs((s.loss[0] as number) - 4.5) < 1e-9, `after one half-life: ${s.loss[0]}`);
  assert.equal(s.scored, 11);
});

test("the p90 scored is the one for the lead's step, and a forecast too short gives its last step", () => {
  const steps = (...p90: number[]): SeriesForecast => ({ p10: Float64Array.from(p90, () => 0), p50: Float64Array.from(p90, () => 0), p90: Float64Array.from(p90) });
  const s = newSelection(2);
  // Lead 2 reads step index 1 (p90 100 for both); a forecast of one step gives that step (100).
  selectCandidate(s, { demand: 0, forecasts: [steps(50, 100, 400), steps(100)], lead: 2 });
  assert.deepEqual(s.pending, [[100, 100]]);
});

test('with three candidates the best is chosen wherever it stands, and keeping the choice is not a switch', () => {
  const s = newSelection(3);
  for (let t = 0; t < 40; t++) selectCandidate(s, { demand: 100, forecasts: [flatForecast(50, { p90: 60 }), flatForecast(100, { p90: 102 }), flatForecast(50, { p90: 70 })], lead: 1 });
  assert.deepEqual([s.chosen, s.switches], [1, 1]);
  const kept = newSelection(2);
  for (let t = 0; t < 40; t++) selectCandidate(kept, { demand: 100, forecasts: [flatForecast(100, { p90: 102 }), flatForecast(50, { p90: 60 })], lead: 1 });
  assert.deepEqual([kept.chosen, kept.switches], [0, 0]);
});

test('a candidate list that does not match the state is refused, naming both counts', () => {
  assert.throws(() => selectCandidate(newSelection(2), { demand: 1, forecasts: [flatForecast(1)], lead: 1 }), { message: 'selection: 1 candidates, state for 2' });
});

test('when the lead shrinks only the newest forecasts wait, so the next score is the newest one', () => {
  const s = newSelection(1);
  for (const p90 of [100, 200, 300]) selectCandidate(s, { demand: 0, forecasts: [flatForecast(p90)], lead: 3 });
  assert.deepEqual(s.pending, [[100], [200], [300]]);
  selectCandidate(s, { demand: 0, forecasts: [flatForecast(400)], lead: 1 });
  assert.deepEqual(s.pending, [[400]]);
  selectCandidate(s, { demand: 400, forecasts: [flatForecast(500)], lead: 1 });
  // The first score (the oldest, 100 against 0: loss 10) was taken at the shrink; the newest (400 against 400, loss 0) moves it.
  assert.ok(Math.abs((s.loss[0] ?? NaN) - 10 * Math.pow(0.5, 1 / SELECTION_DEFAULTS.halfLife)) < 1e-9, String(s.loss[0]));
});

test('a switch needs a loss lower by more than the margin, and of equal shadows the first listed wins', () => {
  const settings = { ...SELECTION_DEFAULTS, margin: 0.5 };
  const s = newSelection(3);
  s.scored = settings.earnAfter;
  s.loss.splice(0, 3, 10, 5, 5);
  const forecasts = [flatForecast(1), flatForecast(1), flatForecast(1)];
  assert.equal(selectCandidate(s, { demand: 0, forecasts, lead: 4 }, settings), 0, 'exactly half the loss at a margin of one half: stay');
  s.loss.splice(0, 3, 10, 4, 4);
  assert.equal(selectCandidate(s, { demand: 0, forecasts, lead: 4 }, settings), 1);
  assert.equal(s.switches, 1);
});
