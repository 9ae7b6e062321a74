import { orderedForecast, seasonSteps, type ForecastBatch, type ForecastRequest, type Forecaster } from './forecaster.ts';
import { quantile } from './holt-winters.ts';

/** How much recent history the seasonal-naive band is estimated from, in seasons. */
const BAND_SEASONS = 2;

/**
 * Creates the seasonal-naive forecaster (a comparison baseline): each step repeats the value one season
 * earlier (a day; a week for daily data), or the last value while history is shorter than a season.
 * Its band comes from the same rule's recent errors.
 */
export function createSeasonalNaiveForecaster(): Forecaster {
  return {
    name: 'seasonal-naive',
    runsOn: 'typescript',
    version: 'seasonal-naive(day; week for daily data)',
    forecast(request: ForecastRequest): Promise<ForecastBatch> {
      const forecasts = request.histories.map((h) => forecastOne(h, request.intervalSeconds, request.horizonSteps));
      return Promise.resolve({ forecasts, sources: forecasts.map(() => 'seasonal-naive') });
    },
    close: () => Promise.resolve(),
  };
}

function forecastOne(y: ArrayLike<number>, intervalSeconds: number, steps: number): ReturnType<typeof orderedForecast> {
  const n = y.length;
  const season = seasonSteps(intervalSeconds);
  const m = n >= season + 1 ? season : 1;
  const errors: number[] = [];
  for (let i = Math.max(m, n - BAND_SEASONS * Math.max(season, 50)); i < n; i++) errors.push((y[i] ?? 0) - (y[i - m] ?? 0));
  const lo = quantile(errors, 0.1);
  const hi = quantile(errors, 0.9);
  const p10 = new Float64Array(steps);
  const p50 = new Float64Array(steps);
  const p90 = new Float64Array(steps);
  for (let h = 1; h <= steps; h++) {
    // Steps beyond one season repeat the last season again (index wraps into the observed season).
    const idx = n - m + ((h - 1) % m);
    const v = y[idx] ?? y[n - 1] ?? 0;
    // A step k seasons ahead adds k one-season errors (a random walk over seasons; over single steps
    // while it repeats the last value), so its band grows like sqrt(k), not flat at the one-step band.
    const k = Math.sqrt(Math.floor((h - 1) / m) + 1);
    p50[h - 1] = v;
    p10[h - 1] = v + k * lo;
    p90[h - 1] = v + k * hi;
  }
  return orderedForecast(p10, p50, p90);
}
