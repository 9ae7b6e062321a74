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
}

export interface BudgetGrant {
  readonly key: string;
  readonly replicas: number;
  /** Replicas asked for and not granted (0: nothing cut). */
  readonly cut: number;
}

/**
 * Splits `available` GPUs (what the claims' targets may hold in all: their current pods' GPUs plus
 * the free ones) among the claims. Each gets its floor first (min(want, max(current, minReplicas))),
 * then, class by class from the highest priority, the rest is water-filled in proportion to weight
 * up to each one's want, in whole replicas.
 */
export function splitBudget(claims: readonly BudgetClaim[], available: number): BudgetGrant[] {
  const granted = new Map<string, number>();
  let left = available;
  // Floors first, for every class: running pods are not up for grabs.
  for (const c of claims) {
    const floor = Math.min(c.want, Math.max(c.current, c.minReplicas));
    granted.set(c.key, floor);
    left -= floor * c.gpusPerReplica;
  }
  const priorities = [...new Set(claims.map((c) => c.priority))].sort((a, b) => b - a);
  for (const p of priorities) {
    let open = claims.filter((c) => c.priority === p && (granted.get(c.key) ?? 0) < c.want);
    // Water-filling in GPUs: each round offers every open claim its weight's share of what is left,
    // rounded down to whole replicas; claims that reach their want drop out and free their share.
    while (open.length > 0 && left > 0) {
      const weights = open.reduce((s, c) => s + c.weight, 0);
      let progressed = false;
      for (const c of open) {
        const share = (left * c.weight) / weights;
        const room = c.want - (granted.get(c.key) ?? 0);
        const add = Math.min(room, Math.floor(share / c.gpusPerReplica + 1e-9));
        if (add > 0) {
          granted.set(c.key, (granted.get(c.key) ?? 0) + add);
          progressed = true;
        }
      }
      left = available - claims.reduce((s, c) => s + (granted.get(c.key) ?? 0) * c.gpusPerReplica, 0);
      open = open.filter((c) => (granted.get(c.key) ?? 0) < c.want);
      if (!progressed) {
        // Shares too small for a whole replica each: the rest goes one replica at a time, to the
        // heaviest claim that still fits (ties by key, so the outcome does not depend on order).
        const fits = open.filter((c) => c.gpusPerReplica <= left).sort((a, b) => b.weight - a.weight || a.key.localeCompare(b.key));
        const first = fits[0];
        if (!first) break;
        granted.set(first.key, (granted.get(first.key) ?? 0) + 1);
        left -= first.gpusPerReplica;
        open = open.filter((c) => (granted.get(c.key) ?? 0) < c.want);
      }
    }
  }
  return claims.map((c) => {
    const replicas = granted.get(c.key) ?? 0;
    return { key: c.key, replicas, cut: Math.max(0, c.want - replicas) };
  });
}
