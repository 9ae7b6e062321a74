// The panic window in replay (pure): replay/panic-guard.ts reads demand per replica through the live
// guardNeed, and runPolicy with `panic` hands it to the same decide the controller runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { panicGuard } from '../../../replay/panic-guard.ts';
import { runPolicy } from '../../../replay/engine.ts';
import type { ForecastRequest, Forecaster } from '../../../inference/forecaster.ts';
import { DEFAULT_POLICY_SETTINGS } from '../../../controller/scaling/policy.ts';

/** Forecasts the last value for every step: a flat, causal fake. */
const lastValue: Forecaster = {
  name: 'last-value',
  runsOn: 'typescript',
  version: 'last-value',
  forecast: async (r: ForecastRequest) => ({
    forecasts: r.histories.map((h) => {
      const v = Float64Array.from({ length: r.horizonSteps }, () => h[h.length - 1] ?? 0);
      return { p10: v, p50: v, p90: v };
    }),
    sources: r.histories.map(() => 'last-value'),
  }),
  close: async () => {},
};

test('panicGuard: panic at twice a replica capacity per existing replica, calm at or under it', () => {
  assert.deepEqual(panicGuard(20, 1, 10), { name: 'demand', replicas: 2, detail: '20 per the query, target 10 per replica', panic: true, calm: false });
  assert.equal(panicGuard(19.9, 1, 10).panic, false);
  assert.equal(panicGuard(19.9, 1, 10).calm, false);
  assert.equal(panicGuard(30, 3, 10).calm, true);
  // No pods: demand is spread over one, so any demand at 2x a replica is panic.
  assert.equal(panicGuard(25, 0, 10).panic, true);
  assert.equal(panicGuard(-5, 2, 10).replicas, 0);
});

test('panicGuard rejects a capacity that is not above 0', () => {
  assert.throws(() => panicGuard(1, 1, 0), /capacity per replica must be above 0, got 0/);
  assert.throws(() => panicGuard(1, 1, Number.NaN), /got NaN/);
});

const params = { intervalSeconds: 15, capacity: 150, startupSteps: 1, minReplicas: 1, maxReplicas: 1000, settings: DEFAULT_POLICY_SETTINGS };

test('replay --panic: a 50x step is met at once instead of through the scale-up limit', async () => {
  const demand = [...Array<number>(40).fill(300), ...Array<number>(10).fill(15000)];
  const off = await runPolicy({ forecaster: lastValue }, demand, params);
  const on = await runPolicy({ forecaster: lastValue }, demand, { ...params, panic: true });
  assert.ok((off.targets[40] as number) < 100, `without panic the scale-up limit binds (${off.targets[40]})`);
  assert.equal(off.reasonPerInterval[40], 'ScaleUpLimited');
  assert.ok((on.targets[40] as number) >= 100, `with panic the fleet covers the step at once (${on.targets[40]})`);
  assert.equal(on.reasonPerInterval[40], 'Panic');
  // Before the step nothing differs.
  assert.deepEqual(on.targets.slice(0, 40), off.targets.slice(0, 40));
});

test('replay --panic: the calm rule never holds a fleet in replay (demand above capacity per replica already asks for more)', async () => {
  const demand = [...Array<number>(40).fill(3000), ...Array<number>(20).fill(0), ...Array<number>(20).fill(1200)];
  const on = await runPolicy({ forecaster: lastValue }, demand, { ...params, panic: true });
  const off = await runPolicy({ forecaster: lastValue }, demand, params);
  assert.deepEqual(on.targets, off.targets);
  assert.equal(on.reasons.GuardNotCalm, undefined);
});
