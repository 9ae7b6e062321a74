import type { SeriesForecast } from '../../inference/forecaster.ts';
import { campaignFloor, type CampaignAsk, type CampaignWindow } from '../scaling/campaign.ts';
import { calibrated, newCalibration, observe, scaleOf, type CalibrationState } from '../scaling/calibration.ts';
import { decide, startupSteps, type Recommendation, type ScalingDecision } from '../scaling/decide.ts';
import type { ScalingPolicy } from '../scaling/policy.ts';
import { newSelection, selectCandidate, type SelectionState } from '../scaling/selection.ts';
import { forecastCap } from '../scaling/forecast-cap.ts';
import { rampFloor, type RampFloor } from '../scaling/ramp-floor.ts';
import { spikeHold, type SpikeHold } from '../scaling/spike-hold.ts';
import { learnedFloor, newReactiveFloor, observeReactiveFloor, REACTIVE_FLOOR_DEFAULTS, type LearnedFloor, type ReactiveFloorSettings, type ReactiveFloorState } from '../scaling/reactive-floor.ts';
import { newSurgeMemory, observeSurge, surgeMultiplier, type SurgeMemory } from '../scaling/surge-memory.ts';

/** What one scaler remembers between ticks: raw recommendations, the last band, and what it learned of its own demand. */
export interface PolicyMemory {
  recommendations: Recommendation[];
  previous?: SeriesForecast;
  /** How often demand at the lead time lands above the band, and the band multiplier that follows. */
  calibration?: CalibrationState;
  /** How much of each past surge was still there when pods started at it would have served. */
  surges?: SurgeMemory;
  /** Which candidate forecaster this target uses, from their scores on its own demand. */
  selection?: SelectionState;
  /** Which reactive rule has lost least on this target's own demand within its policy's cost. */
  reactiveFloor?: ReactiveFloorState;
  /** The demand level each campaign window that is on multiplies, by window name, from when it first applied. */
  campaignBaselines?: Map<string, number>;
}

/** One candidate forecaster's forecast for a target this tick. */
export interface Candidate {
  readonly forecast: SeriesForecast;
  readonly source: string;
}

/**
 * Picks the forecast this tick uses among the candidates (the configured forecaster first, then
 * those in shadow), by each one's recent loss on this target's own demand (controller/scaling/
 * selection.ts). `demand` and the forecasts are in the same unit. A shadow candidate in use says so
 * in its source (`holt-winters (selected)`), which reaches the decision message, the Event and
 * replay's sources. With one candidate it is returned as it is.
 */
export function chooseForecast(memory: PolicyMemory, x: { demand: number; candidates: readonly Candidate[]; lead: number }): Candidate {
  const first = x.candidates[0];
  if (!first) throw new Error('chooseForecast: no candidate');
  if (x.candidates.length === 1) return first;
  if (memory.selection?.loss.length !== x.candidates.length) memory.selection = newSelection(x.candidates.length);
  const i = selectCandidate(memory.selection, { demand: x.demand, forecasts: x.candidates.map((c) => c.forecast), lead: x.lead });
  const c = x.candidates[i] as Candidate;
  return i === 0 ? c : { forecast: c.forecast, source: `${c.source} (selected)` };
}

/** What one step reads besides the memory. */
export interface PolicyStepInput {
  readonly intervalSeconds: number;
  /** Seconds of recorded demand per interval where it is replayed faster than real time (decide.ts ScalingSignals). */
  readonly demandIntervalSeconds?: number;
  readonly demandRates: ArrayLike<number>;
  readonly currentReplicas: number;
  readonly forecast: SeriesForecast;
  readonly source: string;
  /** Reactive-only runs (for comparison) get no band, so no surge rule and no calibration either. */
  readonly reactiveOnly?: boolean;
  /** What the scaler's saturation guards ask for this tick (none in replay, which has one demand series). */
  readonly guards?: readonly { readonly name: string; readonly replicas: number; readonly detail?: string }[];
  /** The scaler's campaign windows (spec.schedule), on the clock of `nowSeconds`; reactive-only runs use them too. */
  readonly campaigns?: readonly CampaignWindow[];
}

