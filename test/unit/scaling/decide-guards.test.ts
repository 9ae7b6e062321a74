import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, type Recommendation, type ScalingForecast, type ScalingSignals } from '../../../controller/scaling/decide.ts';
import { DEFAULT_POLICY_SETTINGS, type ScalingPolicy } from '../../../controller/scaling/policy.ts';

// Guards for rules of `decide` that were each broken by hand while every other test still passed:
// the surge band's quantile, the stabilization window's length, the small-fleet scale-down step, and
// the healing floor against maxReplicas.

// One replica serves 1 request per second; pods take 60 s (one 60 s interval) to start.
const policy: ScalingPolicy = {
  ...DEFAULT_POLICY_SETTINGS,
  headroom: 1,
  reactiveHeadroom: 1,
  surgeBandFactor: 1,
  surgeHeadroom: 1.5,
  quantile: 'p90',
  scaleDownStabilizationSeconds: 300,
  scaleDownPercentPerMinute: 100,
  capacityPerReplicaPerSecond: 1,
  startupSeconds: 60,
  minReplicas: 1,
  maxReplicas: 50,
};

const signals = (x: { rate: number; current: number; recs?: readonly Recommendation[]; intervalSeconds?: number }): ScalingSignals => ({
  intervalSeconds: x.intervalSeconds ?? 60,
  demandRates: [x.rate, x.rate, x.rate],
  currentReplicas: x.current,
  recentRecommendations: x.recs ?? [],
});
const flat = (v: number, bandNow?: { p50: number; p90: number }): ScalingForecast => ({ p50: [v, v, v], p90: [v, v, v], bandNow, source: 'test' });

// The band for now is p50 10, p90 20: only demand above p90 (times surgeBandFactor) broke out of it.
const band = { p50: 10, p90: 20 };
const surgeCases: { name: string; rate: number; surge: boolean }[] = [
  { name: 'demand between p50 and p90 of the band is no surge', rate: 15, surge: false },
  { name: 'demand just under p90 is no surge', rate: 19.5, surge: false },
  { name: 'demand above p90 is a surge', rate: 24, surge: true },
];

for (const c of surgeCases) {
  test(`decide surge band: ${c.name}`, () => {
    const d = decide(signals({ rate: c.rate, current: 10 }), flat(5, band), policy, 1000);
    assert.equal(d.surge, c.surge, `${c.rate} requests per second against a band of p50 ${band.p50}, p90 ${band.p90}`);
    if (c.surge) {
      // Sized by current demand times the surge headroom: 24 * 1.5.
      assert.equal(d.replicas, 36);
      assert.equal(d.reason, 'Surge');
      assert.equal(d.rules.surge, 36);
    } else {
      assert.notEqual(d.reason, 'Surge');
      assert.equal(d.rules.surge, 0);
      assert.ok(d.replicas <= Math.ceil(c.rate), `${d.replicas} replicas for ${c.rate} requests per second without a surge`);
    }
  });
}

test('decide surge band: surgeBandFactor scales p90, not p50', () => {
  // 30 is above p90 (20) but not above p90 * 2 (40); it is above p50 * 2 (20).
  const d = decide(signals({ rate: 30, current: 10 }), flat(5, band), { ...policy, surgeBandFactor: 2 }, 1000);
  assert.equal(d.surge, false, '30 is not above p90 20 x surgeBandFactor 2');
  assert.equal(decide(signals({ rate: 41, current: 10 }), flat(5, band), { ...policy, surgeBandFactor: 2 }, 1000).surge, true, '41 is above p90 20 x surgeBandFactor 2');
});

// Demand fell to 2; a recommendation of 8 made a while ago holds the fleet of 10 at 8 for the whole window.
for (const share of [0.1, 0.6, 0.9]) {
  test(`decide stabilization: a high recommendation made ${share} x the window ago still holds the fleet up`, () => {
    const window = policy.scaleDownStabilizationSeconds;
    const now = 10_000;
    const recs = [{ atSeconds: now - share * window, replicas: 8 }];
    const d = decide(signals({ rate: 2, current: 10, recs }), flat(2), policy, now);
    assert.equal(d.replicas, 8, `a recommendation of 8 made ${share * window} s ago inside a ${window} s window`);
    assert.equal(d.reason, 'Stabilized');
    assert.equal(d.rules.stabilized, 8);
  });
}

