import type { SeriesForecast } from '../../inference/forecaster.ts';
import { quantile } from '../../inference/holt-winters.ts';

/**
 * Online calibration of one target's upper band, learned from its own demand.
 *
 * Each tick's forecast for the interval its new pods first serve (lead K+1) is kept until that interval
 * is seen. Its miss is scored as a residual in band widths, r = (demand - p50) / (p90 - p50), and the
 * band used for sizing is p50 + s * (p90 - p50), where s is the empirical (1 - alpha_t) quantile of recent
 * residuals (split-conformal quantile regression, Romano et al. 2019). alpha_t itself moves after each
 * miss or hit (adaptive conformal inference, Gibbs and Candes 2021), so a target whose demand shifts
 * keeps its miss rate near the goal. Until a target has scored `earnAfter` forecasts the band is capped
 * at p50 + one band width and never wider than `warmupCapRatio` times p50: a forecaster's warm-up band
 * (Holt-Winters' runs at 3 to 4 times demand) is not trusted before it is earned.
 */
export interface CalibrationState {
  /** Forecasts waiting for the interval they predicted, oldest first: [p50, width]. */
  readonly pending: [number, number][];
  /** Recent residuals in band widths, oldest first. */
  readonly residuals: number[];
  /** The current miss-rate level alpha_t. */
  alpha: number;
  /** Forecasts scored so far. */
  scored: number;
}

/** The calibration's frozen settings. */
export interface CalibrationSettings {
  /** Target share of intervals whose demand lands above the band. */
  readonly missRate: number;
  /** Step of the adaptive level per scored forecast (gamma). */
  readonly step: number;
  /** Residuals kept; the band follows roughly this many recent intervals. */
  readonly window: number;
  /** Forecasts scored before the band may widen past its warm-up cap. */
  readonly earnAfter: number;
  /** Warm-up cap on the upper band, as a multiple of p50. */
  readonly warmupCapRatio: number;
  /**
   * Bounds of the learned band multiplier. Both are 1 by default: on out-of-sample dev rows a learned
   * multiplier bounded to [0.5, 2] or [0.5, 1.5] raised cost more than it cut unserved demand
   * (docs/forecasting.md), so only the warm-up cap is on until a bound measures better.
   */
  readonly minScale: number;
  readonly maxScale: number;
}

export const CALIBRATION_DEFAULTS: CalibrationSettings = Object.freeze({
  missRate: 0.1,
  step: 0.005,
  window: 256,
  earnAfter: 12,
  warmupCapRatio: 1.5,
  minScale: 1,
  maxScale: 1,
});

/** A new target's calibration: nothing scored yet. */
export function newCalibration(settings: CalibrationSettings = CALIBRATION_DEFAULTS): CalibrationState {
  return { pending: [], residuals: [], alpha: settings.missRate, scored: 0 };
}

/** A band's width, floored so a flat forecast still scores misses on a sensible scale. */
function widthOf(p50: number, p90: number): number {
  return Math.max(p90 - p50, 0.02 * Math.abs(p50), 1e-9);
}

/**
 * Scores the forecast made `lead` ticks ago against the demand seen now (a miss is demand above the
 * band `scale` drew, the one in force this tick), then queues this tick's forecast for step `lead`
 * (index lead - 1). Mutates and returns `state`.
 */
export function observe(state: CalibrationState, x: { demand: number; forecast: SeriesForecast; lead: number; scale: number }, settings: CalibrationSettings = CALIBRATION_DEFAULTS): CalibrationState {
  if (state.pending.length >= x.lead) {
    const [p50, width] = state.pending.shift() as [number, number];
    const r = (x.demand - p50) / width;
    const miss = r > x.scale ? 1 : 0;
    state.residuals.push(r);
    if (state.residuals.length > settings.window) state.residuals.shift();
    // ACI: after a miss the level falls (a wider band), after a hit it rises slowly; bounded so one
    // long run of misses or hits cannot push it to a degenerate band.
    state.alpha = Math.min(0.5, Math.max(0.005, state.alpha + settings.step * (settings.missRate - miss)));
    state.scored++;
  }
  const p50 = x.forecast.p50[x.lead - 1] ?? 0;
  const p90 = x.forecast.p90[x.lead - 1] ?? p50;
  state.pending.push([p50, widthOf(p50, p90)]);
  // A lead that shrank (startup changed) leaves older entries: keep the newest `lead`.
  while (state.pending.length > x.lead) state.pending.shift();
  return state;
}

/**
 * The band multiplier s in force: 1 (the forecaster's own band) until the calibration is earned, then
 * the (1 - alpha) quantile of recent residuals within the bounds. Computed once per tick; bounds that
 * pin it (the default) skip the sort, which would otherwise run for every scaler on every tick.
 */
export function scaleOf(state: CalibrationState, settings: CalibrationSettings = CALIBRATION_DEFAULTS): number {
  if (state.scored < settings.earnAfter) return 1;
  if (settings.minScale >= settings.maxScale) return settings.minScale;
  return Math.min(settings.maxScale, Math.max(settings.minScale, quantile(state.residuals, 1 - state.alpha)));
}

/**
 * The forecast with its upper band recalibrated for this target: p90 becomes p50 + s * width, and while
 * the calibration is not yet earned, no more than p50 + width and `warmupCapRatio` x p50.
 */
export function calibrated(f: SeriesForecast, state: CalibrationState, x: { scale: number }, settings: CalibrationSettings = CALIBRATION_DEFAULTS): SeriesForecast {
  const s = x.scale;
  const earned = state.scored >= settings.earnAfter;
  const p90 = new Float64Array(f.p90.length);
  for (let i = 0; i < f.p90.length; i++) {
    const mid = f.p50[i] ?? 0;
    const up = mid + s * widthOf(mid, f.p90[i] ?? mid);
    p90[i] = earned ? up : Math.min(up, Math.max(mid * settings.warmupCapRatio, mid + 1e-9));
  }
  return { p10: f.p10, p50: f.p50, p90 };
}
