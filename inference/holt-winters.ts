import { orderedForecast, seasonSteps, type ForecastBatch, type ForecastRequest, type Forecaster } from './forecaster.ts';

/** The one frozen configuration of the statistical fallback; its name goes into replay output. */
export interface HoltWintersConfig {
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
  /** Trend damping per step (1 = undamped). */
  readonly phi: number;
  /** Autocorrelation at the season lag needed to use a seasonal model. */
  readonly seasonalityThreshold: number;
  /** Most intervals of history fitted per forecast (the fit is O(window)). */
  readonly maxWindow: number;
}

export const HOLT_WINTERS_DEFAULTS: HoltWintersConfig = Object.freeze({
  alpha: 0.3,
  beta: 0.02,
  gamma: 0.15,
  phi: 0.9,
  seasonalityThreshold: 0.3,
  maxWindow: 2048,
});

/**
 * Creates the Holt-Winters fallback: additive level, damped trend and (when the history shows it)
 * a daily season (weekly for daily data), with bands from its own one-step errors. Pure TypeScript,
 * so it answers when the model cannot.
 */
export function createHoltWintersForecaster(_deps: object = {}, config: HoltWintersConfig = HOLT_WINTERS_DEFAULTS): Forecaster {
  return {
    name: 'holt-winters',
    runsOn: 'typescript',
    version: `holt-winters(a=${config.alpha},b=${config.beta},g=${config.gamma},phi=${config.phi})`,
    forecast(request: ForecastRequest): Promise<ForecastBatch> {
      const forecasts = request.histories.map((h) => forecastOne(h, request.intervalSeconds, request.horizonSteps, config));
      return Promise.resolve({ forecasts, sources: forecasts.map(() => 'holt-winters') });
    },
    close: () => Promise.resolve(),
  };
}

/** The season length a history shows (0 for none): the calendar season when its autocorrelation is strong enough. */
export function detectSeason(y: ArrayLike<number>, start: number, intervalSeconds: number, threshold: number): number {
  const m = seasonSteps(intervalSeconds);
  const n = y.length - start;
  if (m < 2 || n < 2 * m + 2) return 0;
  let mean = 0;
  for (let i = start; i < y.length; i++) mean += y[i] ?? 0;
  mean /= n;
  let num = 0;
  let den = 0;
  for (let i = start; i < y.length; i++) {
    const a = (y[i] ?? 0) - mean;
    den += a * a;
    if (i - m >= start) num += a * ((y[i - m] ?? 0) - mean);
  }
  return den > 0 && num / den >= threshold ? m : 0;
}

/** How many of the latest one-step errors set the band. */
const BAND_ERRORS = 512;

/** The smoothed state at the end of a history, and its latest one-step errors sorted ascending. */
interface Fit {
  level: number;
  trend: number;
  /** Season length (0 for none) and its offsets; the offset for step h ahead is at (`phase` + h - 1) % m. */
  m: number;
  season: Float64Array;
  phase: number;
  errors: Float64Array;
}

function fit(y: ArrayLike<number>, intervalSeconds: number, c: HoltWintersConfig): Fit {
  const start = Math.max(0, y.length - c.maxWindow);
  const m = detectSeason(y, start, intervalSeconds, c.seasonalityThreshold);
  const season = new Float64Array(Math.max(1, m));
  let level = m > 0 ? initialSeason(y, start, season) : (y[start] ?? 0);
  let trend = 0;
  const from = start + Math.max(1, m);
  // The band follows recent behaviour: the last BAND_ERRORS one-step errors, not the whole window.
  // They go straight into one typed array, sorted natively: the earlier number[] of every error, its
  // slice and two comparator sorts allocated about 170 KB per scaler per tick, most of the
  // controller's garbage at 1,000 scalers (docs/scale.md "Memory").
  const errors = new Float64Array(Math.min(BAND_ERRORS, Math.max(0, y.length - from)));
  const firstKept = y.length - errors.length;
  for (let i = from; i < y.length; i++) {
    const s = m > 0 ? (season[(i - start) % m] ?? 0) : 0;
    const pred = level + c.phi * trend + s;
    const v = y[i] ?? 0;
    if (i >= firstKept) errors[i - firstKept] = v - pred;
    const prevLevel = level;
    level = c.alpha * (v - s) + (1 - c.alpha) * (prevLevel + c.phi * trend);
    trend = c.beta * (level - prevLevel) + (1 - c.beta) * c.phi * trend;
    if (m > 0) season[(i - start) % m] = c.gamma * (v - level) + (1 - c.gamma) * s;
  }
  return { level, trend, m, season, phase: y.length - start, errors: errors.sort() };
}

/** Fills `season` from the first full season at `start`, as offsets from its mean; returns the mean (the initial level). */
function initialSeason(y: ArrayLike<number>, start: number, season: Float64Array): number {
  const m = season.length;
  let mean = 0;
  for (let i = 0; i < m; i++) mean += y[start + i] ?? 0;
  mean /= m;
  for (let i = 0; i < m; i++) season[i] = (y[start + i] ?? 0) - mean;
  return mean;
}

function forecastOne(y: ArrayLike<number>, intervalSeconds: number, steps: number, c: HoltWintersConfig): ReturnType<typeof orderedForecast> {
  const { level, trend, m, season, phase, errors } = fit(y, intervalSeconds, c);
  const lo = sortedQuantile(errors, 0.1);
  const hi = sortedQuantile(errors, 0.9);
  const p10 = new Float64Array(steps);
  const p50 = new Float64Array(steps);
  const p90 = new Float64Array(steps);
  let damp = 0;
  for (let h = 1; h <= steps; h++) {
    damp += c.phi ** h;
    const mid = level + damp * trend + (m > 0 ? (season[(phase + h - 1) % m] ?? 0) : 0);
    // One-step error quantiles widened like a random walk's: a plain, frozen rule.
    const widen = Math.sqrt(h);
    p50[h - 1] = mid;
    p10[h - 1] = mid + lo * widen;
    p90[h - 1] = mid + hi * widen;
  }
  return orderedForecast(p10, p50, p90);
}

/** Nearest-rank quantile of a list (0 for an empty one). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  return sortedQuantile([...values].sort((a, b) => a - b), q);
}

/** Nearest-rank quantile of values sorted ascending (0 for none). */
function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}
