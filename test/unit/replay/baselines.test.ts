import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { FRONTIER_VERSION, frontier, hpaTargets, peakHoldTargets, reactivePoints, unservedAtCost, type HpaSettings } from '../../../replay/baselines.ts';
import { conventionCapacity } from '../../../replay/convention.ts';
import { startFleet, type FleetParams } from '../../../replay/fleet.ts';
import { parseTrace } from '../../../replay/trace.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/traces/${name}`, import.meta.url));

// The contract's pseudo-code, line by line: the window of recommendations is an array, its maximum
// taken by spreading. Slow on long windows, obviously right.
function naiveHpa(demand: readonly number[], p: FleetParams, step: number, hpa: HpaSettings): number[] {
  const u = hpa.utilization;
  const window = Math.max(1, Math.ceil(hpa.windowSeconds / step));
  let recs: number[] = [];
  const out: number[] = [];
  let cur = startFleet(demand, p);
  for (const d of demand) {
    let desired = Math.max(p.minReplicas, Math.ceil(d / (p.capacity * u)));
    if (cur > 0 && Math.abs(d / (p.capacity * u * cur) - 1) <= 0.1) desired = cur;
    recs = [...recs, desired].slice(-window);
    let next = cur;
    if (next < desired) next = desired;
    if (next > Math.max(...recs)) next = Math.max(...recs);
    let limit = cur;
    for (let i = 0; i < Math.min(64, Math.max(1, Math.floor(step / 15))); i++) limit = Math.max(2 * limit, limit + 4);
    cur = Math.max(p.minReplicas, Math.min(next, limit));
    out.push(cur);
  }
  return out;
}

function naivePeakHold(demand: readonly number[], p: FleetParams, h: number, w: number): number[] {
  return demand.map((_, t) => Math.max(p.minReplicas, Math.ceil((h * Math.max(...demand.slice(Math.max(0, t - w + 1), t + 1))) / p.capacity)));
}

const demandArb = fc.array(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5000 })), { minLength: 1, maxLength: 300 });
const paramsArb = fc.record({
  capacity: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0.5, max: 40, noNaN: true })),
  startupSteps: fc.integer({ min: 0, max: 8 }),
  minReplicas: fc.integer({ min: 0, max: 3 }),
});

test('hpaTargets (monotonic deque) equals the contract pseudo-code on random series', () => {
  fc.assert(
    fc.property(
      demandArb,
      paramsArb,
      fc.record({ step: fc.constantFrom(15, 60, 300, 600, 1800, 86400), u100: fc.integer({ min: 15, max: 95 }), windowSeconds: fc.constantFrom(15, 300, 1800, 7200, 43200) }),
      (demand, p, { step, u100, windowSeconds }) => {
        const hpa = { utilization: u100 / 100, windowSeconds };
        assert.deepEqual(hpaTargets(demand, p, step, hpa), naiveHpa(demand, p, step, hpa));
      },
    ),
    { numRuns: 300, seed: 11 },
  );
});

test('peakHoldTargets equals the maximum over the window, computed naively', () => {
  fc.assert(
    fc.property(demandArb, paramsArb, fc.integer({ min: 100, max: 200 }), fc.integer({ min: 1, max: 300 }), (demand, p, h100, w) => {
      assert.deepEqual(peakHoldTargets(demand, p, h100 / 100, w), naivePeakHold(demand, p, h100 / 100, w));
    }),
    { numRuns: 300, seed: 12 },
  );
});

// The reference scorer's names: Python writes u100 / 100 and h100 / 100 with str(float) (so 1.0, 2.0).
const U = ['0.15', '0.2', '0.25', '0.3', '0.35', '0.4', '0.45', '0.5', '0.55', '0.6', '0.65', '0.7', '0.75', '0.8', '0.85', '0.9', '0.95'];
const H = ['1.0', '1.05', '1.1', '1.15', '1.2', '1.25', '1.3', '1.35', '1.4', '1.45', '1.5', '1.55', '1.6', '1.65', '1.7', '1.75', '1.8', '1.85', '1.9', '1.95', '2.0'];
const PEAK_WINDOWS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 36, 48, 96, 144, 288];

