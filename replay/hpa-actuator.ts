// `surgeguard replay --actuator hpa`: what the fleet gets when SurgeGuard's decisions reach it
// through a HorizontalPodAutoscaler instead of a direct write. The policy's targets are served as
// the live controller serves them (controller/adapters/hpa.ts) and the HPA's own rules act on the
// served value: its tolerance band, its scale-down stabilization window, its scale-up rate limit
// (the larger of 100% and 4 pods per 15 s), min and max, and the lag of its sync period.
import { hpaRecommendation, servedValue, type Tolerance } from '../controller/adapters/hpa.ts';
import { capReplicas, type FleetParams } from './fleet.ts';

export interface HpaActuatorSettings {
  readonly tolerance: Tolerance;
  /**
   * The HPA's scale-down stabilization window. SurgeGuard stabilizes its own decisions, so the
   * adoption path sets it to 0; the Kubernetes default is 300.
   */
  readonly scaleDownWindowSeconds: number;
  /** kube-controller-manager's --horizontal-pod-autoscaler-sync-period. */
  readonly syncSeconds: number;
}

export const DEFAULT_HPA_ACTUATOR: HpaActuatorSettings = Object.freeze({ tolerance: Object.freeze({ up: 0.1, down: 0.1 }), scaleDownWindowSeconds: 0, syncSeconds: 15 });

/**
 * The replicas the HPA sets, interval by interval, for the policy's `decided` targets. `start` is
 * the fleet both begin with.
 *
 * The lag: the value decided at the end of an interval is read at the HPA's next sync. With
 * intervals no longer than the sync period that is counted as one whole interval (the worst case:
 * on average it is half); with longer intervals the HPA acts within the interval, as a direct
 * write does.
 */
export function actuateThroughHpa(decided: readonly number[], start: number, p: FleetParams, stepSeconds: number, s: HpaActuatorSettings = DEFAULT_HPA_ACTUATOR): number[] {
  const lag = stepSeconds <= s.syncSeconds ? 1 : 0;
  const window = Math.max(1, Math.ceil(s.scaleDownWindowSeconds / stepSeconds));
  // Syncs per interval: each may raise the count by max(100%, 4 pods).
  const syncs = Math.min(64, Math.max(1, Math.floor(stepSeconds / s.syncSeconds)));
  const recs: number[] = [];
  const out: number[] = [];
  let cur = start;
  for (let t = 0; t < decided.length; t++) {
    const source = t - lag >= 0 ? (decided[t - lag] as number) : start;
    const rec = capReplicas(Math.max(p.minReplicas, hpaRecommendation(servedValue(source, cur, s.tolerance), cur, s.tolerance)), p);
    recs.push(rec);
    // Scale-down waits for the highest recommendation of the window; scale-up is not delayed.
    let stabilized = rec;
    if (rec < cur) for (let i = Math.max(0, recs.length - window); i < recs.length; i++) stabilized = Math.max(stabilized, recs[i] as number);
    stabilized = Math.min(stabilized, Math.max(cur, rec));
    let limit = cur;
    for (let i = 0; i < syncs; i++) limit = Math.max(2 * limit, limit + 4);
    cur = capReplicas(Math.max(p.minReplicas, Math.min(stabilized, limit)), p);
    out.push(cur);
  }
  return out;
}
