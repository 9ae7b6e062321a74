import { DEFAULT_HPA_POINT, FRONTIER_VERSION, frontier, ReactiveStream, unservedAtCost } from '../replay/baselines.ts';
import { FleetRun, type FleetParams, type FleetTotals } from '../replay/fleet.ts';
import { scoreTotals } from '../replay/summary.ts';

/** One fleet's figures so far, as the replay report's comparison table names them. */
export interface ScoredFleet {
  /** The reactive rule's name as the reference scorer prints it (absent for SurgeGuard). */
  rule?: string;
  /** Pod-intervals paid (starting pods included). */
  cost: number;
  /** Requests not served in their interval (dropped, as the replay contract counts them). */
  unserved: number;
  unservedFraction: number;
  /** Absent where the replay report leaves the cell empty (the interpolated frontier value). */
  unservedIntervals?: number;
  costVsDefaultHpa?: number;
}

/** What /api/demo/state serves as `score`: the stream so far, scored as `surgeguard replay` scores a trace. */
export interface StreamScore {
  /** Intervals scored (0 .. intervals - 1) and the recorded time of the last. */
  intervals: number;
  at: string;
  /** Unserved ÷ the reactive frontier's at the same cost; "inf" as the replay JSON writes an infinite figure. */
  qualityFigure: number | 'inf';
  surgeguard: ScoredFleet;
  defaultHpa: ScoredFleet;
  /** The reactive rule that at no more than SurgeGuard's cost lost the least; null when every rule cost more. */
  bestReactiveRule: ScoredFleet | null;
  /** The frontier interpolated at SurgeGuard's cost: what the quality figure divides by. */
  bestReactiveAtSameCost: Pick<ScoredFleet, 'unserved' | 'unservedFraction'>;
  frontier: { version: number; configurations: number; points: number };
}

/** The demo's score of the stream so far, one interval per push. */
export interface StreamScorer {
  /** Interval t's demand and SurgeGuard's target decided at its end (t = 0, 1, ... in order). */
  push(demand: number, surgeguardTarget: number, atIso: string): void;
  /** The figures over the intervals pushed so far; null before the first. */
  score(): StreamScore | null;
}

/**
 * Scores the demo's stream so far as replay scores a whole trace (docs/replay-contract.md): SurgeGuard's
 * targets and every reactive configuration of the frontier's grid (replay's ReactiveStream) each run on
 * the contract's fleet model from the same starting fleet. A push is O(404); score() builds the frontier
 * (a sort of 404 points) once per interval, when asked.
 */
export function createStreamScorer(p: FleetParams, stepSeconds: number, start: number): StreamScorer {
  const reactive = new ReactiveStream(p, stepSeconds, start);
  const surgeguard = new FleetRun(p, start);
  let at = '';
  let cached: StreamScore | null = null;
  return {
    push(demand, target, atIso) {
      reactive.push(demand);
      surgeguard.step(demand, target);
      at = atIso;
      cached = null;
    },
    score() {
      if (reactive.intervals === 0) return null;
      cached ??= scoreNow({ reactive, sg: surgeguard.totals(), at });
      return cached;
    },
  };
}

function scoreNow(c: { reactive: ReactiveStream; sg: FleetTotals; at: string }): StreamScore {
  const points = c.reactive.points();
  const front = frontier(points);
  const hpa = c.reactive.totalsOf(DEFAULT_HPA_POINT) as FleetTotals;
  const s = scoreTotals(c.sg, { front, defaultHpa: hpa });
  const total = c.sg.demand || 1;
  const rule = s.bestReactiveRule;
  const fleet = (name: string, t: FleetTotals): ScoredFleet => ({ rule: name, cost: t.cost, unserved: t.unserved, unservedFraction: t.unserved / total, unservedIntervals: t.unservedIntervals, costVsDefaultHpa: t.cost / hpa.cost });
  return {
    intervals: c.reactive.intervals,
    at: c.at,
    qualityFigure: Number.isFinite(s.qualityFigure) ? s.qualityFigure : 'inf',
    surgeguard: { cost: s.cost, unserved: c.sg.unserved, unservedFraction: s.unservedFraction, unservedIntervals: s.unservedIntervals, costVsDefaultHpa: s.costVsDefaultHpa },
    defaultHpa: fleet(DEFAULT_HPA_POINT, hpa),
    bestReactiveRule: rule ? fleet(rule.name, c.reactive.totalsOf(rule.name) as FleetTotals) : null,
    bestReactiveAtSameCost: { unserved: unservedAtCost(front, s.cost), unservedFraction: s.bestReactiveUnservedFractionAtEqualCost },
    frontier: { version: FRONTIER_VERSION, configurations: points.length, points: front.length },
  };
}
