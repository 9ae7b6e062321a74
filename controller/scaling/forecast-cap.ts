/**
 * A cap on the forecast rule's ask at fine intervals: at most `multiplier` x the highest demand of the
 * last `windowLeads` x (K+1) intervals.
 *
 * After a flash crowd ends, Holt-Winters' band stays wide for the rest of the fitting window (its
 * residuals were the crowd), so the fleet keeps 8 to 24 pods for 15 minutes where demand needs one
 * (World Cup 98, 05-12 hour). Rises that the cap cuts off are the ramp floor's and the surge rule's to
 * cover, which read demand, not the band. Pure: demand up to now only.
 */
export interface ForecastCapSettings {
  readonly multiplier: number;
  /** Window of recent demand whose peak the cap multiplies, in units of the lead (K+1 intervals). */
  readonly windowLeads: number;
}

export function validateForecastCapSettings(s: ForecastCapSettings): ForecastCapSettings {
  if (!(s.multiplier >= 1 && Number.isFinite(s.multiplier))) throw new Error(`forecast cap: multiplier must be a finite number >= 1, got ${s.multiplier}`);
  if (!(Number.isInteger(s.windowLeads) && s.windowLeads >= 1)) throw new Error(`forecast cap: windowLeads must be an integer >= 1, got ${s.windowLeads}`);
  return s;
}

/** The highest forecast rate the forecast rule may size for now; undefined with no demand seen. */
export function forecastCap(demandRates: ArrayLike<number>, x: { lead: number }, s: ForecastCapSettings): number | undefined {
  const n = demandRates.length;
  if (n === 0) return undefined;
  let peak = 0;
  for (let i = Math.max(0, n - s.windowLeads * Math.max(1, x.lead)); i < n; i++) {
    const v = demandRates[i];
    if (v !== undefined && Number.isFinite(v)) peak = Math.max(peak, v);
  }
  return s.multiplier * peak;
}