/**
 * One step of the live policy for one scaler, run by the controller and by replay alike: it scores the
 * band forecast `lead` ticks ago against demand now, recalibrates this tick's band, learns surge
 * follow-through, and calls the pure `decide`. A scaler's first step seeds the stabilization history
 * with the replicas it found (as the Kubernetes HPA does), so a cold start never shrinks the fleet it
 * inherited before the window has passed.
 */
export function policyStep(memory: PolicyMemory, input: PolicyStepInput, policy: ScalingPolicy, nowSeconds: number): ScalingDecision {
  if (memory.recommendations.length === 0 && memory.previous === undefined) memory.recommendations.push({ atSeconds: nowSeconds, replicas: input.currentReplicas });
  memory.recommendations = memory.recommendations.filter((r) => r.atSeconds >= nowSeconds - policy.scaleDownStabilizationSeconds);
  const lead = startupSteps(policy, input.intervalSeconds) + 1;
  const current = input.demandRates[input.demandRates.length - 1] ?? 0;
  const prev = input.reactiveOnly ? undefined : memory.previous;
  const calibration = (memory.calibration ??= newCalibration());
  const surges = (memory.surges ??= newSurgeMemory());
  const scale = scaleOf(calibration);
  const forecast = input.reactiveOnly ? input.forecast : calibrated(input.forecast, calibration, { scale });
  const multiplier = surgeMultiplier(surges, policy.surgeHeadroom);
  const floorLearner = learnsFloor(memory, input, policy, lead);
  const ramp = rampFor(input, policy, lead);
  const spike = spikeFor(input, policy, lead);
  const cap = capFor(input, policy, lead);
  const campaign = campaignFor(memory, input, policy, { lead, nowSeconds });
  const decision = decide(
    { intervalSeconds: input.intervalSeconds, ...(input.demandIntervalSeconds !== undefined ? { demandIntervalSeconds: input.demandIntervalSeconds } : {}), demandRates: input.demandRates, currentReplicas: input.currentReplicas, recentRecommendations: memory.recommendations, ...(input.guards ? { guards: input.guards } : {}), ...floorLearner?.floor, ...(ramp ? { rampFloor: ramp } : {}), ...(spike ? { spikeHold: spike } : {}), ...(cap !== undefined ? { forecastCap: cap } : {}), ...(campaign ? { campaign } : {}) },
    { p50: forecast.p50, p90: forecast.p90, bandNow: prev ? { p50: prev.p50[0] ?? 0, p90: prev.p90[0] ?? 0 } : undefined, surgeMultiplier: multiplier, source: input.source },
    policy,
    nowSeconds,
  );
  if (!input.reactiveOnly) {
    observe(calibration, { demand: current, forecast: input.forecast, lead, scale });
    observeSurge(surges, { demand: current, surge: decision.surge, lead });
    if (floorLearner) observeFloor(floorLearner, decision, { demand: current, capacity: policy.capacityPerReplicaPerSecond });
  }
  memory.recommendations.push(decision.recommendation);
  memory.previous = forecast;
  return decision;
}

/**
 * The ramp floor this tick, or undefined where the policy leaves it off (reactive-only runs, which get
 * no extrapolation as they get no band, and intervals longer than `rampFloorMaxIntervalSeconds`; 0 =
 * off) or demand is not rising. It keeps no state: it reads the demand history the step was given.
 */
function rampFor(input: PolicyStepInput, policy: ScalingPolicy, lead: number): RampFloor | undefined {
  if (!onAt(input, policy.rampFloorMaxIntervalSeconds)) return undefined;
  return rampFloor(input.demandRates, { lead, capacity: policy.capacityPerReplicaPerSecond }, { multiplier: policy.rampFloorMultiplier, windowLeads: policy.rampFloorWindowLeads, accelMultiplier: policy.rampFloorAccelMultiplier, accelMaxGrowth: policy.rampFloorAccelMaxGrowth });
}

