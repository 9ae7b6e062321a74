// The details of the statistical forecasters that the plain-method comparison in
// holt-winters-band.test.ts cannot see, because that comparison calls the same `detectSeason` and reads
// the same defaults as the module: when a season is used, the nearest-rank quantile, the name replay
// prints, and the seasonal-naive forecaster's window, band and phase. A mutation run over
// inference/holt-winters.ts and inference/seasonal-naive.ts (2026-12-07) left these untested.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderedForecast, seasonSteps } from '../../../inference/forecaster.ts';
import { HOLT_WINTERS_DEFAULTS, createHoltWintersForecaster, detectSeason, quantile } from '../../../inference/holt-winters.ts';
import { createSeasonalNaiveForecaster } from '../../../inference/seasonal-naive.ts';

/** Deterministic noise in [-1, 1). */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

/** Lag-m autocorrelation of y[start..], the textbook estimator: deviations from the window's mean, over their sum of squares. */
function autocorrelation(y: readonly number[], start: number, m: number): number {
  const w = y.slice(start);
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < w.length; i++) {
    den += ((w[i] as number) - mean) ** 2;
    if (i >= m) num += ((w[i] as number) - mean) * ((w[i - m] as number) - mean);
  }
  return num / den;
}

const DAY = 86400;

test('detectSeason: a week at daily intervals once two weeks and two days are there, not one day sooner', () => {
  assert.equal(seasonSteps(DAY), 7);
  const weekly = (n: number): number[] => Array.from({ length: n }, (_, i) => 100 + 40 * Math.sin((2 * Math.PI * i) / 7) + noise(i));
  assert.equal(detectSeason(weekly(16), 0, DAY, 0.3), 7);
  assert.equal(detectSeason(weekly(15), 0, DAY, 0.3), 0, 'under 2m + 2 intervals there is no season');
  // A window that starts later counts only what follows it.
  assert.equal(detectSeason(weekly(20), 4, DAY, 0.3), 7);
  assert.equal(detectSeason(weekly(20), 5, DAY, 0.3), 0);
  // Intervals of a day or more use the weekly season; a season of one interval is none.
  assert.equal(detectSeason(weekly(40), 0, 2 * DAY, 0.3), 7, 'two-day intervals still use the weekly season');
  assert.equal(detectSeason([1, 5, 1, 5, 1, 5, 1, 5], 0, 86400 * 0.75, -1), 0, 'a season of one interval (86,400 / 64,800 rounds to 1) is none');
});

test('detectSeason: the threshold is the lag-m autocorrelation of the window, inclusive', () => {
  // A season plus noise, after ten alternating days that do not follow it: only y[start..] counts
  // (from 0 they make the autocorrelation negative).
  const y = Array.from({ length: 60 }, (_, i) => (i < 10 ? 500 * (i % 2) : 100 + 20 * Math.sin((2 * Math.PI * i) / 7) + 15 * noise(i)));
  for (const start of [0, 10]) {
    const r = autocorrelation(y, start, 7);
    assert.ok(Math.abs(r) < 1, `r = ${r}`);
    assert.equal(detectSeason(y, start, DAY, r), 7, `at exactly r = ${r} from ${start}`);
    assert.equal(detectSeason(y, start, DAY, r + 1e-9), 0, `just above r = ${r} from ${start}`);
  }
  assert.notEqual(autocorrelation(y, 0, 7).toFixed(6), autocorrelation(y, 10, 7).toFixed(6), 'the start changes the answer');
  // A flat window has no variance: no season, not NaN against the threshold.
  assert.equal(detectSeason(Array.from({ length: 30 }, () => 4), 0, DAY, -1), 0);
  // No season in noise alone, by the default threshold.
  assert.equal(
    detectSeason(
      Array.from({ length: 200 }, (_, i) => 100 + 30 * noise(i)),
      0,
      DAY,
      HOLT_WINTERS_DEFAULTS.seasonalityThreshold,
    ),
    0,
  );
});

test('quantile: nearest rank of a copy, ends included, 0 for none', () => {
  const values = [50, 10, 40, 20, 30];
  assert.equal(quantile(values, 0.1), 10);
  assert.equal(quantile(values, 0.2), 10, 'ceil(0.2 x 5) = 1: the first');
  assert.equal(quantile(values, 0.21), 20, 'ceil(1.05) = 2: the second');
  assert.equal(quantile(values, 0.5), 30);
  assert.equal(quantile(values, 0.9), 50);
  assert.equal(quantile(values, 0), 10);
  assert.equal(quantile(values, 1), 50);
  assert.equal(quantile([-3, -1, -2], 0.5), -2, 'sorted as numbers');
  assert.equal(quantile([9, 100, 25], 0.5), 25, 'as numbers, not as text');
  assert.deepEqual(values, [50, 10, 40, 20, 30], 'the input is not sorted in place');
  assert.equal(quantile([], 0.9), 0);
});

