import { z } from 'zod';

/** Settings of the predictive policy that a user may change; the defaults are what the benchmark runs. */
export const policySettingsSchema = z.strictObject({
  /** Multiplier on the forecast quantile before dividing by capacity. */
  headroom: z.number().min(1).max(10).default(1),
  /** Which forecast quantile sizes the fleet. */
  quantile: z.enum(['p50', 'p90']).default('p90'),
  /** Multiplier on current demand for the reactive lower bound (1 = exactly enough for now). */
  reactiveHeadroom: z.number().min(1).max(10).default(1),
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
