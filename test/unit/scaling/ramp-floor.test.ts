// The ramp floor (controller/scaling/ramp-floor.ts): current demand plus the median one-step rise of the
// last windowLeads x (K+1) intervals, carried on for K+1 intervals times m, only while that median is
// positive; reaching decide through the policy step at intervals up to rampFloorMaxIntervalSeconds.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { runCli } from '../../helpers/cli-run.ts';
import { rulesRecord, rulesText } from '../../../controller/reconcile/plan.ts';
import { policyStep, type PolicyMemory } from '../../../controller/reconcile/policy-step.ts';
import { decide } from '../../../controller/scaling/decide.ts';
import { DEFAULT_POLICY_SETTINGS, policySettingsSchema, type ScalingPolicy } from '../../../controller/scaling/policy.ts';
import { RAMP_FLOOR_DEFAULTS, rampFloor, validateRampFloorSettings } from '../../../controller/scaling/ramp-floor.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import { runPolicy } from '../../../replay/engine.ts';
import { parseTrace } from '../../../replay/trace.ts';
import { flatForecast } from '../../helpers/forecasts.ts';

test('a rising series is extrapolated by m x (K+1) x the median one-step rise of the last windowLeads x (K+1) intervals', () => {
  // Lead 3 (K = 2): the window is 6 rises. The last 6 rises are 1, 2, 3, 4, 5, 100 (oldest first): a
  // mean would read 19.17, the median is (3 + 4) / 2 = 3.5. Older rises (the 50 at the start) are outside it.
  const d = [0, 50, 51, 53, 56, 60, 65, 165];
  const r = rampFloor(d, { lead: 3, capacity: 10 }, { windowLeads: 2, multiplier: 2 });
  assert.ok(r);
  assert.equal(r.medianRise, 3.5);
  assert.equal(r.demand, 165 + 3.5 * 3 * 2);
  assert.equal(r.replicas, Math.ceil((165 + 21) / 10));
  // m = 1 carries the rise on for exactly one lead; a window of 1 lead takes the last 3 rises (4, 5, 100).
  assert.equal(rampFloor(d, { lead: 3, capacity: 10 }, { windowLeads: 2, multiplier: 1 })?.demand, 165 + 3.5 * 3);
  assert.equal(rampFloor(d, { lead: 3, capacity: 10 }, { windowLeads: 1, multiplier: 2 })?.medianRise, 5);
  // The defaults are the measured ones: 2 leads, m = 2, acceleration 1 x the last rise up to +30% (fourth round).
  assert.deepEqual({ ...RAMP_FLOOR_DEFAULTS }, { windowLeads: 2, multiplier: 2, accelMultiplier: 1, accelMaxGrowth: 0.3 });
  assert.equal(rampFloor(d, { lead: 3, capacity: 10 })?.demand, 186);
  // An odd window: lead 1, 2 leads -> 2 rises; lead 2 -> 4 rises; a steady +10 ramp reads 10 either way.
  const steady = [10, 20, 30, 40, 50, 60];
  assert.equal(rampFloor(steady, { lead: 1, capacity: 1 })?.demand, 60 + 10 * 1 * 2);
  assert.equal(rampFloor(steady, { lead: 2, capacity: 1 })?.demand, 60 + 10 * 2 * 2);
});

test('nothing while the median rise is zero or negative, nor before two intervals were seen', () => {
  const none = (d: number[], lead = 2): unknown => rampFloor(d, { lead, capacity: 1 });
  assert.equal(none([10, 10, 10, 10, 10]), undefined, 'flat');
  assert.equal(none([50, 40, 30, 20, 10]), undefined, 'falling');
  // One spike inside a flat window (rises 0, 0, +90, -90): median 0, so no ramp, where a mean of positive rises would see one.
  assert.equal(none([10, 10, 10, 100, 10]), undefined, 'a lone spike');
  assert.equal(none([10]), undefined);
  assert.equal(none([]), undefined);
  // A short history uses the rises it has.
  assert.equal(rampFloor([10, 14], { lead: 2, capacity: 1 })?.demand, 14 + 4 * 2 * 2);
});

