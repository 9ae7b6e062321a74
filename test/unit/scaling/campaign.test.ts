// Campaign windows (controller/scaling/campaign.ts): when a window is on, what it asks for, and what
// it remembers. Pure logic; the live loop's use is in test/unit/controller/tick.test.ts, replay's in
// test/unit/replay/cli-schedule.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeWindow, campaignFloor, type CampaignWindow } from '../../../controller/scaling/campaign.ts';
import { policyStep, type PolicyMemory } from '../../../controller/reconcile/policy-step.ts';
import { DEFAULT_POLICY_SETTINGS, type ScalingPolicy } from '../../../controller/scaling/policy.ts';

const launch: CampaignWindow = { name: 'launch', startSeconds: 10_000, durationSeconds: 600, demandMultiplier: 3, prescaleSeconds: 300 };

test('a window is on from start - prescale - startup until its end, and the larger multiplier wins an overlap', () => {
  // Pods ordered at 10,000 - 300 - 120 serve from 9,700: prescale seconds before the start.
  assert.equal(activeWindow([launch], 9_579, 120), undefined);
  assert.equal(activeWindow([launch], 9_580, 120)?.name, 'launch');
  assert.equal(activeWindow([launch], 10_599, 120)?.name, 'launch');
  assert.equal(activeWindow([launch], 10_600, 120), undefined, 'the end is exclusive');
  const small = { ...launch, name: 'small', demandMultiplier: 2, startSeconds: 9_000, durationSeconds: 5_000 };
  assert.equal(activeWindow([small, launch], 10_100, 120)?.name, 'launch');
  assert.equal(activeWindow([small, launch], 12_000, 120)?.name, 'small');
});

test('the window multiplies the median of the last lead intervals when it first applied, not demand as the campaign grows', () => {
  const baselines = new Map<string, number>();
  const x = { nowSeconds: 9_600, startupSeconds: 120, lead: 3, capacity: 10, headroom: 1 };
  // One noisy interval (400) is not tripled: the median of 40, 400, 50 is 50.
  const a = campaignFloor([launch], baselines, { ...x, demandRates: [10, 40, 400, 50] });
  assert.deepEqual(a, { window: 'launch', replicas: 15, baseline: 50, multiplier: 3 });
  const b = campaignFloor([launch], baselines, { ...x, nowSeconds: 10_100, demandRates: [10, 40, 400, 50, 150, 160] });
  assert.equal(b?.replicas, 15, 'demand inside the window is what the window predicted; it is not multiplied again');
  // Headroom multiplies as it does the forecast; rounding up ignores float noise.
  assert.equal(campaignFloor([launch], baselines, { ...x, nowSeconds: 10_100, headroom: 1.1, demandRates: [] })?.replicas, 17);
});

test('the baseline is the median over the whole lead (an even count averages the middle two), a bad or missing sample counts 0', () => {
  const x = { nowSeconds: 9_600, startupSeconds: 120, capacity: 1, headroom: 1 };
  const at = (lead: number, demandRates: number[]): number | undefined => campaignFloor([launch], new Map(), { ...x, lead, demandRates })?.baseline;
  // The last interval alone (10) is not the level: the median of the last 3 is 100.
  assert.equal(at(3, [5, 100, 100, 10]), 100);
  assert.equal(at(2, [5, 10, 30]), 20, 'even count: the mean of the middle two');
  assert.equal(at(4, [1, 40, 10, 30, 20]), 25);
  assert.equal(at(3, [Number.NaN, Infinity, 12]), 0, 'NaN and Infinity count as no demand, so the median is 0');
  // No history yet (a target added during its campaign): the window asks for nothing rather than NaN pods.
  assert.deepEqual(campaignFloor([launch], new Map(), { ...x, lead: 3, demandRates: [] }), { window: 'launch', replicas: 0, baseline: 0, multiplier: 3 });
});

test('of overlapping windows the largest multiplier wins wherever it is listed; at a tie the first listed', () => {
  const small = { ...launch, name: 'small', demandMultiplier: 2, startSeconds: 9_000, durationSeconds: 5_000 };
  assert.equal(activeWindow([launch, small], 10_100, 120)?.name, 'launch');
  const twin = { ...launch, name: 'twin' };
  assert.equal(activeWindow([launch, twin], 10_100, 120)?.name, 'launch');
  assert.equal(activeWindow([twin, launch], 10_100, 120)?.name, 'twin');
  // A window that is off never wins, even with the larger multiplier and listed last.
  const later = { ...launch, name: 'later', demandMultiplier: 10, startSeconds: 50_000 };
  assert.equal(activeWindow([launch, later], 10_100, 120)?.name, 'launch');
});

test('a baseline is dropped once its window is off, so the same name on another day starts afresh', () => {
  const baselines = new Map<string, number>();
  const x = { startupSeconds: 0, lead: 1, capacity: 1, headroom: 1 };
  campaignFloor([launch], baselines, { ...x, nowSeconds: 9_800, demandRates: [5] });
  assert.equal(baselines.get('launch'), 5);
  assert.equal(campaignFloor([launch], baselines, { ...x, nowSeconds: 11_000, demandRates: [50] }), undefined);
  assert.equal(baselines.size, 0);
  const tomorrow = { ...launch, startSeconds: launch.startSeconds + 86_400 };
  assert.equal(campaignFloor([tomorrow], baselines, { ...x, nowSeconds: tomorrow.startSeconds, demandRates: [7] })?.replicas, 21);
});

test('in the policy step the window is a rule of its own: the forecast cap at fine intervals does not cut it', () => {
  // 15 s interval, 120 s startup (lead 9), 1 request/s per replica, flat demand of 10/s: the forecast
  // cap lets the forecast rule size for at most 2x the recent peak, 20 replicas. A 3x window asks 30.
  const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, capacityPerReplicaPerSecond: 1, startupSeconds: 120, minReplicas: 1, maxReplicas: 100 };
  const memory: PolicyMemory = { recommendations: [] };
  const flat = Float64Array.from({ length: 40 }, () => 10);
  // A band the forecast cap must cut (p50 = p90, so the warm-up cap on the band's width leaves it).
  const band = { p10: new Float64Array(9).fill(100), p50: new Float64Array(9).fill(100), p90: new Float64Array(9).fill(100) };
  const d = policyStep(memory, { intervalSeconds: 15, demandRates: flat, currentReplicas: 30, forecast: band, source: 'test', campaigns: [launch] }, policy, 9_800);
  assert.ok((d.rules.forecastUncapped ?? 0) >= 100, 'the forecast cap bit the forecast rule');
  assert.equal(d.rules.forecast, 20);
  assert.deepEqual(d.rules.campaign, { window: 'launch', replicas: 30 });
  assert.deepEqual([d.replicas, d.reason], [30, 'Campaign']);
  // Without the window the cap holds the fleet to 20 (held at 30 by the cold start's seeded stabilization).
  const none = policyStep({ recommendations: [] }, { intervalSeconds: 15, demandRates: flat, currentReplicas: 30, forecast: band, source: 'test' }, policy, 9_800);
  assert.equal(none.rules.campaign, undefined);
  assert.equal(none.recommendation.replicas, 20);
  // A reactive-only run (forecasting: false) still has the calendar: it is the operator's knowledge.
  const reactive = policyStep({ recommendations: [] }, { intervalSeconds: 15, demandRates: flat, currentReplicas: 1, forecast: band, source: 'reactive', reactiveOnly: true, campaigns: [launch] }, policy, 9_800);
  assert.equal(reactive.rules.campaign?.replicas, 30);
});
