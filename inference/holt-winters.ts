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

function forecastOne(y: ArrayLike<number>, intervalSeconds: number, steps: number, c: HoltWintersConfig): ReturnType<typeof orderedForecast> {
  const start = Math.max(0, y.length - c.maxWindow);
  const m = detectSeason(y, start, intervalSeconds, c.seasonalityThreshold);
  const season = new Float64Array(Math.max(1, m));
  let level = y[start] ?? 0;
  let trend = 0;
  let from = start + 1;
  if (m > 0) {
    // Initial level and season from the first full season of the window.
    let mean = 0;
    for (let i = 0; i < m; i++) mean += y[start + i] ?? 0;
    mean /= m;
    for (let i = 0; i < m; i++) season[i] = (y[start + i] ?? 0) - mean;
    level = mean;
    from = start + m;
  }
  const errors: number[] = [];
  for (let i = from; i < y.length; i++) {
    const s = m > 0 ? (season[(i - start) % m] ?? 0) : 0;
    const pred = level + c.phi * trend + s;
    const v = y[i] ?? 0;
    errors.push(v - pred);
    const prevLevel = level;
    level = c.alpha * (v - s) + (1 - c.alpha) * (prevLevel + c.phi * trend);
    trend = c.beta * (level - prevLevel) + (1 - c.beta) * c.phi * trend;
    if (m > 0) season[(i - start) % m] = c.gamma * (v - level) + (1 - c.gamma) * s;
  }
  // The band follows recent behaviour: the last few hundred one-step errors, not the whole window.
  const recent = errors.slice(-512);
  const lo = quantile(recent, 0.1);
  const hi = quantile(recent, 0.9);
  const p10 = new Float64Array(steps);
  const p50 = new Float64Array(steps);
  const p90 = new Float64Array(steps);
  let damp = 0;
  for (let h = 1; h <= steps; h++) {
    damp += c.phi ** h;
    const mid = level + damp * trend + (m > 0 ? (season[(y.length - start + h - 1) % m] ?? 0) : 0);
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
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
}
