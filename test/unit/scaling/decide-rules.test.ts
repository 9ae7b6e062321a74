// decide's rules one at a time, at their edges (written for the mutants `npm run mutate` found
// surviving in decide.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, type ScalingForecast, type ScalingSignals } from '../../../controller/scaling/decide.ts';
import { DEFAULT_POLICY_SETTINGS, type ScalingPolicy } from '../../../controller/scaling/policy.ts';

const policy = (x: Partial<ScalingPolicy> = {}): ScalingPolicy => ({ ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, capacityPerReplicaPerSecond: 10, startupSeconds: 30, minReplicas: 1, maxReplicas: 100, ...x });
const signals = (current: number, replicas: number, x: Partial<ScalingSignals> = {}): ScalingSignals => ({ intervalSeconds: 15, demandRates: [current], currentReplicas: replicas, recentRecommendations: [], ...x });
const forecast = (p50: number, p90: number, x: Partial<ScalingForecast> = {}): ScalingForecast => ({ p50: [p50, p50, p50], p90: [p90, p90, p90], source: 't', ...x });

test('direction and the recommendation kept for stabilization', () => {
  const up = decide(signals(50, 2), forecast(50, 60), policy(), 1000);
  assert.deepEqual([up.replicas, up.direction], [6, 'up']);
  assert.deepEqual(up.recommendation, { atSeconds: 1000, replicas: 6 });
  const down = decide(signals(10, 5), forecast(10, 10), policy(), 1000);
  assert.deepEqual([down.replicas, down.direction], [1, 'down']);
  const hold = decide(signals(50, 6), forecast(50, 60), policy(), 1000);
  assert.equal(hold.direction, 'hold');
});

test('headroom multiplies the forecast and reactiveHeadroom current demand', () => {
  assert.equal(decide(signals(10, 1), forecast(90, 100), policy({ headroom: 1.5 }), 0).rules.forecast, 15);
  assert.equal(decide(signals(50, 1), forecast(10, 10), policy({ reactiveHeadroom: 2 }), 0).rules.reactive, 10);
});

test('reactiveHeadroom multiplies the last minute\'s mean demand; current demand is always a floor', () => {
  const h = policy({ reactiveHeadroom: 1.25 });
  // At 15 s the minute is the last 4 intervals: mean 40, x1.25 = 50/s, 5 replicas, though the current interval is 20.
  assert.equal(decide(signals(20, 1, { demandRates: [99, 60, 40, 40, 20] }), forecast(1, 1), h, 0).rules.reactive, 5);
  // One burst interval is a quarter of the minute: 160 now over 0, 0, 0 is a mean of 40 (5 pods), but current demand asks 16.
  assert.equal(decide(signals(160, 1, { demandRates: [0, 0, 0, 160] }), forecast(1, 1), h, 0).rules.reactive, 16);
  // At 1 minute the minute is the current interval: 40 x 1.25 = 50/s; the interval before is not read.
  assert.equal(decide(signals(40, 1, { intervalSeconds: 60, demandRates: [400, 40] }), forecast(1, 1), h, 0).rules.reactive, 5);
  // Demand replayed 1800x faster than real time (forecastTimeScale): a 1 s tick holds 30 minutes of
  // demand, so the minute is the current interval; without saying so, it would be the last 60 ticks.
  const fast = { intervalSeconds: 1, demandRates: [400, 400, 40] };
  assert.equal(decide(signals(40, 1, { ...fast, demandIntervalSeconds: 1800 }), forecast(1, 1), h, 0).rules.reactive, 5);
  assert.equal(decide(signals(40, 1, fast), forecast(1, 1), h, 0).rules.reactive, 35);
  // A history shorter than the minute is averaged over what there is; the defaults are this rule at 1.25.
  assert.equal(decide(signals(40, 1, { demandRates: [80, 40] }), forecast(1, 1), h, 0).rules.reactive, 8);
  // No demand history yet (a scaler's first read failed): the floor asks for nothing, not NaN.
  assert.equal(decide(signals(0, 1, { demandRates: [] }), forecast(1, 1), h, 0).rules.reactive, 0);
  assert.equal(DEFAULT_POLICY_SETTINGS.reactiveHeadroom, 1.25);
});

