// The fourth round's rules at fine intervals (docs/forecasting.md): the ramp floor's acceleration, the
// spike hold (controller/scaling/spike-hold.ts) and the forecast cap (controller/scaling/forecast-cap.ts),
// each pure, and how the policy step and decide take them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rulesRecord, rulesText } from '../../../controller/reconcile/plan.ts';
import { policyStep, type PolicyMemory } from '../../../controller/reconcile/policy-step.ts';
import { decide } from '../../../controller/scaling/decide.ts';
import { forecastCap, validateForecastCapSettings } from '../../../controller/scaling/forecast-cap.ts';
import { DEFAULT_POLICY_SETTINGS, policySettingsSchema, type ScalingPolicy } from '../../../controller/scaling/policy.ts';
import { rampFloor, validateRampFloorSettings } from '../../../controller/scaling/ramp-floor.ts';
import { spikeHold, validateSpikeHoldSettings } from '../../../controller/scaling/spike-hold.ts';
import { flatForecast } from '../../helpers/forecasts.ts';

test('acceleration: while the last two rises are positive and growing, the slope is at least a x the last rise', () => {
  // Lead 2, window 4 rises: 0, 0, 2, 6 (oldest first). Median 1: 18 + 1 x 2 x 2 = 22 without it.
  const d = [10, 10, 10, 12, 18];
  assert.equal(rampFloor(d, { lead: 2, capacity: 1 }, { windowLeads: 2, multiplier: 2 })?.demand, 22, 'median (0 + 2) / 2 = 1');
  const on = rampFloor(d, { lead: 2, capacity: 1 }, { windowLeads: 2, multiplier: 2, accelMultiplier: 1 });
  assert.deepEqual([on?.demand, on?.accelRise, on?.medianRise], [18 + 6 * 2, 6, 1]);
  assert.equal(rampFloor(d, { lead: 2, capacity: 1 }, { windowLeads: 2, multiplier: 2, accelMultiplier: 0 })?.accelRise, undefined, '0 = off');
  // It fires where the median is 0 (a flat window turning up: rises 0, 0, 0, 0, 1, 2), and not where
  // the last rise is not the larger.
  const w3 = { windowLeads: 3, multiplier: 2 };
  assert.equal(rampFloor([10, 10, 10, 10, 10, 10, 11, 13], { lead: 2, capacity: 1 }, w3), undefined);
  assert.equal(rampFloor([10, 10, 10, 10, 10, 10, 11, 13], { lead: 2, capacity: 1 }, { ...w3, accelMultiplier: 1 })?.demand, 13 + 2 * 2);
  assert.equal(rampFloor([10, 10, 10, 10, 10, 10, 12, 13], { lead: 2, capacity: 1 }, { ...w3, accelMultiplier: 1 }), undefined, 'slowing');
  assert.equal(rampFloor([10, 10, 10, 10, 10, 10, 12, 14], { lead: 2, capacity: 1 }, { ...w3, accelMultiplier: 1 }), undefined, 'steady: not growing');
  // A lone jump after a flat or falling step is no acceleration: the rise before it must be positive.
  assert.equal(rampFloor([10, 10, 10, 10, 10, 10, 10, 40], { lead: 2, capacity: 1 }, { ...w3, accelMultiplier: 1 }), undefined);
  assert.equal(rampFloor([10, 10, 10, 10, 10, 10, 9, 40], { lead: 2, capacity: 1 }, { ...w3, accelMultiplier: 1 }), undefined);
  // Under the median's own slope the acceleration changes nothing.
  assert.equal(rampFloor([0, 10, 20, 30, 41, 53], { lead: 2, capacity: 1 }, { windowLeads: 2, multiplier: 2, accelMultiplier: 1 })?.accelRise, undefined);
  // accelMaxGrowth: the last rise (6) must be at most that share of the demand before it (12): 0.5 lets it, 0.4 does not.
  assert.equal(rampFloor(d, { lead: 2, capacity: 1 }, { windowLeads: 2, multiplier: 2, accelMultiplier: 1, accelMaxGrowth: 0.5 })?.accelRise, 6);
  assert.equal(rampFloor(d, { lead: 2, capacity: 1 }, { windowLeads: 2, multiplier: 2, accelMultiplier: 1, accelMaxGrowth: 0.4 })?.demand, 22);
  assert.throws(() => validateRampFloorSettings({ windowLeads: 2, multiplier: 2, accelMultiplier: -1 }), /accelMultiplier/);
  assert.throws(() => validateRampFloorSettings({ windowLeads: 2, multiplier: 2, accelMaxGrowth: -1 }), /accelMaxGrowth/);
});

