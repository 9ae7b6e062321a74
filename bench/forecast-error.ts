import { seasonSteps, type Forecaster } from '../inference/forecaster.ts';

/** Forecast error at one horizon, scaled so that 1 is the seasonal-naive rule's mean absolute error. */
export interface ForecastError {
  /** Mean absolute error of p50 over the seasonal-naive MAE. */
  readonly mase: number;
  /** Pinball loss of p90 on the same scale. */
  readonly pinball: number;
  /** Share of points at or under p90 (0.9 when the band is calibrated). */
  readonly coverage: number;
}

/** Windows forecast per batched call. */
const BATCH = 512;

/**
 * Scores a forecaster on a whole series, causally (each forecast sees only the past), at horizon k+1.
 * The series never trained the forecaster being scored: the benchmark scores only such series, so no
 * train/validation split is needed and every point counts.
 */
export async function forecastError(f: Forecaster, demand: readonly number[], intervalSeconds: number, k: number): Promise<ForecastError> {
  const n = demand.length;
  const season = seasonSteps(intervalSeconds);
  const m = season < Math.floor(n / 2) ? season : 1;
  let scale = 0;
  for (let i = m; i < n; i++) scale += Math.abs((demand[i] ?? 0) - (demand[i - m] ?? 0));
  scale = scale / (n - m) || 1;
  const series = Float64Array.from(demand);
  let ae = 0;
  let pin = 0;
  let covered = 0;
  let count = 0;
  // Start after one season (or 48 intervals) of history, where every forecaster has something to read.
  for (let start = Math.min(n - 1, Math.max(48, m)); start < n - 1 - k; start += BATCH) {
    const ts: number[] = [];
    for (let t = start; t < Math.min(n - 1 - k, start + BATCH); t++) ts.push(t);
    const out = await f.forecast({ histories: ts.map((t) => series.subarray(0, t + 1)), intervalSeconds, horizonSteps: k + 1 });
    ts.forEach((t, j) => {
      const y = demand[t + 1 + k] ?? 0;
      const fc = out.forecasts[j];
      ae += Math.abs(y - (fc?.p50[k] ?? 0));
      const e = y - (fc?.p90[k] ?? 0);
      pin += Math.max(0.9 * e, -0.1 * e);
      if (e <= 0) covered++;
      count++;
    });
  }
  const c = count || 1;
  return { mase: ae / c / scale, pinball: pin / c / scale, coverage: covered / c };
}