test('bad settings are refused by name', () => {
  assert.throws(() => validateRampFloorSettings({ windowLeads: 0, multiplier: 2 }), /windowLeads/);
  assert.throws(() => validateRampFloorSettings({ windowLeads: 1.5, multiplier: 2 }), /windowLeads/);
  assert.throws(() => validateRampFloorSettings({ windowLeads: 2, multiplier: 0 }), /multiplier/);
  for (const bad of [{ rampFloorMaxIntervalSeconds: -1 }, { rampFloorMultiplier: 0 }, { rampFloorWindowLeads: 0 }, { rampFloorWindowLeads: 1.5 }]) {
    assert.equal(policySettingsSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.deepEqual([DEFAULT_POLICY_SETTINGS.rampFloorMaxIntervalSeconds, DEFAULT_POLICY_SETTINGS.rampFloorMultiplier, DEFAULT_POLICY_SETTINGS.rampFloorWindowLeads], [60, 2, 2]);
});

test('decide keeps the ramp under the other rules, names it Ramp when it binds, and shows it in the rules', () => {
  const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, capacityPerReplicaPerSecond: 10, startupSeconds: 120, minReplicas: 1, maxReplicas: 100 };
  const forecast = { p50: [10, 10, 10], p90: [20, 20, 20], source: 'test' };
  const signals = { intervalSeconds: 60, demandRates: [20], currentReplicas: 2, recentRecommendations: [] };
  const without = decide(signals, forecast, policy, 0);
  assert.deepEqual([without.replicas, without.reason, without.rules.ramp], [2, 'Forecast', undefined]);
  const ramped = decide({ ...signals, rampFloor: { replicas: 6, demand: 56, medianRise: 6 } }, forecast, policy, 0);
  assert.deepEqual([ramped.replicas, ramped.reason, ramped.rules.ramp, ramped.recommendation.replicas], [6, 'Ramp', 6, 6]);
  // The decision message (log line, Event) and GET /api/decisions name its ask; without a ramp they say nothing of it.
  assert.match(rulesText(ramped), /reactive 2, ramp 6, stabilized 6/);
  assert.equal(rulesRecord(ramped).rules.ramp, 6);
  assert.doesNotMatch(rulesText(without), /ramp/);
  const under = decide({ ...signals, rampFloor: { replicas: 1, demand: 10, medianRise: 1 } }, forecast, policy, 0);
  assert.deepEqual([under.replicas, under.reason, under.rules.ramp], [2, 'Forecast', 1], 'a ramp under the forecast changes nothing');
  // Above a learned floor the ramp is named; under it, the learned floor is.
  const both = decide({ ...signals, rampFloor: { replicas: 6, demand: 56, medianRise: 6 }, learnedFloor: { replicas: 4, headroom: 1, windowIntervals: 1 } }, forecast, policy, 0);
  assert.equal(both.reason, 'Ramp');
  const learned = decide({ ...signals, rampFloor: { replicas: 3, demand: 26, medianRise: 1 }, learnedFloor: { replicas: 4, headroom: 1, windowIntervals: 1 } }, forecast, policy, 0);
  assert.equal(learned.reason, 'LearnedFloor');
});

test('the policy step applies the ramp at intervals up to rampFloorMaxIntervalSeconds, not above, not in reactive-only runs', () => {
  const step = (interval: number, settings: Partial<ScalingPolicy> = {}, reactiveOnly = false): { replicas: number; reason: string; ramp: number | undefined } => {
    // Startup one interval: K = 1, lead 2, window 4 rises. Demand +10 an interval; the forecast stays flat at 10.
    const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, capacityPerReplicaPerSecond: 1, startupSeconds: interval, minReplicas: 1, maxReplicas: 1000, ...settings };
    const memory: PolicyMemory = { recommendations: [] };
    const rates = [10, 20, 30, 40, 50, 60];
    const d = policyStep(memory, { intervalSeconds: interval, demandRates: rates, currentReplicas: 60, forecast: flatForecast(10), source: 'test', ...(reactiveOnly ? { reactiveOnly } : {}) }, policy, 0);
    return { replicas: d.replicas, reason: d.reason, ramp: d.rules.ramp };
  };
  // 60 + 10 x 2 x 2 = 100 replicas at capacity 1.
  assert.deepEqual(step(60), { replicas: 100, reason: 'Ramp', ramp: 100 }, 'on by default at 60 s');
  assert.deepEqual(step(15), { replicas: 100, reason: 'Ramp', ramp: 100 });
  assert.deepEqual(step(300), { replicas: 60, reason: 'Reactive', ramp: undefined }, 'off above 60 s by default');
  assert.deepEqual(step(300, { rampFloorMaxIntervalSeconds: 300 }), { replicas: 100, reason: 'Ramp', ramp: 100 });
  assert.equal(step(60, { rampFloorMaxIntervalSeconds: 0 }).ramp, undefined, '0 = off');
  assert.equal(step(60, { rampFloorMultiplier: 1 }).ramp, 80);
  assert.equal(step(60, { rampFloorWindowLeads: 1, rampFloorMultiplier: 3 }).ramp, 120);
  assert.equal(step(60, {}, true).ramp, undefined, 'reactive-only runs get no extrapolation');
});