const S = { ratio: 4, intervals: 8, headroom: 1.5, baselineIntervals: 30 };

test('spike hold: a lone interval at ratio x the median before it is held at headroom x its demand for `intervals` intervals', () => {
  // Lead 2: at least 4 intervals of baseline. A lone 10x spike at index 6.
  const base = [10, 10, 10, 10, 10, 10];
  const spike = [...base, 100, 10];
  const h = spikeHold(spike, { lead: 2, capacity: 10 }, S);
  assert.deepEqual(h, { replicas: 15, peak: 100, age: 1 });
  // Held while the spike is inside the last `intervals` intervals (its own included), then not.
  assert.equal(spikeHold([...spike, 10, 10, 10, 10, 10, 10], { lead: 2, capacity: 10 }, S)?.age, 7);
  assert.equal(spikeHold([...spike, 10, 10, 10, 10, 10, 10, 10], { lead: 2, capacity: 10 }, S), undefined);
  // The current interval is not known lone yet; a crowd that stays up is not a lone spike.
  assert.equal(spikeHold([...base, 100], { lead: 2, capacity: 10 }, S), undefined);
  assert.equal(spikeHold([...base, 100, 100, 10], { lead: 2, capacity: 10 }, S), undefined);
  assert.equal(spikeHold([...base, 39, 10], { lead: 2, capacity: 10 }, S), undefined, 'under the ratio');
  assert.equal(spikeHold([...base, 40, 10], { lead: 2, capacity: 10 }, S)?.peak, 40, 'at the ratio');
  // No baseline before 2(K+1) intervals: a cold start's first minutes are not spikes.
  assert.equal(spikeHold([10, 10, 10, 100, 10], { lead: 2, capacity: 10 }, S), undefined);
  // The median, so one earlier spike in the baseline does not raise the bar; the largest spike is held.
  const two = spikeHold([...base, 60, 10, 10, 100, 10], { lead: 2, capacity: 10 }, S);
  assert.deepEqual([two?.peak, two?.age], [100, 1]);
  assert.throws(() => validateSpikeHoldSettings({ ...S, ratio: 1 }), /ratio/);
  assert.throws(() => validateSpikeHoldSettings({ ...S, intervals: 0 }), /intervals/);
  assert.throws(() => validateSpikeHoldSettings({ ...S, headroom: 0 }), /headroom/);
  assert.throws(() => validateSpikeHoldSettings({ ...S, baselineIntervals: 1.5 }), /baselineIntervals/);
});

test('spike hold: the bar is ratio x the sorted median of exactly the baseline window before the candidate', () => {
  const lone = (xs: number[], s: Partial<typeof S> = {}): number | undefined => spikeHold(xs, { lead: 1, capacity: 1 }, { ...S, ...s })?.peak;
  // Unsorted, the middle of 1, 1, 1, 50, 50, 50, 1 is 50 (bar 200); sorted it is 1 (bar 4).
  assert.equal(lone([1, 1, 1, 50, 50, 50, 1, 10, 1], { baselineIntervals: 7 }), 10);
  // An even window averages the middle two: 1, 1, 2, 6, 6, 6 has median 4, bar 16.
  assert.equal(lone([1, 1, 2, 6, 6, 6, 20, 1], { baselineIntervals: 6 }), 20);
  assert.equal(lone([1, 1, 2, 6, 6, 6, 15, 1], { baselineIntervals: 6 }), undefined);
  // An odd window takes its middle: 1, 1, 2, 6, 6 has median 2, bar 8 (the mean of 2 and 6 would be 16).
  assert.equal(lone([1, 1, 2, 6, 6, 10, 1], { baselineIntervals: 5 }), 10);
  // The window is the baselineIntervals just before the candidate, not older demand and not fewer:
  // 1, 1, 3, 3 (median 2, bar 8) holds a 10 that the last two alone (3, 3: bar 12) would not.
  assert.equal(lone([100, 100, 100, 100, 1, 1, 3, 3, 10, 1], { baselineIntervals: 4 }), 10);
  assert.equal(lone([100, 100, 100, 100, 1, 1, 3, 3, 10, 1], { baselineIntervals: 2 }), undefined);
});

