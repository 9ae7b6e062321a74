// What a target learns of its own demand, as values: the follow-through of its surges
// (surge-memory.ts) and the calibration of its band (calibration.ts); and the policy's documented
// defaults. Written for the mutants `npm run mutate` found surviving (bench/RESULTS.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CALIBRATION_DEFAULTS, calibrated, newCalibration, observe, scaleOf } from '../../../controller/scaling/calibration.ts';
import { DEFAULT_POLICY_SETTINGS, policySettingsSchema } from '../../../controller/scaling/policy.ts';
import { newSurgeMemory, observeSurge, surgeMultiplier } from '../../../controller/scaling/surge-memory.ts';
import { quantile } from '../../../inference/holt-winters.ts';
import { createSeasonalNaiveForecaster } from '../../../inference/seasonal-naive.ts';
import { flatForecast } from '../../helpers/forecasts.ts';

test('surge memory: a surge is scored `lead` ticks later as demand then over demand at the surge', () => {
  const m = newSurgeMemory();
  observeSurge(m, { demand: 100, surge: true, lead: 3 });
  assert.deepEqual(m.pending, [[3, 100]]);
  observeSurge(m, { demand: 150, surge: false, lead: 3 });
  observeSurge(m, { demand: 170, surge: false, lead: 3 });
  assert.deepEqual(m.ratios, [], 'not yet: two ticks of three');
  observeSurge(m, { demand: 180, surge: false, lead: 3 });
  assert.deepEqual(m.ratios, [1.8]);
  assert.deepEqual(m.pending, []);
  // A tick without a surge, or a surge on zero demand, records nothing.
  observeSurge(m, { demand: 0, surge: true, lead: 3 });
  observeSurge(m, { demand: 50, surge: false, lead: 3 });
  assert.deepEqual(m.pending.length, 0);
});

test('surge memory: the configured multiplier until five surges were scored, then their 75th percentile within [1, 3]', () => {
  const m = newSurgeMemory();
  for (const r of [1.2, 1.5, 2, 2.5]) m.ratios.push(r);
  assert.equal(surgeMultiplier(m, 1.3), 1.3, 'four surges: the configured one');
  m.ratios.push(1.1);
  assert.equal(surgeMultiplier(m, 1.3), 2, 'the 75th percentile of 1.1, 1.2, 1.5, 2, 2.5');
  const low = newSurgeMemory();
  low.ratios.push(0.2, 0.3, 0.4, 0.5, 0.6);
  assert.equal(surgeMultiplier(low, 1.3), 1, 'a surge never plans below the demand it broke with');
  const high = newSurgeMemory();
  high.ratios.push(5, 6, 7, 8, 9);
  assert.equal(surgeMultiplier(high, 1.3), 3, 'a runaway ratio is capped');
});

test('surge memory: only the last 64 follow-throughs count', () => {
  const m = newSurgeMemory();
  for (let i = 0; i < 64; i++) observeSurge(m, { demand: 10, surge: true, lead: 1 });
  observeSurge(m, { demand: 10, surge: false, lead: 1 });
  assert.equal(m.ratios.length, 64);
  for (let i = 0; i < 10; i++) {
    observeSurge(m, { demand: 10, surge: true, lead: 1 });
    observeSurge(m, { demand: 30, surge: false, lead: 1 });
  }
  assert.equal(m.ratios.length, 64);
  assert.equal(m.ratios.at(-1), 3);
});

test('surge memory: after the lead shrinks, each surge is still scored at its own lead', () => {
  // A shorter startup makes a newer surge due before an older one; it must not wait behind it and be
  // scored against later demand.
  const m = newSurgeMemory();
  observeSurge(m, { demand: 100, surge: true, lead: 4 });
  observeSurge(m, { demand: 50, surge: true, lead: 1 });
  observeSurge(m, { demand: 80, surge: false, lead: 1 });
  assert.deepEqual(m.ratios, [1.6], 'the lead-1 surge, one tick later');
  assert.deepEqual(m.pending, [[2, 100]]);
  observeSurge(m, { demand: 90, surge: false, lead: 1 });
  observeSurge(m, { demand: 120, surge: false, lead: 1 });
  assert.deepEqual(m.ratios, [1.6, 1.2], 'the lead-4 surge, four ticks after it');
  assert.deepEqual(m.pending, []);
});

