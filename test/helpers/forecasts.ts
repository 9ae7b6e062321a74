import type { SeriesForecast } from '../../inference/forecaster.ts';

/**
 * A forecast that is the same at every step: p50, with p90 and p10 at p50 unless given. The scaling
 * and forecaster tests' common input, where only the level and the band's width matter; `steps` must
 * reach the lead the test runs at (3 by default).
 */
export function flatForecast(p50: number, o: { p90?: number; p10?: number; steps?: number } = {}): SeriesForecast {
  const steps = o.steps ?? 3;
  return { p10: new Float64Array(steps).fill(o.p10 ?? p50), p50: new Float64Array(steps).fill(p50), p90: new Float64Array(steps).fill(o.p90 ?? p50) };
}
