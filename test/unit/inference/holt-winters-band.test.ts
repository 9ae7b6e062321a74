// Holt-Winters keeps only its last 512 one-step errors, in a typed array sorted natively, where it
// once kept every error in a number[] and sorted copies with a comparator (the controller's largest
// source of garbage at 1,000 scalers; docs/scale.md "Memory"). The band must not have moved: this
// writes the method out plainly, the old way, and requires the same numbers to the bit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { orderedForecast, seasonSteps } from '../../../inference/forecaster.ts';
import { HOLT_WINTERS_DEFAULTS, createHoltWintersForecaster, detectSeason } from '../../../inference/holt-winters.ts';

/** Additive Holt-Winters with a damped trend, as the module documents it, written for reading rather than speed. */
function plainForecast(y: readonly number[], intervalSeconds: number, steps: number): { p10: number[]; p50: number[]; p90: number[] } {
  const c = HOLT_WINTERS_DEFAULTS;
  const start = Math.max(0, y.length - c.maxWindow);
  const m = detectSeason(y, start, intervalSeconds, c.seasonalityThreshold);
  const season: number[] = [];
  let level = y[start] ?? 0;
  let trend = 0;
  if (m > 0) {
    const first = y.slice(start, start + m);
    level = first.reduce((a, b) => a + b, 0) / m;
    for (const v of first) season.push(v - level);
  }
  const errors: number[] = [];
  for (let i = start + Math.max(1, m); i < y.length; i++) {
    const s = m > 0 ? (season[(i - start) % m] as number) : 0;
    const v = y[i] as number;
    errors.push(v - (level + c.phi * trend + s));
    const prev = level;
    level = c.alpha * (v - s) + (1 - c.alpha) * (prev + c.phi * trend);
    trend = c.beta * (level - prev) + (1 - c.beta) * c.phi * trend;
    if (m > 0) season[(i - start) % m] = c.gamma * (v - level) + (1 - c.gamma) * s;
  }
  const recent = errors.slice(-512).sort((a, b) => a - b);
  const rank = (q: number): number => (recent.length === 0 ? 0 : (recent[Math.min(recent.length - 1, Math.max(0, Math.ceil(q * recent.length) - 1))] as number));
  const out = { p10: [] as number[], p50: [] as number[], p90: [] as number[] };
  let damp = 0;
  for (let h = 1; h <= steps; h++) {
    damp += c.phi ** h;
    const mid = level + damp * trend + (m > 0 ? (season[(y.length - start + h - 1) % m] as number) : 0);
    out.p50.push(mid);
    out.p10.push(mid + rank(0.1) * Math.sqrt(h));
    out.p90.push(mid + rank(0.9) * Math.sqrt(h));
  }
  return out;
}

test('Holt-Winters: forecast and band equal the plain method to the bit, around the 512-error and season boundaries', async () => {
  const hw = createHoltWintersForecaster();
  // 300 s intervals: a daily season of 288 steps, so lengths up to 1,200 cover no season, a season,
  // fewer and more than 512 errors, and lengths past 2,048 a fit that starts inside the history;
  // values with spikes and repeats (ties in the sort).
  const interval = 300;
  assert.equal(seasonSteps(interval), 288);
  let seasonalFits = 0;
  await fc.assert(
    fc.asyncProperty(
      // Up to 1,200, and past the 2,048-interval window, where the fit starts later than the history.
      fc.oneof(fc.integer({ min: 0, max: 1200 }), fc.integer({ min: 2040, max: 2700 })),
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.boolean(),
      async (n, seed, seasonal) => {
        const y = Array.from({ length: n }, (_, i) => {
          const x = Math.sin((i + seed) * 12.9898) * 43758.5453;
          const noise = x - Math.floor(x);
          // Spikes of 500 on the seasonal series would hide its season from detectSeason (2 of 800
          // such series fitted one), and the seasonal fit would go untested: 150 there.
          return Math.round((seasonal ? 100 + 60 * Math.sin((2 * Math.PI * i) / 288) : 100 + i * 0.05) + 40 * noise) + (noise > 0.98 ? (seasonal ? 150 : 500) : 0);
        });
        if (detectSeason(y, Math.max(0, n - HOLT_WINTERS_DEFAULTS.maxWindow), interval, HOLT_WINTERS_DEFAULTS.seasonalityThreshold) > 0) seasonalFits++;
        const got = (await hw.forecast({ histories: [y], intervalSeconds: interval, horizonSteps: 24 })).forecasts[0];
        assert.ok(got);
        // Both go through the shared repair (no negative demand, quantiles in order).
        const plain = plainForecast(y, interval, 24);
        const want = orderedForecast(Float64Array.from(plain.p10), Float64Array.from(plain.p50), Float64Array.from(plain.p90));
        for (const q of ['p10', 'p50', 'p90'] as const) assert.deepEqual(Array.from(got[q]), Array.from(want[q]), `${q} at n=${n}`);
      },
    ),
    { numRuns: 60, seed: 21 },
  );
  // The comparison covered the seasonal fit (its initial season, its updates and its phase), not only level and trend.
  assert.ok(seasonalFits >= 10, `only ${seasonalFits} of 60 histories fitted a season`);
});
