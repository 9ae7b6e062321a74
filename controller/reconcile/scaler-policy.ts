import type { PredictiveScaler } from '../crd/predictive-scaler.ts';
import { DEFAULT_PRESCALE_SECONDS, type CampaignWindow } from '../scaling/campaign.ts';
import { DEFAULT_POLICY_SETTINGS, type ReplicaFloor, type ScalingPolicy } from '../scaling/policy.ts';

/** The annotation the healing loop sets for replacement capacity: `replicas,expiresAtUnixSeconds,reason`. */
export const FLOOR_ANNOTATION = 'surgeguard.io/replica-floor';

/**
 * Maps a PredictiveScaler's spec to the policy `decide` takes. The CRD speaks per minute and in
 * fractions (headroom 0.1 = 10% extra); the policy speaks per 15 s and in multipliers.
 */
export function policyFor(scaler: PredictiveScaler, observedStartupSeconds: number | undefined): ScalingPolicy {
  const s = scaler.spec;
  const up = s.behavior?.scaleUp;
  const down = s.behavior?.scaleDown;
  return {
    ...DEFAULT_POLICY_SETTINGS,
    headroom: 1 + s.headroom,
    quantile: s.quantile,
    ...(down?.stabilizationSeconds !== undefined ? { scaleDownStabilizationSeconds: down.stabilizationSeconds } : {}),
    ...(down?.maxPercentPerMinute !== undefined ? { scaleDownPercentPerMinute: Math.min(100, down.maxPercentPerMinute) } : {}),
    ...(up?.maxPodsPerMinute !== undefined ? { scaleUpPodsPer15s: Math.max(1, Math.ceil(up.maxPodsPerMinute / 4)) } : {}),
    ...(up?.maxPercentPerMinute !== undefined ? { scaleUpPercentPer15s: up.maxPercentPerMinute / 4 } : {}),
    capacityPerReplicaPerSecond: s.requestsPerSecondPerReplica,
    // The larger of what the user claims and what the cluster shows: a pod that takes longer
    // than claimed must be started earlier, never later.
    startupSeconds: Math.max(s.startupSeconds, observedStartupSeconds ?? 0),
    minReplicas: s.minReplicas,
    maxReplicas: s.maxReplicas,
    floor: floorOf(scaler),
  };
}

/** The replica floor a scaler's annotation sets, or undefined when it has none or it is unreadable. */
export function floorOf(scaler: PredictiveScaler): ReplicaFloor | undefined {
  const raw = scaler.metadata.annotations?.[FLOOR_ANNOTATION];
  if (!raw) return undefined;
  const [replicas, expires, ...reason] = raw.split(',');
  const r = Number(replicas);
  const e = Number(expires);
  return Number.isInteger(r) && r >= 0 && Number.isFinite(e) ? { replicas: r, expiresAtSeconds: e, reason: reason.join(',') || 'healing' } : undefined;
}

/**
 * The scaler's campaign windows on the wall clock (seconds since the epoch), as the policy step reads
 * them. The API server checked each against the CRD's schema; a start that still does not parse (a
 * schema applied by hand) drops that window and says so, without stopping the others.
 */
export function campaignsOf(scaler: PredictiveScaler, onInvalid?: (window: string, why: string) => void): CampaignWindow[] {
  const out: CampaignWindow[] = [];
  for (const w of scaler.spec.schedule ?? []) {
    const startSeconds = Date.parse(w.start) / 1000;
    if (!Number.isFinite(startSeconds)) {
      onInvalid?.(w.name, `start "${w.start}" is not a date-time`);
      continue;
    }
    out.push({ name: w.name, startSeconds, durationSeconds: w.durationSeconds, demandMultiplier: w.demandMultiplier, prescaleSeconds: w.prescaleSeconds ?? DEFAULT_PRESCALE_SECONDS });
  }
  return out;
}
