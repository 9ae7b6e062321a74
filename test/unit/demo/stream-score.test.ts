// The demo's score of the stream so far against replay's batch scoring of the same prefix: the
// incremental frontier (one interval per push) must give what reactivePoints + frontier + scoreTargets
// give when run from scratch on d_0..d_t, at every t, and the best rule must be the frontier's point at
// or below SurgeGuard's cost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { startDemo } from '../../../demo/demo.ts';
import { createStreamScorer, type StreamScore } from '../../../demo/stream-score.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import { DEFAULT_HPA_POINT, frontier, hpaTargets, reactivePoints, unservedAtCost } from '../../../replay/baselines.ts';
import { simulateFleet, startFleet, type FleetParams } from '../../../replay/fleet.ts';
import { computeBaselines, scoreTargets } from '../../../replay/summary.ts';

/** Replay's figures for the prefix d_0..d_t, computed from scratch, in the stream score's shape. */
function batchScore(demand: readonly number[], targets: readonly number[], p: FleetParams, step: number): Omit<StreamScore, 'at' | 'intervals'> {
  const s = scoreTargets(demand, targets, p, computeBaselines(demand, p, step));
  const front = frontier(reactivePoints(demand, p, step));
  const total = s.fleet.demand || 1;
  const hpa = simulateFleet(demand, hpaTargets(demand, p, step), p);
  const rule = s.bestReactiveRule;
  const byName = (name: string): ReturnType<typeof simulateFleet> => {
    const [kind, a, b] = name.split(/ [uh]=| window=/);
    // Rebuild the rule's run from its name alone: an independent path to its figures.
    const settings = { value: Number(a), window: Number((b ?? '').replace(/s$| intervals$/, '')) };
    const targetsOf = kind === 'hpa' ? hpaTargets(demand, p, step, { utilization: settings.value, windowSeconds: settings.window }) : demand.map((_, t) => Math.min(p.maxReplicas ?? Infinity, Math.max(p.minReplicas, Math.ceil((settings.value * Math.max(...demand.slice(Math.max(0, t - settings.window + 1), t + 1))) / p.capacity))));
    return simulateFleet(demand, targetsOf, p);
  };
  const fleet = (name: string, r: ReturnType<typeof simulateFleet>): StreamScore['defaultHpa'] => ({ rule: name, cost: r.cost, unserved: r.unserved, unservedFraction: r.unserved / total, unservedIntervals: r.unservedIntervals, costVsDefaultHpa: r.cost / hpa.cost });
  return {
    qualityFigure: Number.isFinite(s.qualityFigure) ? s.qualityFigure : 'inf',
    surgeguard: { cost: s.cost, unserved: s.fleet.unserved, unservedFraction: s.unservedFraction, unservedIntervals: s.unservedIntervals, costVsDefaultHpa: s.costVsDefaultHpa },
    defaultHpa: fleet(DEFAULT_HPA_POINT, hpa),
    bestReactiveRule: rule ? fleet(rule.name, byName(rule.name)) : null,
    bestReactiveAtSameCost: { unserved: unservedAtCost(front, s.cost), unservedFraction: s.bestReactiveUnservedFractionAtEqualCost },
    frontier: { version: 2, configurations: 404, points: front.length },
  };
}

test('the stream score after each interval equals replay\'s score of the prefix, computed from scratch', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 900 })), { minLength: 8, maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 40, maxLength: 40 }),
      fc.record({ capacity: fc.integer({ min: 5, max: 40 }), startupSteps: fc.integer({ min: 0, max: 3 }), minReplicas: fc.integer({ min: 0, max: 2 }), maxReplicas: fc.constantFrom(undefined, 12, 1000) }),
      fc.constantFrom(60, 300),
      (demand, targets, params, step) => {
        const p: FleetParams = params.maxReplicas === undefined ? { ...params, maxReplicas: undefined } : params;
        const scorer = createStreamScorer(p, step, startFleet(demand, p));
        for (let t = 0; t < demand.length; t++) {
          scorer.push(demand[t] as number, targets[t] as number, `t${t}`);
          // Before K + 1 intervals the prefix's own starting fleet would look at fewer values than the stream's.
          if (t < p.startupSteps) continue;
          const { at, intervals, ...got } = scorer.score() as StreamScore;
          assert.equal(intervals, t + 1);
          assert.equal(at, `t${t}`);
          assert.deepEqual(got, batchScore(demand.slice(0, t + 1), targets.slice(0, t + 1), p, step), `after interval ${t}`);
        }
      },
    ),
    { numRuns: 25, seed: 20 },
  );
});

