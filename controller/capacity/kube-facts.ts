import type { V1Node, V1Pod } from '@kubernetes/client-node';

// The small readings of Nodes and Pods that the budget, the placeholder pools and the drains'
// replacement check all make; one copy so that the three never disagree on what Ready or a
// device quantity means.

export function isNodeReady(n: V1Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** A pod that has run to its end holds nothing. */
export function isPodFinished(p: V1Pod): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

/** An extended resource's quantity is a whole number ("8"); anything else counts as 0. */
export function deviceQuantity(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** client-node gives Dates for timestamps; a cache fed raw JSON gives strings. Missing or unreadable: `otherwise`. */
export function timestampMs(v: Date | string | undefined, otherwise: number): number {
  if (v === undefined) return otherwise;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? t : otherwise;
}
