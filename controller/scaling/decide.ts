import type { ScalingPolicy } from './policy.ts';

/** What the controller measured for one target, as rates per second on a fixed interval. */
export interface ScalingSignals {
  readonly intervalSeconds: number;
  /** Demand in requests per second for each interval, oldest first; the last entry is the current interval. */
  readonly demandRates: ArrayLike<number>;
  /** Pods that exist now (serving or starting). */
  readonly currentReplicas: number;
  /** Earlier raw recommendations, newest last; `decide` uses those inside the stabilization window. */
  readonly recentRecommendations: readonly Recommendation[];
}

/** One raw recommendation, kept for scale-down stabilization. */
export interface Recommendation {
  readonly atSeconds: number;
  readonly replicas: number;
}

/** Forecast demand rates (requests per second) for the intervals after the current one (index 0 = next). */
export interface ScalingForecast {
  readonly p50: ArrayLike<number>;
  readonly p90: ArrayLike<number>;
  /** The band forecast for the current interval one interval ago, to notice demand breaking above it. */
  readonly bandNow?: { readonly p50: number; readonly p90: number };
  readonly source: string;
}

/** The rule that set the final replica count. */
export type DecisionReason =
  | 'Forecast'
  | 'Reactive'
  | 'Surge'
  | 'Stabilized'
  | 'ScaleDownLimited'
  | 'ScaleUpLimited'
  | 'Floor'
  | 'MinReplicas'
  | 'MaxReplicas';

/** A scaling decision as a value: the result, the rule that bound it, and the inputs to each rule. */
export interface ScalingDecision {
  readonly replicas: number;
  readonly direction: 'up' | 'down' | 'hold';
  readonly reason: DecisionReason;
  readonly surge: boolean;
  readonly atSeconds: number;
  /** What each rule asked for, so a log line or an Event can explain the result. */
  readonly rules: {
    readonly forecast: number;
    readonly reactive: number;
    readonly surge: number;
    readonly stabilized: number;
  };
  /** The raw recommendation to append to `recentRecommendations` for the next call. */
  readonly recommendation: Recommendation;
}

/** Rounds up, ignoring float noise from rate conversions (30 / 300 / (10 / 300) is 3.0000000000000004). */
function ceilReplicas(x: number): number {
  return Math.max(0, Math.ceil(x - 1e-9));
}

/** Intervals between creating a pod now and the first interval it serves. */
export function startupSteps(policy: Pick<ScalingPolicy, 'startupSeconds'>, intervalSeconds: number): number {
  return Math.max(0, Math.ceil(policy.startupSeconds / intervalSeconds - 1e-9));
}

/**
 * Decides the replicas a target needs, as a pure function of signals, forecast, policy and time.
 * It sizes the fleet for the forecast quantile over the intervals until a pod started now serves,
 * never goes below what current demand needs, reacts at once when demand breaks above the forecast
 * band, holds scale-down for the stabilization window, applies the scale limits, and keeps a healing
 * floor until it expires.
 */
export function decide(signals: ScalingSignals, forecast: ScalingForecast, policy: ScalingPolicy, nowSeconds: number): ScalingDecision {
  const cap = policy.capacityPerReplicaPerSecond;
  const lead = startupSteps(policy, signals.intervalSeconds) + 1;
  const current = signals.demandRates[signals.demandRates.length - 1] ?? 0;
  const q = policy.quantile === 'p50' ? forecast.p50 : forecast.p90;
  // Pods removed now come back only after `lead` intervals, so hold enough for every interval until then.
  let peak = 0;
  for (let j = 0; j < Math.min(lead, q.length); j++) peak = Math.max(peak, q[j] ?? 0);
  const forecastNeed = ceilReplicas((peak * policy.headroom) / cap);
  const reactiveNeed = ceilReplicas((current * policy.reactiveHeadroom) / cap);
  const surge = forecast.bandNow !== undefined && current > forecast.bandNow.p90;
  const surgeNeed = surge ? ceilReplicas((Math.max(current, peak) * policy.surgeHeadroom) / cap) : 0;
  const raw = Math.max(forecastNeed, reactiveNeed, surgeNeed);
  let reason: DecisionReason = raw === surgeNeed && surge ? 'Surge' : raw === forecastNeed ? 'Forecast' : 'Reactive';

  const cur = signals.currentReplicas;
  let stabilized = raw;
  for (const r of signals.recentRecommendations) {
    if (r.atSeconds > nowSeconds - policy.scaleDownStabilizationSeconds) stabilized = Math.max(stabilized, r.replicas);
  }
  let next = raw;
  if (raw < cur) {
    // Scale down only to the highest recommendation of the window, and never more than the rate limit.
    next = Math.min(cur, stabilized);
    if (next > raw) reason = 'Stabilized';
    const minutes = signals.intervalSeconds / 60;
    const keep = Math.ceil(cur * Math.max(0, 1 - (policy.scaleDownPercentPerMinute / 100) * minutes) - 1e-9);
    if (next < keep) {
      next = keep;
      reason = 'ScaleDownLimited';
    }
  } else {
    let limit = cur;
    const periods = Math.min(64, Math.max(1, Math.floor(signals.intervalSeconds / 15)));
    for (let i = 0; i < periods && limit < next; i++) {
      limit = Math.max(Math.ceil(limit * (1 + policy.scaleUpPercentPer15s / 100)), limit + policy.scaleUpPodsPer15s);
    }
    if (next > limit) {
      next = limit;
      reason = 'ScaleUpLimited';
    }
  }
  if (policy.floor && nowSeconds < policy.floor.expiresAtSeconds && next < policy.floor.replicas) {
    next = policy.floor.replicas;
    reason = 'Floor';
  }
  if (next < policy.minReplicas) {
    next = policy.minReplicas;
    reason = 'MinReplicas';
  } else if (next > policy.maxReplicas) {
    next = policy.maxReplicas;
    reason = 'MaxReplicas';
  }
  return {
    replicas: next,
    direction: next > cur ? 'up' : next < cur ? 'down' : 'hold',
    reason,
    surge,
    atSeconds: nowSeconds,
    rules: { forecast: forecastNeed, reactive: reactiveNeed, surge: surgeNeed, stabilized },
    recommendation: { atSeconds: nowSeconds, replicas: raw },
  };
}