test('spike hold: the largest lone spike wins wherever it came; neighbours over the bar make it a crowd; a bad sample is no spike', () => {
  const base = [10, 10, 10, 10, 10, 10];
  const h = spikeHold([...base, 100, 10, 10, 60, 10], { lead: 2, capacity: 10 }, S);
  assert.deepEqual([h?.peak, h?.age], [100, 4], 'the earlier, larger spike is held, not the latest');
  // Rising into it (the interval before is over the bar) or falling out of it slowly (the one after is).
  assert.equal(spikeHold([...base, 45, 100, 10], { lead: 2, capacity: 10 }, S), undefined);
  assert.equal(spikeHold([...base, 100, 45, 10], { lead: 2, capacity: 10 }, S), undefined);
  // Under the bar means under it: a neighbour at exactly 4 x the median (40) already counts as up.
  assert.equal(spikeHold([...base, 40, 100, 10], { lead: 2, capacity: 10 }, S), undefined);
  assert.equal(spikeHold([...base, 100, 40, 10], { lead: 2, capacity: 10 }, S), undefined);
  // A non-finite sample counts as no demand, so it never asks for infinite pods.
  assert.equal(spikeHold([...base, Infinity, 10], { lead: 2, capacity: 10 }, S), undefined);
  // The smallest settings the validation allows are accepted.
  assert.doesNotThrow(() => validateSpikeHoldSettings({ ...S, intervals: 1, baselineIntervals: 1 }));
  assert.throws(() => validateSpikeHoldSettings({ ...S, baselineIntervals: 0 }), /baselineIntervals/);
});

test('forecast cap: multiplier x the peak demand of the last windowLeads x (K+1) intervals', () => {
  assert.equal(forecastCap([100, 5, 8, 6, 7], { lead: 2 }, { multiplier: 1.5, windowLeads: 2 }), 12, 'the 100 is outside 4 intervals');
  assert.equal(forecastCap([100, 5, 8, 6, 7], { lead: 2 }, { multiplier: 1.5, windowLeads: 3 }), 150);
  assert.equal(forecastCap([], { lead: 2 }, { multiplier: 1.5, windowLeads: 2 }), undefined);
  assert.equal(forecastCap([5, Infinity, 8], { lead: 2 }, { multiplier: 1.5, windowLeads: 2 }), 12, 'a non-finite sample does not lift the cap');
  assert.throws(() => validateForecastCapSettings({ multiplier: 0.9, windowLeads: 1 }), /multiplier/);
  assert.throws(() => validateForecastCapSettings({ multiplier: 2, windowLeads: 0 }), /windowLeads/);
  assert.throws(() => validateForecastCapSettings({ multiplier: 2, windowLeads: 1.5 }), /windowLeads/);
  assert.doesNotThrow(() => validateForecastCapSettings({ multiplier: 1, windowLeads: 1 }), 'a cap at the peak itself, over one lead');
});

test('decide: the spike hold is a floor named SpikeHold where it binds; the cap lowers the forecast rule only', () => {
  const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, capacityPerReplicaPerSecond: 10, startupSeconds: 120, minReplicas: 1, maxReplicas: 100 };
  const forecast = { p50: [50, 50, 50], p90: [80, 80, 80], source: 'test' };
  const signals = { intervalSeconds: 60, demandRates: [20], currentReplicas: 2, recentRecommendations: [] };
  assert.deepEqual([decide(signals, forecast, policy, 0).replicas, decide(signals, forecast, policy, 0).reason], [8, 'Forecast']);
  const capped = decide({ ...signals, forecastCap: 30 }, forecast, policy, 0);
  assert.deepEqual([capped.replicas, capped.rules.forecast, capped.rules.forecastUncapped], [3, 3, 8]);
  // Where the cap bites the message says what the band asked for; where it does not, nothing is added.
  assert.match(rulesText(capped), /^forecast 3 \(capped from 8\) by test, /);
  assert.equal(decide({ ...signals, forecastCap: 100 }, forecast, policy, 0).rules.forecastUncapped, undefined);
  // The uncapped figure carries the headroom as the forecast rule does (80 x 1.5 / 10 = 12), so the two compare.
  const roomy = decide({ ...signals, forecastCap: 30 }, forecast, { ...policy, headroom: 1.5 }, 0);
  assert.deepEqual([roomy.rules.forecast, roomy.rules.forecastUncapped], [5, 12]);
  // No demand, no forecast and no surge: the reason is the forecast rule, never Surge.
  const idle = decide({ ...signals, demandRates: [0] }, { p50: [0, 0, 0], p90: [0, 0, 0], source: 'test' }, { ...policy, minReplicas: 0 }, 0);
  assert.deepEqual([idle.replicas, idle.surge, idle.reason], [0, false, 'Forecast']);
  const held = decide({ ...signals, forecastCap: 30, spikeHold: { replicas: 9, peak: 60, age: 2 } }, forecast, policy, 0);
  assert.deepEqual([held.replicas, held.reason, held.rules.spikeHold], [9, 'SpikeHold', 9]);
  // The decision message and GET /api/decisions name its ask.
  assert.match(rulesText(held), /reactive 2, spike hold 9, stabilized 9/);
  assert.equal(rulesRecord(held).rules.spikeHold, 9);
  assert.doesNotMatch(rulesText(capped), /spike/);
  assert.equal(decide(signals, forecast, policy, 0).rules.spikeHold, undefined);
});

