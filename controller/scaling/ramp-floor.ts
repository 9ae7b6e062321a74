/**
 * A floor that extrapolates a rising ramp over the time a new pod takes to serve.
 *
 * Pods ordered now serve from K+1 intervals later (`lead`). On a steady ramp (World Cup 98's match
 * starts: +5 to 8% a minute for 15 to 20 minutes) a forecaster that lags by two intervals sizes the
 * fleet one startup late. The ramp floor asks for current demand plus the median one-step rise of the
 * last `windowLeads` x lead intervals, times lead, times `multiplier`, and only while that median rise
 * is positive: a straight-line extrapolation over a short window, undamped, that says nothing while
 * demand is flat or falling. The median, not the mean, so that one spike inside the window does not
 * read as a ramp. It uses demand up to now only, and keeps no state.
 */
export interface RampFloorSettings {
  /** Window of one-step rises, in units of the lead (K+1 intervals). */
  readonly windowLeads: number;
  /** Multiplier on the extrapolated rise (1 = the median rise carried on for one lead). */
  readonly multiplier: number;
  /**
   * Acceleration: while the last two one-step rises are positive and the last is the larger, the
   * slope is also at least this multiple of the last rise (0 or absent = off). A match start that
   * turns from flat to +6-18% a minute has a median rise near 0 for the first minutes of the window.
   */
  readonly accelMultiplier?: number;
  /**
   * The acceleration counts only where the last rise is at most this share of the demand before it
   * (0.3 = +30% in one interval; 0 or absent = any): a ramp, not a 10x jump out of a flat series.
   */
  readonly accelMaxGrowth?: number;
}

/** What the ramp floor asks for now, and the demand it extrapolated. */
export interface RampFloor {
  readonly replicas: number;
  /** Extrapolated demand rate, in the unit of the demand given. */
  readonly demand: number;
  /** The median one-step rise of the window (> 0 unless the acceleration alone set the floor). */
  readonly medianRise: number;
  /** Set where the acceleration rule set the slope: the last one-step rise, times `accelMultiplier`. */
  readonly accelRise?: number;
}

/**
 * The settings measured on the dev table (docs/forecasting.md, ramp floor and fourth round): 2(K+1)
 * intervals, m = 2, and the acceleration at 1 x the last rise where it is at most +30%.
 */
export const RAMP_FLOOR_DEFAULTS: RampFloorSettings = validateRampFloorSettings(Object.freeze({ windowLeads: 2, multiplier: 2, accelMultiplier: 1, accelMaxGrowth: 0.3 }));

/** Checks settings once, at the edge, so a bad one fails with the setting named. */
export function validateRampFloorSettings(s: RampFloorSettings): RampFloorSettings {
  if (!(Number.isInteger(s.windowLeads) && s.windowLeads >= 1)) throw new Error(`ramp floor: windowLeads must be an integer >= 1 (units of K+1 intervals), got ${s.windowLeads}`);
  if (!(s.multiplier > 0 && Number.isFinite(s.multiplier))) throw new Error(`ramp floor: multiplier must be a finite number > 0, got ${s.multiplier}`);
  if (s.accelMultiplier !== undefined && !(s.accelMultiplier >= 0 && Number.isFinite(s.accelMultiplier))) throw new Error(`ramp floor: accelMultiplier must be a finite number >= 0, got ${s.accelMultiplier}`);
  if (s.accelMaxGrowth !== undefined && !(s.accelMaxGrowth >= 0 && Number.isFinite(s.accelMaxGrowth))) throw new Error(`ramp floor: accelMaxGrowth must be a finite number >= 0, got ${s.accelMaxGrowth}`);
  return s;
}

function median(xs: number[]): number {
  xs.sort((a, b) => a - b);
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

/**
 * The ramp floor at the end of the last interval of `demandRates` (oldest first), for pods that serve
 * `lead` intervals after they are ordered and replicas serving `capacity` each (same unit as demand);
 * undefined while the median rise is not positive or fewer than two intervals were seen. With a shorter
 * history than the window it uses the rises it has.
 */
export function rampFloor(demandRates: ArrayLike<number>, x: { lead: number; capacity: number }, settings: RampFloorSettings = RAMP_FLOOR_DEFAULTS): RampFloor | undefined {
  const n = demandRates.length;
  const lead = Math.max(1, x.lead);
  const rises: number[] = [];
  for (let t = n - 1; t >= 1 && rises.length < settings.windowLeads * lead; t--) rises.push(rate(demandRates[t]) - rate(demandRates[t - 1]));
  if (rises.length === 0) return undefined;
  // rises[0] is the last one-step rise, rises[1] the one before (newest first).
  const [last, before] = [rises[0] as number, rises[1]];
  const rise = median(rises);
  // Same arithmetic as before the acceleration existed, so the default's figures do not move by a bit.
  const extrapolated = rise > 0 ? rise * lead * settings.multiplier : 0;
  const previous = rate(demandRates[n - 2]);
  const growthOk = !settings.accelMaxGrowth || last <= settings.accelMaxGrowth * previous;
  const accel = settings.accelMultiplier && before !== undefined && before > 0 && last > before && growthOk ? settings.accelMultiplier * last * lead : 0;
  if (!(extrapolated > 0) && !(accel > 0)) return undefined;
  const demand = rate(demandRates[n - 1]) + Math.max(extrapolated, accel);
  // Rounds up like decide does, ignoring float noise from rate conversions.
  return { replicas: Math.max(0, Math.ceil(demand / x.capacity - 1e-9)), demand, medianRise: rise, ...(accel > extrapolated ? { accelRise: accel / lead } : {}) };
}

/** A missing or non-finite rate counts as no demand, as decide's reactive rule reads it. */
function rate(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) ? v : 0;
}