/** The spike hold this tick, or undefined where the policy leaves it off or no lone spike is in the hold. Stateless, like the ramp. */
function spikeFor(input: PolicyStepInput, policy: ScalingPolicy, lead: number): SpikeHold | undefined {
  if (!onAt(input, policy.spikeHoldMaxIntervalSeconds)) return undefined;
  return spikeHold(input.demandRates, { lead, capacity: policy.capacityPerReplicaPerSecond }, { ratio: policy.spikeHoldRatio, intervals: policy.spikeHoldIntervals, headroom: policy.spikeHoldHeadroom, baselineIntervals: policy.spikeHoldBaselineIntervals });
}

/** The forecast cap this tick (a demand rate), or undefined where the policy leaves it off. Stateless. */
function capFor(input: PolicyStepInput, policy: ScalingPolicy, lead: number): number | undefined {
  if (!onAt(input, policy.forecastCapMaxIntervalSeconds)) return undefined;
  return forecastCap(input.demandRates, { lead }, { multiplier: policy.forecastCapMultiplier, windowLeads: policy.forecastCapWindowLeads });
}

/**
 * What the campaign window that is on asks for, or undefined where none is. Unlike the floors above it
 * runs in reactive-only runs too: a calendar is the operator's knowledge, not a forecast.
 */
function campaignFor(memory: PolicyMemory, input: PolicyStepInput, policy: ScalingPolicy, x: { lead: number; nowSeconds: number }): CampaignAsk | undefined {
  if (!input.campaigns?.length && !memory.campaignBaselines?.size) return undefined;
  const baselines = (memory.campaignBaselines ??= new Map());
  return campaignFloor(input.campaigns ?? [], baselines, { nowSeconds: x.nowSeconds, startupSeconds: policy.startupSeconds, demandRates: input.demandRates, lead: x.lead, capacity: policy.capacityPerReplicaPerSecond, headroom: policy.headroom });
}

/** A floor gated by interval is on where `maxIntervalSeconds` (0 = off) reaches this target's interval, never in reactive-only runs. */
function onAt(input: PolicyStepInput, maxIntervalSeconds: number): boolean {
  return !input.reactiveOnly && maxIntervalSeconds > 0 && input.intervalSeconds <= maxIntervalSeconds;
}

/**
 * The learned reactive floor's state and settings for this tick, or undefined where the policy leaves
 * it off: reactive-only runs, and intervals longer than `learnedFloorMaxIntervalSeconds` (0 = off). A new lead (a changed startup) starts the learner again, since
 * every rule's past was scored at the old one.
 */
function learnsFloor(memory: PolicyMemory, input: PolicyStepInput, policy: ScalingPolicy, lead: number): FloorLearner | undefined {
  if (!onAt(input, policy.learnedFloorMaxIntervalSeconds)) return undefined;
  const settings = { ...REACTIVE_FLOOR_DEFAULTS, budget: policy.learnedFloorBudget };
  if (memory.reactiveFloor?.lead !== lead) memory.reactiveFloor = newReactiveFloor(lead, settings);
  const floor = learnedFloor(memory.reactiveFloor, settings);
  return { state: memory.reactiveFloor, settings, ...(floor ? { floor: { learnedFloor: floor } } : {}) };
}

interface FloorLearner {
  readonly state: ReactiveFloorState;
  readonly settings: ReactiveFloorSettings;
  /** This tick's floor, shaped to spread into `decide`'s signals; absent while none binds. */
  readonly floor?: { readonly learnedFloor: LearnedFloor };
}

/** Scores the learner on demand now and records this tick's asks. */
function observeFloor(l: FloorLearner, decision: ScalingDecision, x: { demand: number; capacity: number }): void {
  // The policy's ask before the floor: a floor that raised its own budget would pick a dearer floor next tick.
  const r = decision.rules;
  const ask = Math.max(r.forecast, r.reactive, r.surge, r.ramp ?? 0, r.spikeHold ?? 0, r.guard?.replicas ?? 0);
  observeReactiveFloor(l.state, { ...x, policyAsk: ask }, l.settings);
}
