import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { frontier, hpaTargets, peakHoldTargets, unservedAtCost } from '../../../replay/baselines.ts';
import { simulateFleet } from '../../../replay/fleet.ts';
import { computeBaselines, scoreTargets } from '../../../replay/summary.ts';

// Tiny cases worked out by hand from the contract's fleet model (capacity 10, K = 1).
const P = { capacity: 10, startupSteps: 1, minReplicas: 1 };

test('fleet: starts sized for d_0..d_K, new pods serve K+1 intervals after the decision', () => {
  // start: ceil(max(10, 20) / 10) = 2 pods. t=0 target 4 -> 2 new pods serve from t=2.
  const sim = simulateFleet([10, 20, 40, 40], [4, 4, 4, 4], P);
  assert.deepEqual(sim.ready, [2, 2, 4, 4]);
  assert.deepEqual(sim.existing, [2, 4, 4, 4]);
  assert.equal(sim.unserved, 0);
});

test('fleet: shrinking removes starting pods first, then the newest serving ones', () => {
  // start 1 pod. t=0 -> 3 (two start, serve from t=2). t=1 -> 2: one starting pod removed.
  const sim = simulateFleet([5, 5, 30, 30], [3, 2, 2, 1], P);
  assert.deepEqual(sim.existing, [1, 3, 2, 2]);
  assert.deepEqual(sim.ready, [1, 1, 2, 2]);
  assert.equal(sim.unserved, 20); // t=2 and t=3: 30 - 20 each
  assert.equal(sim.unservedIntervals, 2);
  assert.equal(sim.cost, 8);
});

test('fleet with backlog: unserved work waits', () => {
  const sim = simulateFleet([5, 30, 0, 0], [1, 1, 1, 1], { ...P, startupSteps: 0 }, true);
  // 1 pod serves 10 per interval: queue 20, then 10, then 0.
  assert.equal(sim.maxBacklog, 20);
  assert.equal(sim.backlogIntervalSum, 30);
  assert.equal(sim.unserved, 0);
});

test('default HPA: scales up at once within its limit, down after the window', () => {
  // u = 0.7: 70 -> ceil(70 / 7) = 10; step 60 s -> 4 doublings allowed (limit never binds here).
  const t = hpaTargets([7, 70, 7, 7, 7, 7, 7, 7], { ...P, startupSteps: 0 }, 60);
  assert.deepEqual(t, [1, 10, 10, 10, 10, 10, 1, 1]);
});

test('peak hold: h times the highest demand of the window', () => {
  assert.deepEqual(peakHoldTargets([10, 30, 10, 10], P, 1.5, 2), [2, 5, 5, 2]);
});

test('frontier keeps points that beat every cheaper point; interpolation is clamped', () => {
  const f = frontier([
    { cost: 10, unserved: 100, name: 'a' },
    { cost: 20, unserved: 120, name: 'b' },
    { cost: 30, unserved: 50, name: 'c' },
    { cost: 30, unserved: 40, name: 'd' },
  ]);
  assert.deepEqual(f.map((p) => p.name), ['a', 'd']);
  assert.equal(unservedAtCost(f, 5), 100);
  assert.equal(unservedAtCost(f, 20), 70);
  assert.equal(unservedAtCost(f, 99), 40);
});

test('quality figure: 0 when nothing is unserved, infinite when reactive serves all at that cost', () => {
  const demand = [10, 10, 10, 10];
  const b = computeBaselines(demand, P, 300);
  assert.equal(scoreTargets(demand, [1, 1, 1, 1], P, b).qualityFigure, 0);
  const spike = [10, 10, 100, 10];
  const bs = computeBaselines(spike, P, 300);
  const s = scoreTargets(spike, [1, 1, 1, 1], P, bs);
  assert.equal(s.fleet.unserved, 90);
  assert.equal(s.cost, 4);
  assert.equal(s.costVsDefaultHpa, 4 / bs.defaultHpa.cost);
});

// The contract's fleet as the reference scorer writes it: one entry per pod (its first serving
// interval), kept sorted, cut from the end. Slow for large fleets, obviously right.
function naiveFleet(demand: readonly number[], targets: readonly number[], p: { capacity: number; startupSteps: number; minReplicas: number }): { ready: number[]; existing: number[]; unserved: number; cost: number } {
  let peak = 0;
  for (let i = 0; i <= p.startupSteps && i < demand.length; i++) peak = Math.max(peak, demand[i] ?? 0);
  let pods: number[] = new Array<number>(Math.max(p.minReplicas, Math.ceil(peak / p.capacity))).fill(0);
  const ready: number[] = [];
  const existing: number[] = [];
  let unserved = 0;
  let cost = 0;
  demand.forEach((d, s) => {
    const r = pods.filter((x) => x <= s).length;
    ready.push(r);
    existing.push(pods.length);
    cost += pods.length;
    unserved += Math.max(0, d - p.capacity * r);
    const t = targets[s] ?? pods.length;
    pods = t > pods.length ? [...pods, ...new Array<number>(t - pods.length).fill(s + 1 + p.startupSteps)] : pods.slice(0, t);
  });
  return { ready, existing, unserved, cost };
}

test('fleet (pods grouped, serving groups merged as it goes) equals one entry per pod, on random series', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 120 }),
      fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 120, maxLength: 120 }),
      fc.record({ capacity: fc.integer({ min: 1, max: 40 }), startupSteps: fc.integer({ min: 0, max: 6 }), minReplicas: fc.integer({ min: 0, max: 3 }) }),
      (demand, targets, p) => {
        const sim = simulateFleet(demand, targets, p);
        assert.deepEqual({ ready: sim.ready, existing: sim.existing, unserved: sim.unserved, cost: sim.cost }, naiveFleet(demand, targets, p));
      },
    ),
    { numRuns: 300, seed: 21 },
  );
});
