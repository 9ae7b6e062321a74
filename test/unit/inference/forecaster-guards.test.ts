import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Forecaster, SeriesForecast } from '../../../inference/forecaster.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import { createSeasonalNaiveForecaster } from '../../../inference/seasonal-naive.ts';

// Guards for the statistical forecasters' shape: a trend continues in its own direction, a season
// continues in phase, and the band widens with the horizon. Each was once broken by hand while every
// other test still passed.

/** Deterministic noise in [-1, 1): the same series on every run, no seed to carry. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

const series = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

async function forecastOne(forecaster: Forecaster, history: number[], intervalSeconds: number, horizonSteps: number): Promise<SeriesForecast> {
  const batch = await forecaster.forecast({ histories: [history], intervalSeconds, horizonSteps });
  const f = batch.forecasts[0];
  assert.ok(f, 'one forecast per history');
  return f;
}

const show = (a: ArrayLike<number>): string => Array.from(a, (v) => v.toFixed(2)).join(' ');

// At 60 s a season is a day (1440 intervals): these histories are too short for one, so only level and trend act.
for (const slope of [2, -2]) {
  const direction = slope > 0 ? 'upward' : 'downward';

  // Noise ten times the slope keeps one-step errors on both sides of zero, so p50 is the damped trend line itself.
  test(`holt-winters: a noisy ${direction} ramp's median keeps moving ${direction} at every step`, async () => {
    const y = series(300, (i) => 5000 + slope * i + 10 * Math.abs(slope) * noise(i));
    const f = await forecastOne(createHoltWintersForecaster(), y, 60, 12);
    for (let h = 1; h < 12; h++) assert.ok(Math.sign((f.p50[h] ?? 0) - (f.p50[h - 1] ?? 0)) === Math.sign(slope), `p50 ${show(f.p50)}`);
  });

  // Without noise the one-step errors settle on the damped trend's lag, and step 1 re-adds exactly that lag.
  test(`holt-winters: a noise-free ${direction} ramp's step-1 median is its next value`, async () => {
    const y = series(1000, (i) => 5000 + slope * i);
    const f = await forecastOne(createHoltWintersForecaster(), y, 60, 12);
    const truth = 5000 + slope * y.length;
    assert.ok(Math.abs((f.p50[0] ?? 0) - truth) <= 0.1 * Math.abs(slope), `step 1: p50 ${f.p50[0]} vs ${truth}`);
    assert.ok((f.p10[0] ?? 0) <= truth && truth <= (f.p90[0] ?? 0), `step 1: ${truth} outside [${f.p10[0]}, ${f.p90[0]}]`);
  });
}

test('holt-winters: a noisy ramp stays inside its band for the next steps', async () => {
  const y = series(300, (i) => 500 + 2 * i + 3 * noise(i));
  const f = await forecastOne(createHoltWintersForecaster(), y, 60, 3);
  for (let h = 1; h <= 3; h++) {
    const truth = 500 + 2 * (299 + h);
    assert.ok((f.p10[h - 1] ?? 0) <= truth && truth <= (f.p90[h - 1] ?? 0), `step ${h}: ${truth} outside [${f.p10[h - 1]}, ${f.p90[h - 1]}]`);
  }
});

// At 3600 s a season is a day of 24 intervals; ten clean days leave the season's phase the only thing to get right.
test('holt-winters: a clean daily pattern continues in phase', async () => {
  const daily = (i: number): number => 100 + 50 * Math.sin((2 * Math.PI * i) / 24) + 20 * Math.cos((2 * Math.PI * i) / 8);
  const y = series(240, daily);
  const f = await forecastOne(createHoltWintersForecaster(), y, 3600, 30);
  const truth = series(30, (h) => daily(240 + h));
  // One interval out of phase is off by up to 2*pi*50/24 + 2*pi*20/8 (about 28) here; in phase it is exact.
  for (let h = 0; h < 30; h++) assert.ok(Math.abs((f.p50[h] ?? 0) - (truth[h] ?? 0)) < 1, `step ${h + 1}: p50 ${show(f.p50)}\ntruth ${show(truth)}`);
});

test('holt-winters: a noisy daily pattern keeps the true continuation inside p10..p90 most of the time', async () => {
  const daily = (i: number): number => 200 + 80 * Math.sin((2 * Math.PI * i) / 24);
  const y = series(24 * 14, (i) => daily(i) + 10 * noise(i));
  const f = await forecastOne(createHoltWintersForecaster(), y, 3600, 24);
  let inside = 0;
  for (let h = 0; h < 24; h++) {
    const truth = daily(y.length + h);
    if ((f.p10[h] ?? 0) <= truth && truth <= (f.p90[h] ?? 0)) inside++;
  }
  assert.ok(inside >= 20, `${inside} of 24 steps inside the band`);
});

/** Upper and lower band widths per step. */
function widths(f: SeriesForecast): { upper: number[]; lower: number[] } {
  const upper = Array.from(f.p90, (v, i) => v - (f.p50[i] ?? 0));
  const lower = Array.from(f.p50, (v, i) => v - (f.p10[i] ?? 0));
  return { upper, lower };
}