test('reactivePoints: frontier version 2, 404 points named and ordered as the reference scorer', () => {
  assert.equal(FRONTIER_VERSION, 2);
  const expected = [
    ...[300, 1800, 7200, 43200].flatMap((w) => U.map((u) => `hpa u=${u} window=${w}s`)),
    ...PEAK_WINDOWS.flatMap((w) => H.map((h) => `peak-hold h=${h} window=${w} intervals`)),
  ];
  const pts = reactivePoints([3, 9, 4, 0, 12, 7, 7, 2], { capacity: 2, startupSteps: 1, minReplicas: 1 }, 60);
  assert.equal(pts.length, 404);
  assert.deepEqual(
    pts.map((p) => p.name),
    expected,
  );
  assert.ok(pts.every((p) => Number.isFinite(p.cost) && p.unserved >= 0));
});

test('frontier on a real trace equals the reference scorer\'s, point for point', () => {
  // nyc_taxi rows 9,364-9,476, 30-minute intervals, K = 1, capacity by the convention (2374). The expected
  // points were printed by replay_score.py (frontier(reactive_points(demand, 2374, 1, 1800, 1))).
  const t = parseTrace(readFileSync(fixture('nyc_taxi_9364-9476.csv'), 'utf8'), { file: 'taxi.csv', timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous' });
  const p = { capacity: conventionCapacity(t.demand), startupSteps: 1, minReplicas: 1 };
  assert.equal(p.capacity, 2374);
  const front = frontier(reactivePoints(t.demand, p, t.intervalSeconds));
  const golden: [number, number, string][] = [
    [706, 120218, 'peak-hold h=1.0 window=1 intervals'],
    [718, 115885, 'hpa u=0.95 window=1800s'],
    [741, 103538, 'peak-hold h=1.05 window=1 intervals'],
    [768, 94797, 'hpa u=0.9 window=1800s'],
    [774, 88655, 'peak-hold h=1.1 window=1 intervals'],
    [802, 76369, 'hpa u=0.85 window=1800s'],
    [811, 69280, 'peak-hold h=1.15 window=1 intervals'],
    [846, 59372, 'peak-hold h=1.2 window=1 intervals'],
    [877, 55037, 'peak-hold h=1.25 window=1 intervals'],
    [913, 45143, 'peak-hold h=1.3 window=1 intervals'],
    [944, 44517, 'peak-hold h=1.35 window=1 intervals'],
    [953, 43233, 'peak-hold h=1.3 window=2 intervals'],
    [973, 42143, 'peak-hold h=1.4 window=1 intervals'],
    [978, 40233, 'hpa u=0.7 window=1800s'],
    [1006, 37859, 'peak-hold h=1.45 window=1 intervals'],
    [1011, 35882, 'hpa u=0.95 window=43200s'],
    [1026, 34061, 'peak-hold h=1.0 window=24 intervals'],
    [1040, 29315, 'peak-hold h=1.5 window=1 intervals'],
    [1050, 26493, 'peak-hold h=1.05 window=24 intervals'],
    [1085, 22064, 'hpa u=0.9 window=43200s'],
    [1131, 17948, 'peak-hold h=1.1 window=24 intervals'],
    [1154, 17335, 'peak-hold h=1.15 window=24 intervals'],
    [1212, 14961, 'peak-hold h=1.2 window=24 intervals'],
    [1303, 13324, 'peak-hold h=1.9 window=1 intervals'],
    [1311, 12587, 'peak-hold h=1.3 window=24 intervals'],
    [1371, 11961, 'hpa u=0.7 window=43200s'],
    [1438, 8987, 'peak-hold h=1.5 window=16 intervals'],
    [1472, 6043, 'hpa u=0.45 window=1800s'],
    [1539, 5791, 'peak-hold h=1.6 window=16 intervals'],
    [1640, 4209, 'hpa u=0.45 window=7200s'],
    [1668, 1776, 'hpa u=0.4 window=1800s'],
    [1784, 1773, 'peak-hold h=1.85 window=16 intervals'],
    [1844, 134, 'hpa u=0.4 window=7200s'],
    [1902, 0, 'hpa u=0.35 window=1800s'],
  ];
  assert.deepEqual(
    front.map((x) => [x.cost, x.unserved, x.name]),
    golden,
  );
  // unserved_at_cost from the scorer: clamped below and above, interpolated between.
  assert.equal(unservedAtCost(front, 696), 120218);
  assert.equal(unservedAtCost(front, 771), 91726);
  assert.equal(unservedAtCost(front, 1000), 38367.71428571428);
  assert.equal(unservedAtCost(front, 1234), 14565.241758241758);
  assert.equal(unservedAtCost(front, 1912), 0);
});
