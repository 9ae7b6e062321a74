import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, startupSteps, type ScalingForecast, type ScalingSignals } from '../../../controller/scaling/decide.ts';
import { DEFAULT_POLICY_SETTINGS, type ScalingPolicy } from '../../../controller/scaling/policy.ts';

// One replica serves 1 request per second; pods take 60 s (one 60 s interval) to start: lead = 2 steps.
const policy: ScalingPolicy = {
  ...DEFAULT_POLICY_SETTINGS,
  headroom: 1,
  reactiveHeadroom: 1,
  surgeHeadroom: 1.5,
  quantile: 'p90',
  scaleDownStabilizationSeconds: 300,
  capacityPerReplicaPerSecond: 1,
  startupSeconds: 60,
  minReplicas: 1,
  maxReplicas: 50,
};

const signals = (rates: number[], current: number, recs: ScalingSignals['recentRecommendations'] = []): ScalingSignals => ({
  intervalSeconds: 60,
  demandRates: rates,
  currentReplicas: current,
  recentRecommendations: recs,
});
const forecast = (p90: number[], bandNow?: { p50: number; p90: number }): ScalingForecast => ({ p50: p90.map((v) => v * 0.8), p90, bandNow, source: 'test' });

const cases: { name: string; s: ScalingSignals; f: ScalingForecast; p?: Partial<ScalingPolicy>; now?: number; replicas: number; reason: string }[] = [
  { name: 'sizes for the forecast quantile up to the first interval a new pod serves', s: signals([5], 5), f: forecast([6, 9, 30]), replicas: 9, reason: 'Forecast' },
  { name: 'never below what current demand needs', s: signals([12], 5), f: forecast([3, 3]), replicas: 12, reason: 'Reactive' },
  { name: 'demand above the band is a surge: current demand times the surge headroom', s: signals([20], 5), f: forecast([10, 10], { p50: 8, p90: 10 }), replicas: 30, reason: 'Surge' },
  { name: 'scale-down holds the highest recommendation of the window', s: signals([2], 10, [{ atSeconds: 900, replicas: 8 }]), f: forecast([2, 2]), now: 1000, replicas: 8, reason: 'Stabilized' },
  { name: 'recommendations older than the window no longer hold', s: signals([2], 10, [{ atSeconds: 600, replicas: 8 }]), f: forecast([2, 2]), now: 1000, replicas: 2, reason: 'Forecast' },
  { name: 'scale-down rate limit', s: signals([2], 10), f: forecast([2, 2]), p: { scaleDownPercentPerMinute: 20 }, replicas: 8, reason: 'ScaleDownLimited' },
  { name: 'scale-up limit: double or +4 per 15 s', s: signals([1], 1), f: forecast([200, 200]), p: { maxReplicas: 1000 }, replicas: 40, reason: 'ScaleUpLimited' },
  { name: 'a floor holds until it expires', s: signals([1], 3), f: forecast([1, 1]), p: { floor: { replicas: 6, expiresAtSeconds: 2000, reason: 'NodeDrain' } }, now: 1000, replicas: 6, reason: 'Floor' },
  { name: 'an expired floor does not bind', s: signals([1], 3), f: forecast([1, 1]), p: { floor: { replicas: 6, expiresAtSeconds: 900, reason: 'NodeDrain' } }, now: 1000, replicas: 1, reason: 'Forecast' },
  { name: 'max replicas', s: signals([100], 40), f: forecast([100, 100]), replicas: 50, reason: 'MaxReplicas' },
  { name: 'min replicas', s: signals([0], 1), f: forecast([0, 0]), p: { minReplicas: 2 }, replicas: 2, reason: 'MinReplicas' },
];

for (const c of cases) {
  test(`decide: ${c.name}`, () => {
    const d = decide(c.s, c.f, { ...policy, ...c.p }, c.now ?? 1000);
    assert.equal(d.replicas, c.replicas);
    assert.equal(d.reason, c.reason);
  });
}

test('decide is pure: same inputs, same decision, inputs untouched', () => {
  const s = signals([5, 6], 5, [{ atSeconds: 950, replicas: 7 }]);
  const f = forecast([6, 9]);
  const snapshot = JSON.stringify([s, f]);
  assert.deepEqual(decide(s, f, policy, 1000), decide(s, f, policy, 1000));
  assert.equal(JSON.stringify([s, f]), snapshot);
});

test('rate conversions do not round an exact need up (30/300 over 10/300 is 3)', () => {
  const d = decide({ intervalSeconds: 300, demandRates: [30 / 300], currentReplicas: 1, recentRecommendations: [] }, { p50: [0, 0], p90: [0, 0], source: 't' }, { ...policy, capacityPerReplicaPerSecond: 10 / 300, startupSeconds: 300 }, 0);
  assert.equal(d.replicas, 3);
});

test('startup seconds round up to whole intervals', () => {
  assert.equal(startupSteps({ startupSeconds: 61 }, 60), 2);
  assert.equal(startupSteps({ startupSeconds: 120 }, 60), 2);
  assert.equal(startupSteps({ startupSeconds: 0 }, 60), 0);
});
