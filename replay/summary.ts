import { DEFAULT_HPA, bestAtCost, frontier, hpaTargets, reactivePoints, unservedAtCost, type ReactivePoint } from './baselines.ts';
import { simulateFleet, type FleetParams, type FleetResult, type FleetTotals } from './fleet.ts';

/** A policy's figures against the reactive baselines, named as the reference scorer prints them. */
export interface Score {
  readonly qualityFigure: number;
  readonly unservedFraction: number;
  readonly unservedIntervals: number;
  readonly cost: number;
  readonly defaultHpaUnservedFraction: number;
  readonly defaultHpaCost: number;
  readonly costVsDefaultHpa: number;
  readonly bestReactiveUnservedFractionAtEqualCost: number;
  /**
   * The reactive configuration that at no more than the policy's cost left the least unserved
   * demand (the frontier's point at or below it; the figure above interpolates to the next one).
   * Undefined when every configuration cost more.
   */
  readonly bestReactiveRule?: ReactivePoint;
  readonly fleet: FleetResult;
}

/** The reactive baselines of one trace, computed once and shared by every policy scored on it. */
export interface BaselineSet {
  readonly front: ReactivePoint[];
  readonly defaultHpa: FleetResult;
}

/** Runs the default HPA and every reactive configuration on a demand series. */
export function computeBaselines(demand: readonly number[], p: FleetParams, stepSeconds: number): BaselineSet {
  return {
    front: frontier(reactivePoints(demand, p, stepSeconds)),
    defaultHpa: simulateFleet(demand, hpaTargets(demand, p, stepSeconds, DEFAULT_HPA), p),
  };
}

/**
 * Scores a policy's targets per the replay contract: its unserved demand divided by the best reactive
 * baseline's at equal cost (the quality figure), and its cost against the default HPA's.
 */
export function scoreTargets(demand: readonly number[], targets: readonly number[], p: FleetParams, baselines: BaselineSet): Score {
  const sim = simulateFleet(demand, targets, p);
  return { ...scoreTotals(sim, { front: baselines.front, defaultHpa: baselines.defaultHpa }), fleet: sim };
}

/**
 * The same figures from a fleet's totals, for a caller that ran the fleet itself one interval at a
 * time (the demo scores the stream so far at every tick).
 */
export function scoreTotals(sim: FleetTotals, baselines: { readonly front: readonly ReactivePoint[]; readonly defaultHpa: FleetTotals }): Omit<Score, 'fleet'> {
  const ref = unservedAtCost(baselines.front, sim.cost);
  const total = sim.demand || 1;
  // Below 1e-9 of the total counts as nothing unserved, so 0/0 is 0 and x/0 is infinite.
  const quality = ref > 0 ? sim.unserved / ref : sim.unserved <= 1e-9 * total ? 0 : Infinity;
  return {
    qualityFigure: quality,
    unservedFraction: sim.unserved / total,
    unservedIntervals: sim.unservedIntervals,
    cost: sim.cost,
    defaultHpaUnservedFraction: baselines.defaultHpa.unserved / total,
    defaultHpaCost: baselines.defaultHpa.cost,
    costVsDefaultHpa: sim.cost / baselines.defaultHpa.cost,
    bestReactiveUnservedFractionAtEqualCost: ref / total,
    bestReactiveRule: bestAtCost(baselines.front, sim.cost),
  };
}