test('quantile p50 sizes by p50, p90 by p90', () => {
  assert.equal(decide(signals(10, 1), forecast(40, 90), policy({ quantile: 'p50' }), 0).rules.forecast, 4);
  assert.equal(decide(signals(10, 1), forecast(40, 90), policy({ quantile: 'p90' }), 0).rules.forecast, 9);
});

test('a surge is demand strictly above the band forecast for now times surgeBandFactor', () => {
  const band = { bandNow: { p50: 40, p90: 50 } };
  assert.equal(decide(signals(50, 5), forecast(40, 50, band), policy(), 0).surge, false, 'at the band: not a surge');
  assert.equal(decide(signals(51, 5), forecast(40, 50, band), policy(), 0).surge, true);
  assert.equal(decide(signals(90, 5), forecast(40, 50, band), policy({ surgeBandFactor: 2 }), 0).surge, false);
  const s = decide(signals(80, 8), forecast(40, 50, { ...band, surgeMultiplier: 1.5 }), policy(), 0);
  assert.deepEqual([s.rules.surge, s.reason], [12, 'Surge']);
});

test('a healing floor binds until, not at, its expiry', () => {
  const floor = { replicas: 8, expiresAtSeconds: 1000, reason: 'drain' };
  assert.deepEqual([decide(signals(10, 8), forecast(10, 10), policy({ floor }), 999).replicas, decide(signals(10, 8), forecast(10, 10), policy({ floor }), 999).reason], [8, 'Floor']);
  assert.notEqual(decide(signals(10, 8), forecast(10, 10), policy({ floor }), 1000).reason, 'Floor');
});

test('the stabilization window is inclusive: a recommendation exactly one window old still holds', () => {
  const recent = [{ atSeconds: 700, replicas: 9 }];
  assert.equal(decide(signals(10, 9, { recentRecommendations: recent }), forecast(10, 10), policy(), 1000).replicas, 9);
  assert.equal(decide(signals(10, 9, { recentRecommendations: recent }), forecast(10, 10), policy(), 1001).replicas, 1);
});

test('the scale-up limit: double or +4 per 15 s, and exactly at the limit is not limited', () => {
  const at = decide(signals(60, 2), forecast(60, 60), policy(), 0);
  assert.deepEqual([at.replicas, at.reason], [6, 'Forecast']);
  const over = decide(signals(70, 2), forecast(70, 70), policy(), 0);
  assert.deepEqual([over.replicas, over.reason], [6, 'ScaleUpLimited']);
});

test('the scale-down rate: 100% a minute is no limit, and below it a small fleet still loses one pod per tick', () => {
  assert.equal(decide(signals(10, 20), forecast(10, 10), policy({ scaleDownPercentPerMinute: 100 }), 0).replicas, 1);
  const limited = decide(signals(10, 3), forecast(10, 10), policy({ scaleDownPercentPerMinute: 10 }), 0);
  assert.deepEqual([limited.replicas, limited.reason], [2, 'ScaleDownLimited']);
  assert.equal(decide(signals(0, 0), forecast(0, 0), policy({ scaleDownPercentPerMinute: 10, minReplicas: 0 }), 0).replicas, 0);
});

// Written for the survivors of the 2026-12-07 run over decide.ts alone: a rule, guard, floor or
// panic that changes nothing must not be the one named, and must not lower the decision.

test('a healing floor below the decision leaves it alone; one equal to it is not named', () => {
  const at = (replicas: number) => policy({ floor: { replicas, expiresAtSeconds: 1000, reason: 'drain' } });
  const below = decide(signals(60, 6), forecast(60, 60), at(3), 0);
  assert.deepEqual([below.replicas, below.reason], [6, 'Forecast']);
  const equal = decide(signals(60, 6), forecast(60, 60), at(6), 0);
  assert.deepEqual([equal.replicas, equal.reason], [6, 'Forecast']);
});