test('the best reactive rule costs no more than SurgeGuard and loses no more than any rule that costs no more', () => {
  const demand = Array.from({ length: 90 }, (_, t) => (t >= 50 && t < 60 ? 600 : 80 + ((t * 37) % 11) * 6));
  const p = { capacity: 20, startupSteps: 2, minReplicas: 1, maxReplicas: 100 };
  const targets = demand.map((_, t) => (t >= 45 && t < 62 ? 32 : 6));
  const scorer = createStreamScorer(p, 60, startFleet(demand, p));
  demand.forEach((d, t) => scorer.push(d, targets[t] as number, String(t)));
  const s = scorer.score() as StreamScore;
  const rule = s.bestReactiveRule;
  assert.ok(rule, JSON.stringify(s));
  assert.ok(rule.cost <= s.surgeguard.cost, `${rule.cost} <= ${s.surgeguard.cost}`);
  const affordable = reactivePoints(demand, p, 60).filter((x) => x.cost <= s.surgeguard.cost);
  assert.equal(rule.unserved, Math.min(...affordable.map((x) => x.unserved)));
  // The quality figure divides by the frontier interpolated at SurgeGuard's cost, which lies between that rule and the next.
  assert.ok(s.bestReactiveAtSameCost.unserved <= rule.unserved);
  assert.equal(s.qualityFigure, s.surgeguard.unserved / s.bestReactiveAtSameCost.unserved);
});

test('a SurgeGuard cheaper than every reactive rule has no best rule; nothing pushed, no score', () => {
  const p = { capacity: 10, startupSteps: 1, minReplicas: 0 };
  const scorer = createStreamScorer(p, 60, 1);
  assert.equal(scorer.score(), null);
  for (let t = 0; t < 20; t++) scorer.push(50, 0, String(t));
  const s = scorer.score() as StreamScore;
  assert.equal(s.bestReactiveRule, null);
  assert.equal(s.surgeguard.cost, 1, 'one pod in interval 0, then none');
  assert.equal(s.qualityFigure, s.surgeguard.unserved / s.bestReactiveAtSameCost.unserved);
});

test('the demo serves the score of its stream: SurgeGuard\'s decisions scored as replay scores them, its cost the live fleet\'s', async () => {
  const demand = Array.from({ length: 120 }, (_, t) => (t >= 70 && t < 80 ? 400 : 60 + (t % 7) * 5));
  const params = { capacity: 40, startupSteps: 2, minReplicas: 1, maxReplicas: 100 };
  const running = startDemo(
    { forecaster: createHoltWintersForecaster(), logger: silentLogger(), metrics: createMetricRegistry(), decisions: createDecisionLog(200) },
    { demand, timestamps: demand.map((_, t) => 1_700_000_000 + t * 60), intervalSeconds: 60, ...params, liveFrom: demand.length, tickMs: 0, scaler: 'demo/x' },
    new AbortController().signal,
  );
  await running.done;
  const s = running.score() as StreamScore;
  const targets = running.points().map((x) => x.target);
  const { at, intervals, ...got } = s;
  assert.equal(intervals, demand.length);
  assert.equal(at, new Date((1_700_000_000 + 119 * 60) * 1000).toISOString());
  assert.deepEqual(got, batchScore(demand, targets, params, 60));
  // One starting fleet for all: SurgeGuard's scored cost is what its live fleet paid, the default HPA's too.
  const totals = running.totals();
  assert.equal(s.surgeguard.cost, totals.surgeguard.podIntervals);
  assert.equal(s.defaultHpa.cost, totals.defaultHpa.podIntervals);
});