test('calibration: each forecast is scored when its lead has passed, in band widths; a miss lowers the level, a hit raises it', () => {
  const s = newCalibration();
  assert.equal(s.alpha, CALIBRATION_DEFAULTS.missRate);
  observe(s, { demand: 0, forecast: flatForecast(100, { p90: 120, steps: 4 }), lead: 2, scale: 1 });
  observe(s, { demand: 0, forecast: flatForecast(100, { p90: 120, steps: 4 }), lead: 2, scale: 1 });
  assert.equal(s.scored, 0, 'nothing reached its interval yet');
  // Demand 150 against p50 100 and width 20: 2.5 widths, above the band (a miss).
  observe(s, { demand: 150, forecast: flatForecast(100, { p90: 120, steps: 4 }), lead: 2, scale: 1 });
  assert.equal(s.scored, 1);
  assert.deepEqual(s.residuals, [2.5]);
  assert.ok(Math.abs(s.alpha - (0.1 + 0.005 * (0.1 - 1))) < 1e-12, String(s.alpha));
  // 110: half a width, a hit.
  observe(s, { demand: 110, forecast: flatForecast(100, { p90: 120, steps: 4 }), lead: 2, scale: 1 });
  assert.deepEqual(s.residuals, [2.5, 0.5]);
  assert.ok(s.alpha > 0.1 + 0.005 * (0.1 - 1));
  assert.equal(s.pending.length, 2, 'only the newest `lead` forecasts wait');
});

test('calibration: the band width never collapses to zero (2% of p50 at least), and the level stays within [0.005, 0.5]', () => {
  const s = newCalibration();
  observe(s, { demand: 0, forecast: flatForecast(1000, { p90: 1000, steps: 4 }), lead: 1, scale: 1 });
  observe(s, { demand: 1010, forecast: flatForecast(1000, { p90: 1000, steps: 4 }), lead: 1, scale: 1 });
  assert.deepEqual(s.residuals, [0.5], 'a flat band is 20 wide at p50 1000');
  const t = newCalibration();
  for (let i = 0; i < 2000; i++) observe(t, { demand: 1e6, forecast: flatForecast(1, { p90: 2, steps: 4 }), lead: 1, scale: 1 });
  assert.equal(t.alpha, 0.005);
  assert.equal(t.residuals.length, CALIBRATION_DEFAULTS.window, 'only the last window of residuals');
});

test('calibration: the multiplier is 1 until earned, pinned by equal bounds, and a quantile of residuals within them otherwise', () => {
  const s = newCalibration();
  for (let i = 0; i < 11; i++) s.residuals.push(3);
  s.scored = 11;
  assert.equal(scaleOf(s), 1, 'not earned: 11 of 12');
  s.scored = 12;
  assert.equal(scaleOf(s), 1, 'earned, but the default bounds pin it to 1');
  const open = { ...CALIBRATION_DEFAULTS, minScale: 0.5, maxScale: 2 };
  assert.equal(scaleOf(s, open), 2, 'residuals of 3 widths, capped at 2');
  s.residuals.splice(0, s.residuals.length, ...Array.from({ length: 20 }, (_, i) => i / 20));
  const q = scaleOf(s, open);
  assert.ok(q > 0.5 && q < 1, String(q));
});

test('calibration: until earned the upper band is capped at 1.5x p50; after, p90 is p50 plus the scaled width', () => {
  const f = flatForecast(100, { p90: 400, steps: 2 });
  const s = newCalibration();
  assert.deepEqual([...calibrated(f, s, { scale: 1 }).p90], [150, 150]);
  s.scored = CALIBRATION_DEFAULTS.earnAfter;
  assert.deepEqual([...calibrated(f, s, { scale: 1 }).p90], [400, 400]);
  assert.deepEqual([...calibrated(f, s, { scale: 0.5 }).p90], [250, 250]);
});

test('calibration: demand exactly at the band is served, a hit; the forecast kept is the step at the lead', () => {
  const s = newCalibration();
  observe(s, { demand: 0, forecast: flatForecast(100, { p90: 110, steps: 4 }), lead: 1, scale: 1 });
  observe(s, { demand: 110, forecast: flatForecast(100, { p90: 110, steps: 4 }), lead: 1, scale: 1 });
  assert.deepEqual(s.residuals, [1]);
  assert.ok(Math.abs(s.alpha - (0.1 + 0.005 * 0.1)) < 1e-12, `a hit raises the level: ${s.alpha}`);
  const stepped = { p10: Float64Array.from([10, 20, 30, 40]), p50: Float64Array.from([10, 20, 30, 40]), p90: Float64Array.from([15, 30, 45, 60]) };
  const t = newCalibration();
  observe(t, { demand: 0, forecast: stepped, lead: 3, scale: 1 });
  assert.deepEqual(t.pending, [[30, 15]], 'step 3 of 4: p50 30, width 15');
});

test('calibration: when the lead shrinks only the newest forecasts wait, so the next score is the newest one', () => {
  const s = newCalibration();
  for (const p50 of [100, 200, 300]) observe(s, { demand: 0, forecast: flatForecast(p50, { p90: p50 + 10, steps: 4 }), lead: 3, scale: 1 });
  assert.equal(s.pending.length, 3);
  observe(s, { demand: 0, forecast: flatForecast(400, { p90: 410, steps: 4 }), lead: 1, scale: 1 });
  assert.deepEqual(s.pending, [[400, 10]]);
  observe(s, { demand: 405, forecast: flatForecast(500, { p90: 510, steps: 4 }), lead: 1, scale: 1 });
  assert.deepEqual(s.residuals, [-10, 0.5], 'the oldest was scored at the shrink, then the newest');
});

