import type { V1Node } from '@kubernetes/client-node';
import type { FaultClass } from './types.ts';

/** The taint a cordoned node carries, so schedulers and humans can see who cordoned it and why. */
export const UNHEALTHY_TAINT = { key: 'surgeguard.io/unhealthy', effect: 'NoSchedule' } as const;
/** A node's remediation in progress, as JSON: the only state a new leader needs to resume. */
export const REMEDIATION_ANNOTATION = 'surgeguard.io/remediation';
/** Unix seconds of the last remediation started on the node, for the cooldown. */
export const LAST_REMEDIATION_ANNOTATION = 'surgeguard.io/last-remediation';

/**
 * The steps of a node remediation. Each step is written to the node before the next one
 * starts, so a leader that dies mid-way leaves a state its successor continues from without
 * repeating a step: cordoned nodes are not cordoned again, raised floors not raised again.
 */
export type NodePhase = 'awaiting-replacements' | 'draining' | 'drained';

export interface NodeRemediation {
  /** The finding key that started it. */
  key: string;
  check: string;
  fault: Extract<FaultClass, 'fatal' | 'degraded'>;
  phase: NodePhase;
  summary: string;
  startedAtUnix: number;
  /** Degraded only: when to drain even if replacements are not ready. */
  deadlineUnix?: number;
  /**
   * Floors this remediation raised (scaler: namespace/name), so each is raised once and the
   * drain waits for the number first asked for, not one recomputed after the scale-up.
   */
  floors?: Array<{ scaler: string; replicas: number }>;
  /**
   * Degraded only: the replacement capacity this drain counted on before cordoning (resource ->
   * GPUs) and the node pool it is in; later drains of the pool count it as taken while this one
   * awaits its replacements.
   */
  claim?: Record<string, number>;
  pool?: string;
}

/** The remediation recorded on a node; undefined when none or unreadable (a hand edit). */
export function remediationOf(node: V1Node): NodeRemediation | undefined {
  const raw = node.metadata?.annotations?.[REMEDIATION_ANNOTATION];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as NodeRemediation;
    return typeof v.key === 'string' && typeof v.phase === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export function lastRemediationUnix(node: V1Node): number | undefined {
  const v = Number(node.metadata?.annotations?.[LAST_REMEDIATION_ANNOTATION]);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Cordoned by anyone: capacity is gone whoever did it, so the gate counts them all. */
export function isCordoned(node: V1Node): boolean {
  return node.spec?.unschedulable === true || (node.spec?.taints ?? []).some((t) => t.key === UNHEALTHY_TAINT.key);
}