test('the policy step applies spike hold and forecast cap where their interval gates reach (60 s by default), not above', () => {
  const rates = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 10, 1, 1];
  const step = (interval: number, settings: Partial<ScalingPolicy>, demandRates: number[] = rates): { replicas: number; spike: number | undefined; forecast: number } => {
    const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, capacityPerReplicaPerSecond: 1, startupSeconds: 3 * interval, minReplicas: 1, maxReplicas: 1000, ...settings };
    const memory: PolicyMemory = { recommendations: [] };
    const d = policyStep(memory, { intervalSeconds: interval, demandRates, currentReplicas: 1, forecast: flatForecast(5, { steps: 4 }), source: 'test' }, policy, 0);
    return { replicas: d.replicas, spike: d.rules.spikeHold, forecast: d.rules.forecast };
  };
  const plain = step(60, { spikeHoldMaxIntervalSeconds: 0, forecastCapMaxIntervalSeconds: 0 });
  assert.equal(plain.spike, undefined, '0 = off');
  assert.ok(plain.forecast >= 5 && plain.replicas < 12, JSON.stringify(plain));
  // On by default at 60 s and finer: 2.5 x the lone 10, two intervals ago.
  assert.deepEqual(step(60, {}), { replicas: 25, spike: 25, forecast: plain.forecast });
  assert.equal(step(15, {}).spike, 25);
  assert.deepEqual(step(60, { spikeHoldHeadroom: 1.2 }), { replicas: 12, spike: 12, forecast: plain.forecast });
  assert.equal(step(300, {}).spike, undefined, 'above the gate');
  // Cap: 1.5 x the peak of the last 4 intervals (lead 4: the 10 is 5 intervals ago) -> forecast ask 2.
  const after = [1, 1, 1, 1, 1, 1, 10, 1, 1, 1, 1, 1];
  const cap = { forecastCapMaxIntervalSeconds: 60, forecastCapMultiplier: 1.5, forecastCapWindowLeads: 1 };
  assert.equal(step(60, cap, after).forecast, 2);
  assert.equal(step(60, {}, after).forecast, 2, 'on by default: 2 x the peak of the last (K+1) intervals');
  assert.equal(step(60, { forecastCapMaxIntervalSeconds: 0 }, after).forecast, plain.forecast, '0 = off');
  assert.equal(step(60, { ...cap, forecastCapWindowLeads: 2 }, after).forecast, plain.forecast, 'the 10 inside 8 intervals: the cap of 15 does not bind');
  assert.equal(step(300, cap, after).forecast, step(300, {}, after).forecast, 'above the gate');
  for (const bad of [{ spikeHoldRatio: 1 }, { spikeHoldIntervals: 0 }, { spikeHoldHeadroom: 0 }, { forecastCapMultiplier: 0.5 }, { forecastCapWindowLeads: 0 }, { rampFloorAccelMultiplier: -1 }, { rampFloorAccelMaxGrowth: -1 }, { spikeHoldMaxIntervalSeconds: -1 }, { forecastCapMaxIntervalSeconds: -1 }]) {
    assert.equal(policySettingsSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
