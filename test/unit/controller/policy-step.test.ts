// The policy step that the live loop and replay share (controller/reconcile/policy-step.ts): the cold
// start's seeded stabilization, and which runs feed the target's learning. Written for the mutants a
// run over this file left (bench/RESULTS.md): removing the seed, the finding that cost the one-hour rows
// most, failed no unit test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseForecast, policyStep, type PolicyMemory, type PolicyStepInput } from '../../../controller/reconcile/policy-step.ts';
import { DEFAULT_POLICY_SETTINGS, type ScalingPolicy } from '../../../controller/scaling/policy.ts';
import { flatForecast } from '../../helpers/forecasts.ts';

// 15 s intervals, 120 s startup (lead 9), one request/s per replica.
const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, capacityPerReplicaPerSecond: 1, startupSeconds: 120, minReplicas: 1, maxReplicas: 100 };
const input = (demand: number, currentReplicas: number, extra: Partial<PolicyStepInput> = {}): PolicyStepInput => ({
  intervalSeconds: 15,
  demandRates: Float64Array.from({ length: 40 }, () => demand),
  currentReplicas,
  forecast: flatForecast(demand, { steps: 12 }),
  source: 'test',
  ...extra,
});

test('a cold start keeps the fleet it found for the stabilization window (as the HPA seeds it), then shrinks', () => {
  const memory: PolicyMemory = { recommendations: [] };
  let replicas = 30;
  const seen: number[] = [];
  for (let t = 0; t <= 330; t += 15) {
    replicas = policyStep(memory, input(9.5, replicas), policy, t).replicas;
    seen.push(replicas);
  }
  // Demand of 9.5/s needs 10 replicas throughout (its band's 2% minimum width included); the seed at t = 0 holds 30 until it leaves the 300 s window.
  assert.deepEqual(seen.slice(0, 21), Array.from({ length: 21 }, () => 30), seen.join(' '));
  assert.equal(seen[21], 10, `at 315 s: ${seen.join(' ')}`);
  // Only the window's recommendations are kept: a scaler's memory does not grow with its age.
  assert.equal(memory.recommendations.length, 300 / 15 + 1);
});

test('the seed is for the first step only: with no stabilization window the fleet shrinks at the next step', () => {
  const noHold = { ...policy, scaleDownStabilizationSeconds: 0 };
  const memory: PolicyMemory = { recommendations: [] };
  const first = policyStep(memory, input(9.5, 30), noHold, 0);
  assert.equal(first.replicas, 30, 'the first step holds what it found');
  const second = policyStep(memory, input(9.5, 30), noHold, 15);
  assert.equal(second.replicas, 10);
});

test('a forecasting run feeds the calibration and the surge memory; a reactive-only run feeds neither and gets no ramp floor', () => {
  const rising = (t: number): PolicyStepInput => input(0, 10, { demandRates: Float64Array.from({ length: 40 }, (_, i) => 10 + i * (1 + t)), forecast: flatForecast(10, { steps: 12 }) });
  const learns: PolicyMemory = { recommendations: [] };
  const reactive: PolicyMemory = { recommendations: [] };
  let ramp: number | undefined;
  for (let t = 0; t < 30; t++) {
    policyStep(learns, rising(t), policy, t * 15);
    ramp ??= policyStep(reactive, { ...rising(t), reactiveOnly: true }, policy, t * 15).rules.ramp;
  }
  assert.equal(learns.calibration?.scored, 30 - 9, 'each forecast scored once its lead (9) had passed');
  assert.ok((learns.surges?.ratios.length ?? 0) > 0, 'demand far above a band of 10 is a surge, and its follow-through is learned');
  assert.equal(reactive.calibration?.scored ?? 0, 0);
  assert.equal(reactive.surges?.ratios.length ?? 0, 0);
  assert.equal(reactive.surges?.pending.length ?? 0, 0);
  assert.equal(ramp, undefined, 'no ramp extrapolation without forecasting');
});

test('chooseForecast: the configured forecaster in use keeps its own source', () => {
  const m: PolicyMemory = { recommendations: [] };
  const configured = { forecast: flatForecast(100, { steps: 12 }), source: 'onnx' };
  const shadow = { forecast: flatForecast(10, { steps: 12 }), source: 'holt-winters' };
  for (let t = 0; t < 30; t++) assert.equal(chooseForecast(m, { demand: 100, candidates: [configured, shadow], lead: 1 }), configured);
});

test('the step hands decide the seconds of demand per interval, so the reactive floor reads a minute of demand', () => {
  const step = (extra: Partial<PolicyStepInput>): number => policyStep({ recommendations: [] }, input(0, 1, { intervalSeconds: 1, demandRates: [400, 400, 40], forecast: flatForecast(1, { steps: 12 }), ...extra }), { ...policy, reactiveHeadroom: 1.25 }, 0).rules.reactive;
  // 1.25 x 40/s at one request/s per replica: 50; over the three 1 s ticks (mean 280): 350.
  assert.equal(step({ demandIntervalSeconds: 1800 }), 50);
  assert.equal(step({}), 350);
});