test('Holt-Winters names its configuration, as replay prints it, and forecasts a season in phase at daily intervals', async () => {
  const hw = createHoltWintersForecaster();
  assert.equal(hw.name, 'holt-winters');
  assert.equal(hw.runsOn, 'typescript');
  assert.equal(hw.version, 'holt-winters(a=0.3,b=0.02,g=0.15,phi=0.9)');
  const weekly = (i: number): number => 100 + 40 * Math.sin((2 * Math.PI * i) / 7);
  const y = Array.from({ length: 70 }, (_, i) => weekly(i));
  const batch = await hw.forecast({ histories: [y, y.map((v) => v * 2)], intervalSeconds: DAY, horizonSteps: 9 });
  assert.deepEqual(batch.sources, ['holt-winters', 'holt-winters']);
  const f = batch.forecasts[0];
  assert.ok(f);
  for (let h = 0; h < 9; h++) assert.ok(Math.abs((f.p50[h] ?? 0) - weekly(70 + h)) < 0.5, `step ${h + 1}: ${f.p50[h]} against ${weekly(70 + h)}`);
  assert.ok(Math.abs((batch.forecasts[1]?.p50[0] ?? 0) - 2 * weekly(70)) < 1, 'each history forecast on its own');
  await hw.close();
});

/** The seasonal-naive method as its module documents it, written out plainly for a short daily series. */
function plainSeasonalNaive(y: readonly number[], steps: number): { p10: number[]; p50: number[]; p90: number[] } {
  const n = y.length;
  const m = n >= 8 ? 7 : 1;
  // The band's errors: the last two seasons of at least 50 intervals each, so the last 100 here.
  const errors: number[] = [];
  for (let i = Math.max(m, n - 100); i < n; i++) errors.push((y[i] as number) - (y[i - m] as number));
  const sorted = [...errors].sort((a, b) => a - b);
  const rank = (q: number): number => (sorted.length === 0 ? 0 : (sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number));
  const out = { p10: [] as number[], p50: [] as number[], p90: [] as number[] };
  for (let h = 1; h <= steps; h++) {
    const v = y[n - m + ((h - 1) % m)] as number;
    const seasonsAhead = Math.floor((h - 1) / m) + 1;
    out.p50.push(v);
    out.p10.push(v + Math.sqrt(seasonsAhead) * rank(0.1));
    out.p90.push(v + Math.sqrt(seasonsAhead) * rank(0.9));
  }
  return out;
}

test('seasonal-naive: the value a season back, a band from the last two seasons of errors widening each season, the last value before a season', async () => {
  const sn = createSeasonalNaiveForecaster();
  assert.equal(sn.name, 'seasonal-naive');
  assert.equal(sn.runsOn, 'typescript');
  const weeklyish = (i: number): number => 200 + 60 * Math.sin((2 * Math.PI * i) / 7) + 25 * noise(i) + (i % 5 === 0 ? 40 : 0);
  // 130 days: a burst early on (days 10 and 17) is outside the 100-day band window and must not set the band.
  const long = Array.from({ length: 130 }, (_, i) => weeklyish(i) + (i === 10 || i === 17 ? 5000 : 0));
  for (const y of [long, long.slice(0, 20), long.slice(0, 8), long.slice(0, 7), long.slice(0, 2)]) {
    const batch = await sn.forecast({ histories: [y], intervalSeconds: DAY, horizonSteps: 16 });
    assert.deepEqual(batch.sources, ['seasonal-naive']);
    const got = batch.forecasts[0];
    assert.ok(got);
    const plain = plainSeasonalNaive(y, 16);
    const want = orderedForecast(Float64Array.from(plain.p10), Float64Array.from(plain.p50), Float64Array.from(plain.p90));
    for (const q of ['p10', 'p50', 'p90'] as const) {
      for (let h = 0; h < 16; h++) assert.ok(Math.abs((got[q][h] ?? NaN) - (want[q][h] ?? NaN)) < 1e-9, `${q} step ${h + 1} with ${y.length} days: ${got[q][h]} against ${want[q][h]}`);
    }
  }
  // The burst would have set the band had the window reached it.
  const f = (await sn.forecast({ histories: [long], intervalSeconds: DAY, horizonSteps: 1 })).forecasts[0];
  assert.ok(f && (f.p90[0] ?? 0) - (f.p50[0] ?? 0) < 500, `p90 ${f?.p90[0]} p50 ${f?.p50[0]}`);
});
