/** A batch of series to forecast: each history is demand per interval, oldest first, the current interval last. */
export interface ForecastRequest {
  readonly histories: readonly ArrayLike<number>[];
  readonly intervalSeconds: number;
  /** Steps after the current interval to forecast (1..horizonSteps). */
  readonly horizonSteps: number;
}

/** Quantile forecasts for one series, index 0 being the interval after the current one, in the history's unit. */
export interface SeriesForecast {
  readonly p10: Float64Array;
  readonly p50: Float64Array;
  readonly p90: Float64Array;
}

/** What a forecaster returns for a batch: one forecast per history, and who made them. */
export interface ForecastBatch {
  readonly forecasts: SeriesForecast[];
  /** Name of the forecaster that produced each forecast (a fallback may answer for some series). */
  readonly sources: string[];
}

/**
 * The forecasters a policy can size fleets with. Holt-Winters is the default because it measured
 * better than the ONNX model on series neither was tuned or trained on (bench/RESULTS.md,
 * docs/forecasting.md); `model` runs the model with Holt-Winters as its fallback.
 */
export const POLICY_FORECASTERS = ['holt-winters', 'model'] as const;
export type PolicyForecaster = (typeof POLICY_FORECASTERS)[number];
export const DEFAULT_POLICY_FORECASTER: PolicyForecaster = 'holt-winters';

/** Forecasts demand quantiles for every series of a batch in one run. */
export interface Forecaster {
  readonly name: string;
  /** Description of where it runs (`onnxruntime cpu`, `onnxruntime cuda`, `typescript`). */
  readonly runsOn: string;
  /** Version string recorded in replay output (model version, or the fixed configuration's name). */
  readonly version: string;
  forecast(request: ForecastRequest): Promise<ForecastBatch>;
  close(): Promise<void>;
}

/** Builds a forecast from three arrays, keeping the quantiles ordered (p10 <= p50 <= p90) and non-negative. */
export function orderedForecast(p10: Float64Array, p50: Float64Array, p90: Float64Array): SeriesForecast {
  for (let i = 0; i < p50.length; i++) {
    const a = Math.max(0, p10[i] ?? 0);
    const b = Math.max(0, p50[i] ?? 0);
    const c = Math.max(0, p90[i] ?? 0);
    // Independently trained quantile heads may cross; sorting is the standard repair.
    p10[i] = Math.min(a, b, c);
    p90[i] = Math.max(a, b, c);
    p50[i] = a + b + c - (p10[i] ?? 0) - (p90[i] ?? 0);
  }
  return { p10, p50, p90 };
}

/** The season length in intervals that demand traces show: a day, or a week for daily data. */
export function seasonSteps(intervalSeconds: number): number {
  return intervalSeconds >= 86400 ? 7 : Math.max(1, Math.round(86400 / intervalSeconds));
}
