import type { Forecaster } from './forecaster.ts';
import { createHoltWintersForecaster } from './holt-winters.ts';
import { createSeasonalNaiveForecaster } from './seasonal-naive.ts';

/** The statistical forecasters by name, one line each in alphabetical order (the model is loaded by load.ts). */
export const statisticalForecasters: Readonly<Record<string, () => Forecaster>> = Object.freeze({
  'holt-winters': () => createHoltWintersForecaster(),
  'seasonal-naive': () => createSeasonalNaiveForecaster(),
});

export type { Forecaster, ForecastBatch, ForecastRequest, SeriesForecast } from './forecaster.ts';
export { loadForecaster, loadPolicyForecaster, defaultModelPath } from './load.ts';
export { DEFAULT_POLICY_FORECASTER, POLICY_FORECASTERS, type PolicyForecaster } from './forecaster.ts';