test('surgeguard replay --ramp-floor: the setting reaches the policy, the JSON records it, and a bad value is one coded line', async () => {
  const trace = fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'sg-ramp-floor-'));
  const replay = (args: string[]): Promise<{ code: number; stderr: string }> => runCli(['replay', ...args], [replayCommand], dir);
  // A 5-minute trace: off by default (60 s), on with --ramp-floor 300.
  const base = ['--trace', trace, '--capacity', '5', '--startup-steps', '1', '--no-compare', '--cpu', '--forecaster', 'holt-winters'];
  const on = join(dir, 'on.csv');
  const off = join(dir, 'off.csv');
  const a = await replay([...base, '--ramp-floor', '300', '--out', on]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal((await replay([...base, '--out', off])).code, 0);
  type Meta = { policy: { rampFloorMaxIntervalSeconds: number }; decision_reasons: Record<string, number> };
  const metaOn = JSON.parse(readFileSync(`${on}.json`, 'utf8')) as Meta;
  const metaOff = JSON.parse(readFileSync(`${off}.json`, 'utf8')) as Meta;
  assert.deepEqual([metaOn.policy.rampFloorMaxIntervalSeconds, metaOff.policy.rampFloorMaxIntervalSeconds], [300, 60]);
  assert.ok((metaOn.decision_reasons.Ramp ?? 0) > 0, JSON.stringify(metaOn.decision_reasons));
  assert.equal(metaOff.decision_reasons.Ramp, undefined);
  const bad = await replay([...base, '--ramp-floor=-5', '--out', join(dir, 'bad.csv')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid policy option: rampFloorMaxIntervalSeconds/);
});

test('no peeking with the ramp on: a jump after the cut leaves every target up to the cut unchanged, and the ramp binds', async () => {
  const trace = fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url));
  const demand = parseTrace(readFileSync(trace, 'utf8'), { file: 'aapl.csv', timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous' }).demand.slice(0, 500);
  // Replayed as if at 60 s, where the ramp is on by default.
  const params = { intervalSeconds: 60, capacity: 20, startupSteps: 2, minReplicas: 1, maxReplicas: 10000, settings: DEFAULT_POLICY_SETTINGS };
  const forecaster = createHoltWintersForecaster();
  const base = await runPolicy({ forecaster }, demand, params);
  assert.ok((base.reasons.Ramp ?? 0) > 0, JSON.stringify(base.reasons));
  for (const cut of [20, 137, 301, 498]) {
    const changed = [...demand.slice(0, cut + 1), ...Array.from({ length: demand.length - cut - 1 }, (_, i) => 1e3 * (i + 1))];
    const run = await runPolicy({ forecaster }, changed, params);
    assert.deepEqual(run.targets.slice(0, cut + 1), base.targets.slice(0, cut + 1), `cut ${cut}`);
  }
});