function assertWidens(w: number[], what: string): void {
  for (let h = 1; h < w.length; h++) assert.ok((w[h] ?? 0) >= (w[h - 1] ?? 0) - 1e-9, `${what} narrows at step ${h + 1}: ${show(w)}`);
  assert.ok((w.at(-1) ?? 0) > (w[0] ?? 0) * 1.2, `${what} does not widen with the horizon: ${show(w)}`);
}

test('holt-winters: the band widens with the horizon (noise without season or trend)', async () => {
  const y = series(400, (i) => 100 + 10 * noise(i));
  const f = await forecastOne(createHoltWintersForecaster(), y, 60, 12);
  const w = widths(f);
  assert.ok((w.upper[0] ?? 0) > 0 && (w.lower[0] ?? 0) > 0, 'noise gives a band at the first step');
  assertWidens(w.upper, 'p90 - p50');
  assertWidens(w.lower, 'p50 - p10');
});

test('holt-winters: the band of a seasonal series widens with the horizon too', async () => {
  const y = series(24 * 14, (i) => 200 + 80 * Math.sin((2 * Math.PI * i) / 24) + 10 * noise(i));
  const f = await forecastOne(createHoltWintersForecaster(), y, 3600, 12);
  const w = widths(f);
  assertWidens(w.upper, 'p90 - p50');
  assertWidens(w.lower, 'p50 - p10');
});

// With less than a season of history the seasonal-naive forecaster repeats the last value: a random
// walk's forecast, whose error grows like sqrt(h).
test(
  'seasonal-naive: the band widens with the horizon while it repeats the last value',
  async () => {
    const y = series(400, (i) => 100 + 10 * noise(i));
    const f = await forecastOne(createSeasonalNaiveForecaster(), y, 60, 12);
    const w = widths(f);
    assertWidens(w.upper, 'p90 - p50');
    assertWidens(w.lower, 'p50 - p10');
  },
);

// For steps within one season a seasonal-naive error is the one-step error (each step repeats one observed
// value); the steps of a second season repeat that season again and should be less certain.
test(
  'seasonal-naive: steps in the second season have a wider band than those in the first',
  async () => {
    // Daily data: a season is a week of 7 intervals.
    const y = series(70, (i) => 100 + 30 * Math.sin((2 * Math.PI * i) / 7) + 10 * noise(i));
    const f = await forecastOne(createSeasonalNaiveForecaster(), y, 86400, 14);
    const w = widths(f);
    for (let h = 0; h < 7; h++) {
      assert.ok((w.upper[h + 7] ?? 0) > (w.upper[h] ?? 0), `p90 - p50: ${show(w.upper)}`);
      assert.ok((w.lower[h + 7] ?? 0) > (w.lower[h] ?? 0), `p50 - p10: ${show(w.lower)}`);
    }
  },
);

test('seasonal-naive: a clean daily pattern continues in phase', async () => {
  const daily = (i: number): number => 100 + 50 * Math.sin((2 * Math.PI * i) / 24);
  const y = series(24 * 3, daily);
  const f = await forecastOne(createSeasonalNaiveForecaster(), y, 3600, 30);
  for (let h = 0; h < 30; h++) assert.ok(Math.abs((f.p50[h] ?? 0) - daily(y.length + h)) < 1e-9, `step ${h + 1}: p50 ${show(f.p50)}`);
});