test('panic, and a guard that is not calm, are named only where they changed the decision', () => {
  // The fleet already has what every rule asks: nothing was skipped or held.
  const panic = decide(signals(60, 6, { guards: [{ name: 'queue', replicas: 6, panic: true }] }), forecast(60, 60), policy(), 0);
  assert.deepEqual([panic.replicas, panic.reason], [6, 'Forecast']);
  const restless = decide(signals(60, 6, { guards: [{ name: 'queue', replicas: 6, calm: false }] }), forecast(60, 60), policy(), 0);
  assert.deepEqual([restless.replicas, restless.reason], [6, 'Forecast']);
  // Where they do: a scale-down held, a scale-up past the limit.
  assert.equal(decide(signals(10, 6, { guards: [{ name: 'queue', replicas: 1, calm: false }] }), forecast(10, 10), policy(), 0).reason, 'GuardNotCalm');
  assert.deepEqual(decide(signals(10, 1, { guards: [{ name: 'queue', replicas: 20, panic: true }] }), forecast(10, 10), policy(), 0).replicas, 20);
});

test('the highest guard is the one recorded (the first of equals); a guard equal to another rule is not named', () => {
  const two = decide(signals(10, 9, { guards: [{ name: 'a', replicas: 3 }, { name: 'b', replicas: 9 }] }), forecast(10, 10), policy(), 0);
  assert.deepEqual([two.replicas, two.reason, two.rules.guard?.name], [9, 'Guard', 'b']);
  const equal = decide(signals(10, 9, { guards: [{ name: 'a', replicas: 9 }, { name: 'b', replicas: 9 }] }), forecast(10, 10), policy(), 0);
  assert.equal(equal.rules.guard?.name, 'a');
  const tie = decide(signals(60, 6, { guards: [{ name: 'a', replicas: 6 }] }), forecast(60, 60), policy(), 0);
  assert.deepEqual([tie.replicas, tie.reason], [6, 'Forecast']);
});

test('a spike hold, a campaign or a surge under another rule is not named', () => {
  // The forecast asks 10, current demand 2: a floor of 5 is under the forecast, not between nothing.
  const spike = decide(signals(20, 10, { spikeHold: { replicas: 5, peak: 50, age: 1 } }), forecast(100, 100), policy(), 0);
  assert.deepEqual([spike.replicas, spike.reason], [10, 'Forecast']);
  const campaign = decide(signals(20, 10, { campaign: { window: 'launch', replicas: 5, baseline: 20, multiplier: 2 } }), forecast(100, 100), policy(), 0);
  assert.deepEqual([campaign.replicas, campaign.reason], [10, 'Forecast']);
  // Demand broke above the band, but with headroom 2 the forecast asks more than the surge's 1.3.
  const surge = decide(signals(51, 40, {}), forecast(200, 200, { bandNow: { p50: 40, p90: 50 } }), policy({ headroom: 2 }), 0);
  assert.deepEqual([surge.surge, surge.rules.surge, surge.replicas, surge.reason], [true, 26, 40, 'Forecast']);
});

test('the rules record lists only the floors that ran', () => {
  const plain = decide(signals(60, 6), forecast(60, 60), policy(), 0);
  assert.deepEqual(Object.keys(plain.rules), ['forecast', 'reactive', 'surge', 'stabilized']);
  const all = decide(
    signals(60, 6, { learnedFloor: { replicas: 2, headroom: 1, windowIntervals: 4 }, rampFloor: { replicas: 3, demand: 30, medianRise: 1 }, spikeHold: { replicas: 4, peak: 40, age: 0 }, campaign: { window: 'w', replicas: 5, baseline: 60, multiplier: 1 } }),
    forecast(60, 60),
    policy(),
    0,
  );
  assert.deepEqual(Object.keys(all.rules), ['forecast', 'reactive', 'surge', 'stabilized', 'learnedFloor', 'ramp', 'spikeHold', 'campaign']);
  assert.deepEqual([all.rules.learnedFloor, all.rules.ramp, all.rules.spikeHold, all.rules.campaign], [2, 3, 4, { window: 'w', replicas: 5 }]);
});
