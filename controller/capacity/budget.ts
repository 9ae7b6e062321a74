/**
 * One GPU budget for the co-located scalers of a cluster: when what their decisions ask for exceeds
 * the GPUs there are, the growth is split by priority, then by weight (water-filling), so that a
 * surge on the ranking model is not starved by a batch job's forecast. Pure: the tick applies the
 * caps it returns as decisions of their own (reason `GpuBudget`).
 *
 * The budget never takes GPUs from pods that run: a scaler keeps at least what it has now (and
 * its minReplicas), because the pods it runs hold their GPUs whatever this function says, and
 * shrinking a fleet to make room is a scale-down the scaler's own rules did not ask for. Only
 * the growth is shared.
 */
export interface BudgetClaim {
  readonly key: string;
  /** GPUs (of the budget's resource) one replica requests. */
  readonly gpusPerReplica: number;
  /** Higher first; a class gets all it asks before a lower one gets anything. */
  readonly priority: number;
  /** Within a class, the share of the growth left after floors, in proportion to weight. */
  readonly weight: number;
  /** Replicas that run now (they hold their GPUs). */
  readonly current: number;
  readonly minReplicas: number;
  /** Replicas the scaler's decision asks for. */
  readonly want: number;
  /** Replicas reserved by a node repair in progress (its replacements): part of the floor. */
  readonly reserved?: number;
}

export interface BudgetGrant {
  readonly key: string;
  readonly replicas: number;
  /** Replicas asked for and not granted (0: nothing cut). */
  readonly cut: number;
}

/**
 * Splits `available` GPUs (what the claims' targets may hold in all: their current pods' GPUs plus
 * the free ones) among the claims. Each gets its floor first (min(want, max(current, minReplicas,
 * reserved))),
 * then, class by class from the highest priority, the rest is water-filled in proportion to weight
 * up to each one's want, in whole replicas.
 */
export function splitBudget(claims: readonly BudgetClaim[], available: number): BudgetGrant[] {
  const granted = new Map<string, number>();
  let left = available;
  // Floors first, for every class: running pods are not up for grabs.
  for (const c of claims) {
    const floor = Math.min(c.want, Math.max(c.current, c.minReplicas, c.reserved ?? 0));
    granted.set(c.key, floor);
    left -= floor * c.gpusPerReplica;
  }
  const priorities = [...new Set(claims.map((c) => c.priority))].sort((a, b) => b - a);
  const used = (): number => claims.reduce((s, c) => s + (granted.get(c.key) ?? 0) * c.gpusPerReplica, 0);
  for (const p of priorities) {
    let open = claims.filter((c) => c.priority === p && (granted.get(c.key) ?? 0) < c.want);
    while (open.length > 0 && left > 0) {
      const progressed = waterFillRound(open, left, granted);
      left = available - used();
      if (!progressed && !oneMore(open, left, granted)) break;
      left = available - used();
      open = open.filter((c) => (granted.get(c.key) ?? 0) < c.want);
    }
  }
  return claims.map((c) => {
    const replicas = granted.get(c.key) ?? 0;
    return { key: c.key, replicas, cut: Math.max(0, c.want - replicas) };
  });
}

/**
 * One round of water-filling in GPUs: every open claim is offered its weight's share of what is
 * left, rounded down to whole replicas and capped at its want. Says whether anyone got a replica.
 */
function waterFillRound(open: readonly BudgetClaim[], left: number, granted: Map<string, number>): boolean {
  const weights = open.reduce((s, c) => s + c.weight, 0);
  let progressed = false;
  for (const c of open) {
    const room = c.want - (granted.get(c.key) ?? 0);
    const add = Math.min(room, Math.floor((left * c.weight) / weights / c.gpusPerReplica + 1e-9));
    if (add <= 0) continue;
    granted.set(c.key, (granted.get(c.key) ?? 0) + add);
    progressed = true;
  }
  return progressed;
}

/**
 * When the shares are too small for a whole replica each, the rest goes one replica at a time, to
 * the heaviest claim that still fits (ties by key, so the outcome does not depend on order).
 */
function oneMore(open: readonly BudgetClaim[], left: number, granted: Map<string, number>): boolean {
  const first = open.filter((c) => c.gpusPerReplica <= left).sort((a, b) => b.weight - a.weight || a.key.localeCompare(b.key))[0];
  if (!first) return false;
  granted.set(first.key, (granted.get(first.key) ?? 0) + 1);
  return true;
}
