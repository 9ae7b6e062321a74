// The `Hpa` actuator: SurgeGuard decides, a HorizontalPodAutoscaler writes the replicas. The HPA
// reads one External metric per scaler with an AverageValue target of 1, so the value served is a
// replica count: the HPA's rule, ceil(value / 1), lands on it unless the value falls inside the
// HPA's tolerance band around the current count, where the HPA keeps the count it has. Pure: the
// live tick and `surgeguard replay --actuator hpa` share it.

/** The External metric every `Hpa`-mode scaler serves; the HPA selects a scaler with `scaler=<name>`. */
export const EXTERNAL_METRIC = 'surgeguard_desired_replicas';
/** The API group and version the controller serves the metric under (the aggregation layer's). */
export const EXTERNAL_METRICS_GROUP_VERSION = 'external.metrics.k8s.io/v1beta1';

/** The HPA's tolerance band: no change while value / (target x current) is within [1 - down, 1 + up]. */
export interface Tolerance {
  readonly up: number;
  readonly down: number;
}

/** kube-controller-manager's `--horizontal-pod-autoscaler-tolerance` default. */
export const DEFAULT_TOLERANCE: Tolerance = Object.freeze({ up: 0.1, down: 0.1 });

/** What the HPA does with a served value: its rule for an External metric with an AverageValue target of 1. */
export function hpaRecommendation(value: number, current: number, tol: Tolerance): number {
  if (current <= 0) return Math.ceil(value);
  const ratio = value / current;
  if (ratio >= 1 - tol.down && ratio <= 1 + tol.up) return current;
  return Math.ceil(value);
}

/**
 * The value to serve so that the HPA arrives at `desired` from `current`. Outside the tolerance band
 * that is `desired` itself. Inside it the HPA would not move, so:
 * - a step up serves the smallest count past the band: up to `tol.up` more pods than asked, because
 *   a surge that is not provisioned costs more than a few pods for a while;
 * - a step down serves the current count: a smaller fleet only saves cost, never worth overshooting.
 * Never below 1: the HPA reads 0 as "scale to the minimum".
 */
export function servedValue(desired: number, current: number, tol: Tolerance): number {
  const want = Math.max(1, Math.round(desired));
  if (current <= 0 || want === current) return Math.max(1, current > 0 ? current : want);
  // The same float order as the HPA's check, so the edge of the band is where the HPA puts it.
  if (hpaRecommendation(want, current, tol) === want) return want;
  if (want < current) return current;
  let n = Math.max(current + 1, Math.floor(current * (1 + tol.up)));
  while (hpaRecommendation(n, current, tol) !== n) n++;
  return n;
}

/** The tolerance an HPA applies: its own `behavior` (Kubernetes 1.33+), else the controller-manager default. */
export function toleranceOf(behavior: { scaleUp?: { tolerance?: number | string }; scaleDown?: { tolerance?: number | string } } | undefined): Tolerance {
  const read = (v: number | string | undefined, fallback: number): number => {
    const n = typeof v === 'string' ? parseQuantity(v) : v;
    return n !== undefined && Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  return { up: read(behavior?.scaleUp?.tolerance, DEFAULT_TOLERANCE.up), down: read(behavior?.scaleDown?.tolerance, DEFAULT_TOLERANCE.down) };
}

/** A Kubernetes quantity as a number ("50m" is 0.05, "1" is 1); undefined when it is not one. */
export function parseQuantity(q: string): number | undefined {
  const m = /^([+-]?\d+(?:\.\d+)?)(m|k|M|G)?$/.exec(q.trim());
  if (!m) return undefined;
  const scale = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * scale;
}

/** A replica count as the quantity the metrics API carries, in thousandths so a fraction survives. */
export function toQuantity(v: number): string {
  return `${Math.round(v * 1000)}m`;
}