test('decide stabilization: a longer window holds an older recommendation', () => {
  const now = 10_000;
  const recs = [{ atSeconds: now - 1200, replicas: 8 }];
  assert.equal(decide(signals({ rate: 2, current: 10, recs }), flat(2), { ...policy, scaleDownStabilizationSeconds: 1800 }, now).replicas, 8);
  assert.equal(decide(signals({ rate: 2, current: 10, recs }), flat(2), { ...policy, scaleDownStabilizationSeconds: 600 }, now).replicas, 2);
});

/** Runs `decide` every interval with demand at zero, feeding back each recommendation as the live loop does. */
function shrink(start: number, p: ScalingPolicy, intervalSeconds: number, calls: number): number[] {
  const fleet = [start];
  let recs: Recommendation[] = [];
  let now = 100_000;
  for (let i = 0; i < calls; i++) {
    now += intervalSeconds;
    const d = decide(signals({ rate: 0, current: fleet.at(-1) ?? 0, recs, intervalSeconds }), flat(0), p, now);
    fleet.push(d.replicas);
    recs = [...recs, d.recommendation].filter((r) => r.atSeconds >= now - p.scaleDownStabilizationSeconds - intervalSeconds);
  }
  return fleet;
}

// 20% a minute at 15 s intervals is 5% of the fleet per interval: for 2 or 3 pods that rounds to no pod,
// which would hold a small fleet forever. One pod per interval is the least it may shrink.
for (const start of [2, 3]) {
  test(`decide scale-down: a fleet of ${start} at 15 s intervals and 20%/min still shrinks one pod per interval`, () => {
    const p = { ...policy, scaleDownPercentPerMinute: 20, scaleDownStabilizationSeconds: 30, minReplicas: 1 };
    const fleet = shrink(start, p, 15, 12);
    for (let i = 1; i < fleet.length; i++) {
      const step = (fleet[i - 1] ?? 0) - (fleet[i] ?? 0);
      assert.ok(step === 0 || step === 1, `fleet ${fleet.join(' ')}`);
    }
    assert.equal(fleet.at(-1), 1, `fleet ${fleet.join(' ')}`);
    // Once it starts shrinking it does not stop until minReplicas.
    const first = fleet.findIndex((r) => r < start);
    assert.deepEqual(fleet.slice(first, first + start - 1), Array.from({ length: start - 1 }, (_, i) => start - 1 - i), `fleet ${fleet.join(' ')}`);
  });
}

test('decide scale-down: one interval with nothing in the window takes a 2-pod fleet at 20%/min down by one', () => {
  const now = 100_000;
  // Recommendations of zero pods throughout the window, so stabilization no longer holds anything.
  const recs = [0, 15, 30].map((ago) => ({ atSeconds: now - ago - 15, replicas: 0 }));
  const d = decide(signals({ rate: 0, current: 2, recs, intervalSeconds: 15 }), flat(0), { ...policy, scaleDownPercentPerMinute: 20, scaleDownStabilizationSeconds: 30, minReplicas: 0 }, now);
  assert.equal(d.replicas, 1);
  assert.equal(d.reason, 'ScaleDownLimited');
});

// The healing floor asks for replacement capacity; maxReplicas is the user's hard ceiling and wins.
const floorCases: { name: string; rate: number; current: number; floor: number; max: number }[] = [
  { name: 'a floor above maxReplicas with little demand', rate: 1, current: 3, floor: 80, max: 50 },
  { name: 'a floor above maxReplicas while demand also exceeds it', rate: 200, current: 50, floor: 80, max: 50 },
  { name: 'a floor one above maxReplicas', rate: 1, current: 5, floor: 6, max: 5 },
  { name: 'a floor above maxReplicas while the fleet is already above it', rate: 1, current: 60, floor: 70, max: 50 },
];

for (const c of floorCases) {
  test(`decide floor: ${c.name} is capped at maxReplicas`, () => {
    const p = { ...policy, maxReplicas: c.max, floor: { replicas: c.floor, expiresAtSeconds: 5000, reason: 'NodeDrain' } };
    const d = decide(signals({ rate: c.rate, current: c.current }), flat(c.rate), p, 1000);
    assert.equal(d.replicas, c.max, `floor ${c.floor} above maxReplicas ${c.max}`);
    assert.equal(d.reason, 'MaxReplicas');
  });
}

test('decide floor: a floor at or below maxReplicas still binds', () => {
  const p = { ...policy, maxReplicas: 50, floor: { replicas: 50, expiresAtSeconds: 5000, reason: 'NodeDrain' } };
  const d = decide(signals({ rate: 1, current: 3 }), flat(1), p, 1000);
  assert.equal(d.replicas, 50);
  assert.equal(d.reason, 'Floor');
});
