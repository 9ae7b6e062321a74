/**
 * Campaign windows: demand an operator knows is coming (a launch, a match, a push notification),
 * written in the PredictiveScaler's `spec.schedule`. No forecaster can see such a step in the past, so
 * the window is one more rule of the raw recommendation, not a change to the forecast: the forecast
 * cap at fine intervals (controller/scaling/forecast-cap.ts) bounds the forecast to 2x recent demand
 * and would otherwise cut a 3x campaign to 2x. The live loop and replay run it through the same
 * policy step, so `surgeguard replay --schedule` shows what a calendar would have done.
 */

/** One window, its times in seconds on the clock the policy step is given. */
export interface CampaignWindow {
  readonly name: string;
  readonly startSeconds: number;
  readonly durationSeconds: number;
  /** Demand in the window is the level before it times this. */
  readonly demandMultiplier: number;
  /** How long before the start the capacity is to be serving. */
  readonly prescaleSeconds: number;
}

/** What the window that is on asks for now. */
export interface CampaignAsk {
  readonly window: string;
  readonly replicas: number;
  /** The demand rate the window multiplies (remembered when it first applied). */
  readonly baseline: number;
  readonly multiplier: number;
}

/** The default pre-scale time, as the CRD's schema defaults it. */
export const DEFAULT_PRESCALE_SECONDS = 600;

/**
 * The window that is on at `nowSeconds`: from `prescaleSeconds` plus the pods' startup before its
 * start (pods ordered then serve by start - prescale) to its end. Of several, the largest multiplier.
 */
export function activeWindow(windows: readonly CampaignWindow[], nowSeconds: number, startupSeconds: number): CampaignWindow | undefined {
  let best: CampaignWindow | undefined;
  for (const w of windows) {
    const from = w.startSeconds - w.prescaleSeconds - startupSeconds;
    if (nowSeconds >= from && nowSeconds < w.startSeconds + w.durationSeconds && (!best || w.demandMultiplier > best.demandMultiplier)) best = w;
  }
  return best;
}

/**
 * What a campaign asks for at the end of the last interval of `demandRates`, or undefined where no
 * window is on. The window multiplies the level demand had when it first applied, remembered in
 * `baselines` (by window name), so the campaign's own rise is not multiplied again; that level is the
 * median of the last `lead` intervals, so one noisy interval is not tripled. Baselines of windows that
 * are no longer on are dropped, so a window renamed or moved to another day starts afresh.
 */
export function campaignFloor(
  windows: readonly CampaignWindow[],
  baselines: Map<string, number>,
  x: { nowSeconds: number; startupSeconds: number; demandRates: ArrayLike<number>; lead: number; capacity: number; headroom: number },
): CampaignAsk | undefined {
  const w = activeWindow(windows, x.nowSeconds, x.startupSeconds);
  for (const name of baselines.keys()) if (name !== w?.name) baselines.delete(name);
  if (!w) return undefined;
  let baseline = baselines.get(w.name);
  if (baseline === undefined) {
    baseline = recentMedian(x.demandRates, Math.max(1, x.lead));
    baselines.set(w.name, baseline);
  }
  // Rounds up like decide does, ignoring float noise from rate conversions.
  const replicas = Math.max(0, Math.ceil((baseline * w.demandMultiplier * x.headroom) / x.capacity - 1e-9));
  return { window: w.name, replicas, baseline, multiplier: w.demandMultiplier };
}

/** The median of the last `n` values (fewer if the history is shorter); 0 for none. */
function recentMedian(xs: ArrayLike<number>, n: number): number {
  const from = Math.max(0, xs.length - n);
  const v: number[] = [];
  for (let i = from; i < xs.length; i++) {
    const x = xs[i];
    v.push(x !== undefined && Number.isFinite(x) ? x : 0);
  }
  if (v.length === 0) return 0;
  v.sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}
