import type { PredictiveScaler, ConditionType } from '../crd/predictive-scaler.ts';
import { FIELD_MANAGER, type ScaleState } from '../kube/scale-target.ts';
import type { ScalingDecision } from '../scaling/decide.ts';
import type { SignalReading } from '../signals/signal.ts';
import type { HpaInfo } from '../kube/cluster.ts';
import { EXTERNAL_METRIC, servedValue, type Tolerance } from '../adapters/hpa.ts';

/** The `decision` label of the decisions counter. */
export type DecisionKind = 'scale_up' | 'scale_down' | 'hold' | 'dry_run' | 'conflict' | 'paused' | 'degraded' | 'target_missing' | 'hpa';

export interface PlannedCondition {
  type: ConditionType;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** Everything the controller decided for one scaler in one tick, as a value to log, count, serve and apply. */
export interface ScalerPlan {
  key: string;
  decision: DecisionKind;
  /** PascalCase: decide's rule (Forecast, Surge, ...) or why nothing was applied (SignalMissing, HpaPresent, ...). */
  reason: string;
  message: string;
  currentReplicas?: number;
  desiredReplicas?: number;
  /** Set when the target's scale must be written. */
  patch?: { replicas: number; resourceVersion: string };
  /**
   * The replicas on the target were SurgeGuard's own write, but the status never recorded it
   * (a leader stopped between the two writes, or the status write failed): record them now.
   */
  adoptApplied?: number;
  /**
   * Actuator Hpa: the value to serve as surgeguard_desired_replicas (see adapters/hpa.ts). When
   * SurgeGuard holds (paused, signal missing, dry run) it is the current count: no change.
   */
  served?: { value: number; desiredReplicas: number; currentReplicas: number; hpa?: string; tolerance?: Tolerance };
  conditions: PlannedCondition[];
}

export interface PlanInput {
  scaler: PredictiveScaler;
  reading: SignalReading | undefined;
  /** Absent when there was no reading or not enough history to decide. */
  decision: ScalingDecision | undefined;
  target: { ok: true; state: ScaleState } | { ok: false; error: string };
  /** An HPA that targets the same workload, if any. */
  hpa: HpaInfo | undefined;
  paused: boolean;
  /**
   * A read that safety depends on failed this tick (the pause ConfigMap, the HPA/KEDA check):
   * hold the target where it is and say why, rather than guess the convenient answer.
   */
  hold?: { reason: string; message: string };
  /** Pods of the target left Pending as unschedulable. */
  unschedulablePods: number;
}

const cond = (type: ConditionType, on: boolean, reason: string, message: string): PlannedCondition => ({ type, status: on ? 'True' : 'False', reason, message });

/**
 * Turns a tick's measurements into what to do, without doing it. Missing or stale demand
 * holds (never scales down); another writer or an HPA on the target means hands off.
 */
export function plan(input: PlanInput): ScalerPlan {
  const p = planFor(input);
  if (input.scaler.spec.actuator === 'Direct' || p.currentReplicas === undefined || p.served) return p;
  // Whatever held SurgeGuard back, the HPA is told "no change": never zero, never a guess.
  return { ...p, served: { value: Math.max(1, p.currentReplicas), desiredReplicas: p.currentReplicas, currentReplicas: p.currentReplicas, ...(input.hpa ? { hpa: input.hpa.name } : {}) } };
}

/** What every plan of a readable target starts from. */
type PlanBase = Pick<ScalerPlan, 'key' | 'currentReplicas' | 'adoptApplied'> & { currentReplicas: number };

/** The named parts of a scaler that the stages below share. */
interface PlanContext {
  input: PlanInput;
  scaler: PredictiveScaler;
  /** `Deployment/name`, for messages. */
  target: string;
  /** Keda: KEDA makes the HPA from a ScaledObject and names the metric itself (s0-...), so any HPA on the target is KEDA's; Hpa: the HPA must read this scaler's metric. */
  viaHpa: boolean;
  viaKeda: boolean;
  unsched: PlannedCondition;
}

/**
 * The stages in order, each a reason to stop before scaling: the target cannot be read, a
 * gating read failed, the HPA or KEDA set-up does not match the actuator, another writer owns the
 * replicas, the demand signal is missing. What is left is a decision to apply.
 */
function planFor(input: PlanInput): ScalerPlan {
  const { scaler } = input;
  const key = `${scaler.metadata.namespace}/${scaler.metadata.name}`;
  const target = `${scaler.spec.targetRef.kind}/${scaler.spec.targetRef.name}`;
  const unsched = cond('Unschedulable', input.unschedulablePods > 0, input.unschedulablePods > 0 ? 'PodsUnschedulable' : 'AllPodsScheduled', input.unschedulablePods > 0 ? `${input.unschedulablePods} pods of ${target} cannot be scheduled` : 'no pods are unschedulable');
  if (!input.target.ok) {
    return { key, decision: 'target_missing', reason: 'TargetMissing', message: `cannot read the scale of ${target}: ${input.target.error}`, conditions: [cond('Ready', false, 'TargetMissing', input.target.error), cond('Active', false, 'TargetMissing', 'nothing to scale'), unsched] };
  }
  const state = input.target.state;
  const base: PlanBase = { key, currentReplicas: state.replicas };
  if (input.hold) return heldPlan(scaler, base, input.hold, unsched);
  const viaKeda = scaler.spec.actuator === 'Keda';
  const ctx: PlanContext = { input, scaler, target, viaHpa: scaler.spec.actuator === 'Hpa' || viaKeda, viaKeda, unsched };
  const mismatch = actuatorMismatch(ctx, base);
  if (mismatch) return mismatch;
  const writer = otherWriter(ctx, base, state);
  if (writer) return writer;
  const noConflict = ctx.viaHpa ? cond('Conflict', false, 'HpaWrites', 'the HPA is the only writer of the replicas; SurgeGuard serves it the forecast') : cond('Conflict', false, 'NoConflict', 'SurgeGuard is the only writer of the replicas');
  if (!input.reading?.ok || !input.decision) {
    const why = input.reading && !input.reading.ok ? input.reading.error : input.reading ? 'not enough history to decide yet' : 'no demand reading';
    return { ...base, decision: 'degraded', reason: 'SignalMissing', message: `holding at ${base.currentReplicas} replicas: ${why}`, desiredReplicas: base.currentReplicas, conditions: [cond('Degraded', true, 'SignalMissing', why), cond('Ready', true, 'Observed', 'target found'), cond('Active', !input.paused && scaler.spec.mode === 'Active', 'Holding', 'holding while the signal is missing'), noConflict, unsched] };
  }
  return decidedPlan(ctx, base, { reading: input.reading, decision: input.decision, resourceVersion: state.resourceVersion }, noConflict);
}

/** The actuator asks for an HPA (or a ScaledObject) that is missing or reads something else, or Direct finds an HPA on its target. */
function actuatorMismatch(ctx: PlanContext, base: PlanBase): ScalerPlan | undefined {
  const { input, scaler, target, viaHpa, viaKeda, unsched } = ctx;
  const current = base.currentReplicas;
  if (viaKeda && !input.hpa) {
    const msg = `actuator is Keda but no HorizontalPodAutoscaler scales ${target}; create a ScaledObject for it with a trigger of type external, metadata scaler: ${scaler.metadata.name} and scalerAddress: SurgeGuard's external scaler (docs/hpa.md)`;
    return { ...base, decision: 'hold', reason: 'ScaledObjectMissing', message: `holding at ${current} replicas: ${msg}`, desiredReplicas: current, conditions: [cond('Active', false, 'ScaledObjectMissing', msg), cond('Ready', true, 'Observed', 'target found'), unsched] };
  }
  if (viaHpa && !viaKeda && !input.hpa?.readsScalers.includes(scaler.metadata.name)) {
    const how = `an External metric ${EXTERNAL_METRIC} with selector scaler=${scaler.metadata.name} and an AverageValue target of 1`;
    const msg = input.hpa ? `HorizontalPodAutoscaler ${input.hpa.name} scales ${target} but does not read ${how}` : `actuator is Hpa but no HorizontalPodAutoscaler scales ${target}; create one with ${how}`;
    const reason = input.hpa ? 'HpaNotReadingMetric' : 'HpaMissing';
    return { ...base, decision: 'hold', reason, message: `holding at ${current} replicas: ${msg}`, desiredReplicas: current, conditions: [cond('Active', false, reason, msg), cond('Ready', true, 'Observed', 'target found'), unsched] };
  }
  if (input.hpa && !viaHpa) {
    const msg = `HorizontalPodAutoscaler ${input.hpa.name} also scales ${target}; SurgeGuard leaves it alone (actuator Hpa hands it the forecast instead)`;
    return { ...base, decision: 'conflict', reason: 'HpaPresent', message: msg, conditions: [cond('Conflict', true, 'HpaPresent', msg), cond('Active', false, 'Conflict', msg), cond('Ready', true, 'Observed', 'target found'), unsched] };
  }
  return undefined;
}

/**
 * Someone other than SurgeGuard changed the replicas since its last write: hands off. Sets
 * base.adoptApplied when the change was SurgeGuard's own write that the status lost.
 */
function otherWriter(ctx: PlanContext, base: PlanBase, state: ScaleState): ScalerPlan | undefined {
  const { scaler, target, viaHpa, unsched } = ctx;
  const current = base.currentReplicas;
  const applied = scaler.status?.appliedReplicas;
  const inConflict = scaler.status?.conditions?.some((c) => c.type === 'Conflict' && c.status === 'True') ?? false;
  const specChanged = (scaler.status?.observedGeneration ?? 0) < (scaler.metadata.generation ?? 0);
  // The field manager settles a mismatch: if the last writer of spec.replicas was SurgeGuard
  // (this replica or an earlier leader), the status lost a write; it is not another writer.
  const lostOwnWrite = applied !== undefined && current !== applied && state.replicasManager?.manager === FIELD_MANAGER;
  if (lostOwnWrite) base.adoptApplied = current;
  if (viaHpa || applied === undefined || current === applied || lostOwnWrite || (inConflict && specChanged)) return undefined;
  const who = state.replicasManager?.manager ? ` by ${state.replicasManager.manager}` : '';
  const msg = `${target} has ${current} replicas, set${who}; SurgeGuard last set ${applied}. Not fighting another writer: change the PredictiveScaler's spec to hand control back`;
  return { ...base, decision: 'conflict', reason: 'ReplicasChangedByOther', message: msg, conditions: [cond('Conflict', true, 'ReplicasChangedByOther', msg), cond('Active', false, 'Conflict', msg), cond('Ready', true, 'Observed', 'target found'), unsched] };
}

/** decide's answer, capped by the Kafka partitions, as a dry run, a pause, a value served to the HPA, or a patch. */
function decidedPlan(ctx: PlanContext, base: PlanBase, x: { reading: Extract<SignalReading, { ok: true }>; decision: ScalingDecision; resourceVersion: string }, noConflict: PlannedCondition): ScalerPlan {
  const { input, scaler, viaHpa, viaKeda, unsched } = ctx;
  const current = base.currentReplicas;
  const d = x.decision;
  let desired = d.replicas;
  let reason: string = d.reason;
  if (x.reading.partitions !== undefined && desired > x.reading.partitions) {
    // More consumers than partitions would sit idle: Kafka gives each partition to one member.
    desired = Math.max(scaler.spec.minReplicas, x.reading.partitions);
    reason = 'PartitionCap';
  }
  const rules = rulesText(d);
  const message = `${current} -> ${desired} replicas (${reason}; ${rules}; demand ${x.reading.rate.toFixed(2)}/s)`;
  const healthy = [cond('Degraded', false, 'SignalFresh', 'demand signal is fresh'), cond('Ready', true, 'Observed', 'target found'), noConflict, unsched];
  if (scaler.spec.mode === 'DryRun') {
    return { ...base, decision: 'dry_run', reason, message: `dry run: would set ${message}`, desiredReplicas: desired, conditions: [...healthy, cond('Active', false, 'DryRun', 'mode is DryRun: decisions are recorded, nothing is patched')] };
  }
  if (input.paused) {
    return { ...base, decision: 'paused', reason: 'Paused', message: `paused: would set ${message}`, desiredReplicas: desired, conditions: [...healthy, cond('Active', false, 'Paused', 'actuation is paused for the whole controller')] };
  }
  if (viaHpa && input.hpa) {
    const hpa = input.hpa;
    const value = servedValue(desired, current, hpa.tolerance);
    const served = { value, desiredReplicas: desired, currentReplicas: current, hpa: hpa.name, tolerance: hpa.tolerance };
    const why = value === desired ? '' : value > desired ? `, past the HPA's tolerance of ${hpa.tolerance.up}` : `, inside the HPA's tolerance of ${hpa.tolerance.down}: no change`;
    const asked = cond('Active', true, viaKeda ? 'ServingKeda' : 'ServingHpa', `SurgeGuard serves ${EXTERNAL_METRIC} to HorizontalPodAutoscaler ${hpa.name}${viaKeda ? ' through KEDA' : ''}, which sets the replicas`);
    if (desired === current) return { ...base, decision: 'hold', reason, message: `holding at ${current} replicas (${reason}; ${rules}); serving ${value} to HPA ${hpa.name}`, desiredReplicas: desired, served, conditions: [...healthy, asked] };
    return { ...base, decision: 'hpa', reason, message: `${message}; asked of HPA ${hpa.name} by serving ${value}${why}`, desiredReplicas: desired, served, conditions: [...healthy, asked] };
  }
  const active = cond('Active', true, 'Scaling', 'SurgeGuard sets the replicas of the target');
  if (desired === current) {
    return { ...base, decision: 'hold', reason, message: `holding at ${current} replicas (${reason}; ${rules})`, desiredReplicas: desired, conditions: [...healthy, active] };
  }
  return { ...base, decision: desired > current ? 'scale_up' : 'scale_down', reason, message, desiredReplicas: desired, patch: { replicas: desired, resourceVersion: x.resourceVersion }, conditions: [...healthy, active] };
}

/** A target held where it is because a read that gates all scaling failed (see PlanInput.hold). */
function heldPlan(scaler: PredictiveScaler, base: PlanBase, hold: { reason: string; message: string }, unsched: PlannedCondition): ScalerPlan {
  const msg = `holding at ${base.currentReplicas} replicas: ${hold.message}`;
  // Whether another writer exists is unknown this tick: keep the Conflict condition as it was.
  const conflict = scaler.status?.conditions?.find((c) => c.type === 'Conflict');
  const kept = conflict && conflict.status !== 'Unknown' ? [cond('Conflict', conflict.status === 'True', conflict.reason, conflict.message)] : [];
  return { ...base, decision: 'degraded', reason: hold.reason, message: msg, desiredReplicas: base.currentReplicas, conditions: [cond('Degraded', true, hold.reason, hold.message), cond('Ready', true, 'Observed', 'target found'), cond('Active', false, 'Holding', msg), ...kept, unsched] };
}

/** What each rule asked for, as numbers for GET /api/decisions; the guard's name goes beside it. */
export function rulesRecord(d: Pick<ScalingDecision, 'rules'>): { rules: Record<string, number>; guard?: { name: string; replicas: number; detail?: string }; campaign?: { window: string; replicas: number } } {
  const { guard, campaign, ...numbers } = d.rules;
  return { rules: { ...numbers, ...(guard ? { guard: guard.replicas } : {}), ...(campaign ? { campaign: campaign.replicas } : {}) }, ...(guard ? { guard: { ...guard } } : {}), ...(campaign ? { campaign: { ...campaign } } : {}) };
}

/** What each rule of a decision asked for, as the decision messages say it. */
export function rulesText(d: Pick<ScalingDecision, 'rules' | 'surge' | 'source'>): string {
  const g = d.rules.guard;
  const r = d.rules;
  const floors = `${r.ramp !== undefined ? `, ramp ${r.ramp}` : ''}${r.learnedFloor !== undefined ? `, learned floor ${r.learnedFloor}` : ''}${r.spikeHold !== undefined ? `, spike hold ${r.spikeHold}` : ''}${r.campaign ? `, campaign ${r.campaign.window} ${r.campaign.replicas}` : ''}`;
  const capped = r.forecastUncapped !== undefined ? ` (capped from ${r.forecastUncapped})` : '';
  return `forecast ${d.rules.forecast}${capped} by ${d.source}, reactive ${d.rules.reactive}${d.surge ? `, surge ${d.rules.surge}` : ''}${floors}${g ? `, guard ${g.name} ${g.replicas}${g.detail ? ` (${g.detail})` : ''}` : ''}, stabilized ${d.rules.stabilized}`;
}
