import type { SeriesForecast } from '../../inference/forecaster.ts';

/**
 * Per-target forecaster selection in shadow.
 *
 * Every tick each candidate forecaster (the model, Holt-Winters, ...) forecasts the target; the one
 * in use sizes the fleet, the others run in shadow. Each candidate's forecast for the interval new
 * pods first serve (lead K+1) is kept until that interval is seen, then scored by the pinball loss
 * of its p90 at q = 0.9: the loss of sizing a fleet on that band, where demand above it (unserved)
 * costs nine times what the same amount of idle capacity costs. The scores are exponentially
 * weighted (recent traffic counts most), and the target switches to a candidate only when it has
 * been scored `earnAfter` times and its loss is below the one in use by more than `margin`, so a
 * single lucky interval cannot flap the choice. All state is the target's own and causal: at the
 * end of interval t it has seen demand up to t only.
 */
export interface SelectionState {
  /** Per queued tick, each candidate's p90 at the lead, oldest first. */
  readonly pending: number[][];
  /** Exponentially weighted pinball loss per candidate (NaN until scored). */
  readonly loss: number[];
  scored: number;
  /** Index of the candidate in use. */
  chosen: number;
  /** Times the choice changed. */
  switches: number;
}

export interface SelectionSettings {
  /** Scored intervals after which a score counts half. */
  readonly halfLife: number;
  /** Intervals scored before the first switch. */
  readonly earnAfter: number;
  /** Relative loss improvement needed to switch (0.1 = 10% lower). */
  readonly margin: number;
}

export const SELECTION_DEFAULTS: SelectionSettings = Object.freeze({ halfLife: 48, earnAfter: 12, margin: 0.1 });

/** A target's selection before anything is scored: the first candidate (the configured forecaster) in use. */
export function newSelection(candidates: number): SelectionState {
  return { pending: [], loss: Array.from({ length: candidates }, () => NaN), scored: 0, chosen: 0, switches: 0 };
}

/** Pinball loss of `forecast` for quantile q when `actual` happened. */
export function pinball(actual: number, forecast: number, q: number): number {
  const d = actual - forecast;
  return d >= 0 ? q * d : (q - 1) * d;
}

/**
 * Scores the forecasts made `lead` ticks ago against `demand` seen now, queues this tick's, and
 * returns the index of the candidate to use this tick. Mutates `state`.
 */
export function selectCandidate(state: SelectionState, x: { demand: number; forecasts: readonly SeriesForecast[]; lead: number }, settings: SelectionSettings = SELECTION_DEFAULTS): number {
  if (x.forecasts.length !== state.loss.length) throw new Error(`selection: ${x.forecasts.length} candidates, state for ${state.loss.length}`);
  if (state.pending.length >= x.lead) {
    const old = state.pending.shift() as number[];
    const w = 1 - Math.pow(0.5, 1 / settings.halfLife);
    for (let c = 0; c < state.loss.length; c++) {
      const l = pinball(x.demand, old[c] ?? 0, 0.9);
      const prev = state.loss[c] as number;
      state.loss[c] = Number.isNaN(prev) ? l : prev + w * (l - prev);
    }
    state.scored++;
  }
  state.pending.push(x.forecasts.map((f) => f.p90[x.lead - 1] ?? f.p90[f.p90.length - 1] ?? 0));
  while (state.pending.length > x.lead) state.pending.shift();
  if (state.scored >= settings.earnAfter) {
    let best = state.chosen;
    for (let c = 0; c < state.loss.length; c++) if ((state.loss[c] as number) < (state.loss[best] as number)) best = c;
    if (best !== state.chosen && (state.loss[best] as number) < (1 - settings.margin) * (state.loss[state.chosen] as number)) {
      state.chosen = best;
      state.switches++;
    }
  }
  return state.chosen;
}
