import { z } from 'zod';

/** Settings of the predictive policy that a user may change; the defaults are what the benchmark runs. */
export const policySettingsSchema = z.strictObject({
  /** Multiplier on the forecast quantile before dividing by capacity. */
  headroom: z.number().min(1).max(10).default(1),
  /** Which forecast quantile sizes the fleet. */
  quantile: z.enum(['p50', 'p90']).default('p90'),
  /**
   * Multiplier on the last minute's mean demand for the reactive lower bound; current demand itself is
   * always a floor (1 = exactly enough for now). 1.25 keeps the fleet at least 87% of what the default
   * HPA (utilization 0.7) would hold: at 1 it lost more demand than the HPA on 6 of the 14 series it was
   * never tuned on, 3 at 1.25 (docs/forecasting.md, seventh round).
   */
  reactiveHeadroom: z.number().min(1).max(10).default(1.25),
  /** Demand counts as a surge when it exceeds the p90 forecast for now times this factor. */
  surgeBandFactor: z.number().min(1).max(10).default(1),
  /** Multiplier on current demand when it breaks above the forecast band (a surge the model did not see). */
  surgeHeadroom: z.number().min(1).max(10).default(1.3),
  /** How long the highest recent recommendation holds before the fleet may shrink. */
  scaleDownStabilizationSeconds: z.number().min(0).max(86400 * 7).default(300),
  /** Largest share of the fleet removed per minute (100 = no limit). */
  scaleDownPercentPerMinute: z.number().gt(0).max(100).default(100),
  /** Scale-up limit per 15 s: at most double, or plus this many pods, whichever is more (HPA's default shape). */
  scaleUpPodsPer15s: z.number().int().min(1).default(4),
  scaleUpPercentPer15s: z.number().gt(0).default(100),
  /**
   * The learned reactive floor (controller/scaling/reactive-floor.ts) runs for targets whose interval
   * is at most this many seconds; 0 = off. Off by default: on the dev table at 60 it cut two of the
   * three rows that miss their goal and raised the third, and the ramp floor measured better than it
   * (docs/forecasting.md, third round).
   */
  learnedFloorMaxIntervalSeconds: z.number().min(0).max(86400).default(0),
  /** The learned floor's rule may cost at most this multiple of the policy's own recent asks. */
  learnedFloorBudget: z.number().gt(0).max(10).default(1),
  /**
   * The ramp floor (controller/scaling/ramp-floor.ts) runs for targets whose interval is at most this
   * many seconds; 0 = off. At every interval it cost the 5-minute social rows (docs/forecasting.md).
   */
  rampFloorMaxIntervalSeconds: z.number().min(0).max(86400).default(60),
  /** Multiplier m on the ramp extrapolated over the lead: current + median rise x (K+1) x m. */
  rampFloorMultiplier: z.number().gt(0).max(10).default(2),
  /** The window of one-step rises whose median is the ramp, in units of the lead (K+1 intervals). */
  rampFloorWindowLeads: z.number().int().min(1).max(64).default(2),
  /**
   * Acceleration in the ramp floor: while the last two one-step rises are positive and growing, the
   * slope is at least this multiple of the last rise; 0 = off. On (1) with the growth limit below: a
   * match start that turns from flat to +6-18% a minute (docs/forecasting.md, fourth round).
   */
  rampFloorAccelMultiplier: z.number().min(0).max(10).default(1),
  /**
   * The acceleration counts only where the last rise is at most this share of the demand before it
   * (0.3: +30% in one interval); 0 = any. Without it a 10x jump reads as acceleration (AzureLLM 0.477
   * to 1.855, the 05-12 hour to 2.59x the HPA's cost).
   */
  rampFloorAccelMaxGrowth: z.number().min(0).max(100).default(0.3),
  /**
   * The spike hold (controller/scaling/spike-hold.ts) runs for targets whose interval is at most this
   * many seconds; 0 = off. On at 1 minute or finer, like the ramp floor (docs/forecasting.md, fourth round).
   */
  spikeHoldMaxIntervalSeconds: z.number().min(0).max(86400).default(60),
  /** A spike is demand at least this multiple of the median of the intervals before it. */
  spikeHoldRatio: z.number().gt(1).max(1000).default(4),
  /** Intervals a spike is held, the one it came in included. */
  spikeHoldIntervals: z.number().int().min(1).max(1440).default(8),
  /** Multiplier on the held spike's demand. */
  spikeHoldHeadroom: z.number().gt(0).max(10).default(2.5),
  /** Intervals before a candidate whose median is its baseline (at least 2(K+1) are used). */
  spikeHoldBaselineIntervals: z.number().int().min(1).max(1440).default(30),
  /**
   * The forecast cap (controller/scaling/forecast-cap.ts) runs for targets whose interval is at most
   * this many seconds; 0 = off. On at 1 minute or finer (docs/forecasting.md, fourth round).
   */
  forecastCapMaxIntervalSeconds: z.number().min(0).max(86400).default(60),
  /** The forecast rule sizes for at most this multiple of the peak demand of the cap's window. */
  forecastCapMultiplier: z.number().min(1).max(100).default(2),
  /** The cap's window of recent demand, in units of the lead (K+1 intervals). */
  forecastCapWindowLeads: z.number().int().min(1).max(64).default(1),
});

export type PolicySettings = z.output<typeof policySettingsSchema>;

/** The defaults every replay and benchmark uses unless the user overrides them. */
export const DEFAULT_POLICY_SETTINGS: PolicySettings = Object.freeze(policySettingsSchema.parse({}));

/** A replacement-capacity floor set by the healing loop; it stops binding at `expiresAtSeconds`. */
export interface ReplicaFloor {
  readonly replicas: number;
  readonly expiresAtSeconds: number;
  readonly reason: string;
}

/** Everything `decide` needs to know about one scaled target's fleet and policy. */
export interface ScalingPolicy extends PolicySettings {
  /** Requests per second one serving replica handles. */
  readonly capacityPerReplicaPerSecond: number;
  /** Seconds from creating a pod until it serves. */
  readonly startupSeconds: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly floor?: ReplicaFloor;
}
