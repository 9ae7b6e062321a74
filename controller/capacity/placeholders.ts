/**
 * Forecast-sized placeholders: how many GPUs low-priority placeholder pods should hold (or ask for)
 * so that the cluster autoscaler or Karpenter brings GPU nodes before the real pods need them. Pure:
 * `surgeguard replay` (replay/nodes.ts) calls it every interval, and the live loop is meant to call
 * it every tick with the same inputs read from the watch caches.
 *
 * The placeholders hold the gap between what the forecast will need at the node lead time and what
 * the real pods already ask for. Held placeholders keep free GPUs from being taken by other
 * workloads or removed as empty nodes; Pending ones are what makes the autoscaler start nodes.
 * Real pods preempt them at once (a PriorityClass below every real workload), so the gap shrinks
 * one for one as real pods appear, and a fall of the forecast releases them only after the
 * stabilization window (the highest need of the window holds), as the HPA's scale-down does.
 */

/** What one pool looks like this tick, in GPUs of one resource name. */
export interface PlaceholderInput {
  /** GPUs the real workloads will need at the horizon (node lead time + pod startup), from the forecast. */
  readonly needGpus: number;
  /** GPUs the real pods ask for now, bound or Pending. */
  readonly realGpus: number;
  /** Allocatable GPUs bound to no pod, real or placeholder. */
  readonly freeGpus: number;
  /** GPUs on nodes requested and not Ready yet that no Pending pod has claimed. */
  readonly comingGpus: number;
}

export interface PlaceholderSettings {
  /** The most GPUs placeholders may hold or ask for, in all: it bounds what a crashed controller leaves. */
  readonly capGpus: number;
  /** Intervals the highest recent need holds before placeholders are released (1: no window). */
  readonly stabilizationSteps: number;
}

/** Why the placeholder count is what it is: a decision reason, PascalCase as Events name them. */
export type PlaceholderReason = 'NoGap' | 'Forecast' | 'Stabilized' | 'PlaceholderCap';

/** The sizing for this tick, and the history to pass to the next one. */
export interface PlaceholderDecision {
  /** GPUs placeholder pods should hold or ask for, in all (bound and Pending). */
  readonly gpus: number;
  /** Of those, the GPUs no free or coming GPU covers: what new nodes must bring. */
  readonly provisionGpus: number;
  /** The need the window holds (the highest of the last `stabilizationSteps` needs). */
  readonly stabilizedNeedGpus: number;
  readonly reason: PlaceholderReason;
  /** The needs of the window, newest last; pass it back next tick. */
  readonly history: readonly number[];
}

/**
 * Sizes the placeholders of one pool: min(cap, max(0, stabilized need - real)), where the stabilized
 * need is the highest forecast need of the window. Stabilizing the need, not the placeholder count,
 * is what keeps a release no faster than real pods appear: real + placeholders never falls below
 * the window's need, so placeholders go only as real pods take their GPUs, or once the window has
 * passed since the need was last that high.
 */
export function sizePlaceholders(input: PlaceholderInput, settings: PlaceholderSettings, history: readonly number[]): PlaceholderDecision {
  const need = Math.max(0, input.needGpus);
  const steps = Math.max(1, Math.floor(settings.stabilizationSteps));
  const next = [...history, need].slice(-steps);
  const stabilized = Math.max(...next);
  const gap = Math.max(0, Math.ceil(stabilized - input.realGpus));
  const gpus = Math.min(Math.max(0, Math.floor(settings.capGpus)), gap);
  const provisionGpus = Math.max(0, gpus - Math.max(0, input.freeGpus) - Math.max(0, input.comingGpus));
  return { gpus, provisionGpus, stabilizedNeedGpus: stabilized, reason: reasonOf({ gap, gpus, need, real: input.realGpus }), history: next };
}

function reasonOf(x: { gap: number; gpus: number; need: number; real: number }): PlaceholderReason {
  if (x.gap === 0) return 'NoGap';
  if (x.gpus < x.gap) return 'PlaceholderCap';
  return x.need - x.real >= x.gap ? 'Forecast' : 'Stabilized';
}

/**
 * The GPUs a forecast needs at the horizon: the highest quantile of steps `fromStep`..`toStep`
 * (0-based, both included) times headroom, in whole replicas of `perReplicaCapacity` (the forecast's
 * unit per replica), bounded by the replica limits, times GPUs per replica.
 */
export function forecastNeedGpus(quantile: ArrayLike<number>, x: { fromStep: number; toStep: number; perReplicaCapacity: number; headroom: number; minReplicas: number; maxReplicas: number; gpusPerReplica: number }): number {
  let peak = 0;
  for (let j = Math.max(0, x.fromStep); j <= x.toStep && j < quantile.length; j++) peak = Math.max(peak, quantile[j] ?? 0);
  const replicas = Math.min(x.maxReplicas, Math.max(x.minReplicas, Math.ceil((peak * x.headroom) / x.perReplicaCapacity - 1e-9)));
  return replicas * x.gpusPerReplica;
}