test('calibration: with open bounds the multiplier is still 1 until earned, then the (1 - alpha) quantile of residuals', () => {
  const open = { ...CALIBRATION_DEFAULTS, minScale: 0, maxScale: 10 };
  const s = newCalibration(open);
  s.residuals.push(...Array.from({ length: 20 }, (_, i) => 3 + i / 20));
  s.scored = open.earnAfter - 1;
  assert.equal(scaleOf(s, open), 1, 'not earned: the band the forecaster drew');
  s.scored = open.earnAfter;
  assert.equal(scaleOf(s, open), quantile(s.residuals, 0.9));
  assert.ok(scaleOf(s, open) < Math.max(...s.residuals), 'not the largest residual');
});

test('seasonal-naive: p90 sits above and p10 below the repeated value, by the one-season error quantiles', async () => {
  // One season of 24 steps repeated, then a noisy copy: errors of +-4 around the last season.
  const base = Array.from({ length: 24 }, (_, i) => 100 + 10 * Math.sin(i / 4));
  const y = [...base, ...base.map((v, i) => v + (i % 2 === 0 ? 4 : -4)), ...base.map((v, i) => v + (i % 2 === 0 ? -4 : 4))];
  const out = await createSeasonalNaiveForecaster().forecast({ histories: [Float64Array.from(y)], intervalSeconds: 3600, horizonSteps: 2 });
  const f = out.forecasts[0];
  assert.ok(f);
  const last = y.length - 24;
  assert.equal(f.p50[0], y[last]);
  assert.ok((f.p90[0] ?? 0) >= (y[last] ?? 0) + 7.9, `p90 ${f.p90[0]} should be about 8 above ${y[last]}`);
  assert.ok((f.p10[0] ?? 0) <= (y[last] ?? 0) - 7.9, `p10 ${f.p10[0]} should be about 8 below ${y[last]}`);
  assert.equal(out.sources[0], 'seasonal-naive');
});

test('the policy defaults are what docs/forecasting.md and the benchmark say', () => {
  assert.deepEqual({ ...DEFAULT_POLICY_SETTINGS }, { headroom: 1, quantile: 'p90', reactiveHeadroom: 1.25, surgeBandFactor: 1, surgeHeadroom: 1.3, scaleDownStabilizationSeconds: 300, scaleDownPercentPerMinute: 100, scaleUpPodsPer15s: 4, scaleUpPercentPer15s: 100, learnedFloorMaxIntervalSeconds: 0, learnedFloorBudget: 1, rampFloorMaxIntervalSeconds: 60, rampFloorMultiplier: 2, rampFloorWindowLeads: 2, rampFloorAccelMultiplier: 1, rampFloorAccelMaxGrowth: 0.3, spikeHoldMaxIntervalSeconds: 60, spikeHoldRatio: 4, spikeHoldIntervals: 8, spikeHoldHeadroom: 2.5, spikeHoldBaselineIntervals: 30, forecastCapMaxIntervalSeconds: 60, forecastCapMultiplier: 2, forecastCapWindowLeads: 1 });
  for (const bad of [{ headroom: 0.5 }, { headroom: 11 }, { quantile: 'p99' }, { reactiveHeadroom: 0.9 }, { surgeBandFactor: 0.5 }, { surgeHeadroom: 0.9 }, { scaleDownStabilizationSeconds: -1 }, { scaleDownStabilizationSeconds: 86400 * 8 }, { scaleDownPercentPerMinute: 0 }, { scaleDownPercentPerMinute: 101 }, { scaleUpPodsPer15s: 0 }, { scaleUpPodsPer15s: 1.5 }, { scaleUpPercentPer15s: 0 }, { learnedFloorMaxIntervalSeconds: -1 }, { learnedFloorBudget: 0 }, { rampFloorMaxIntervalSeconds: -1 }, { rampFloorMultiplier: 0 }, { rampFloorMultiplier: 11 }, { rampFloorWindowLeads: 0 }, { rampFloorWindowLeads: 2.5 }, { extra: 1 }]) {
    assert.equal(policySettingsSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.equal(policySettingsSchema.safeParse({ headroom: 10, scaleDownStabilizationSeconds: 0, scaleDownPercentPerMinute: 100 }).success, true);
});

test('every policy default, written out in a policy file, is accepted and means the same', () => {
  // zod does not check a default against its own bounds: a bound that excluded it would refuse only
  // the user who copied the defaults into a file.
  assert.deepEqual(policySettingsSchema.parse({ ...DEFAULT_POLICY_SETTINGS }), { ...DEFAULT_POLICY_SETTINGS });
  assert.equal(policySettingsSchema.parse({ quantile: 'p50' }).quantile, 'p50');
  assert.equal(policySettingsSchema.parse({ scaleDownStabilizationSeconds: 86400 * 7 }).scaleDownStabilizationSeconds, 86400 * 7, 'a week is the longest hold');
});
