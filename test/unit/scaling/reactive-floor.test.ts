// The learned reactive floor (controller/scaling/reactive-floor.ts): each rule of the grid replayed
// causally on the target's own demand, the rule that lost least within the policy's own cost chosen,
// and the floor reaching `decide` through the policy step only when the setting turns it on.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { runCli } from '../../helpers/cli-run.ts';
import { policyStep, type PolicyMemory } from '../../../controller/reconcile/policy-step.ts';
import { decide } from '../../../controller/scaling/decide.ts';
import { DEFAULT_POLICY_SETTINGS, policySettingsSchema, type ScalingPolicy } from '../../../controller/scaling/policy.ts';
import { learnedFloor, newReactiveFloor, REACTIVE_FLOOR_DEFAULTS, observeReactiveFloor, validateReactiveFloorSettings, type ReactiveFloorSettings } from '../../../controller/scaling/reactive-floor.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import { runPolicy } from '../../../replay/engine.ts';
import { parseTrace } from '../../../replay/trace.ts';
import { flatForecast } from '../../helpers/forecasts.ts';

/** Two rules: current demand (w 1) and the peak of the last 4 intervals (w 4), both at h 1; no decay, so sums are exact. */
const GRID: ReactiveFloorSettings = { headrooms: [1], windows: [1, 4], halfLife: Infinity, earnAfter: 1, budget: 1 };

test('a rule serves with the fewest pods it asked for over the last `lead` intervals, and pays for the pods it has', () => {
  const s = newReactiveFloor(2, GRID);
  // Capacity 10 per replica. Asks of rule w=1: 1, 5, 4; of w=4: 1, 5, 5; the policy asks 3 throughout.
  for (const d of [10, 50, 40]) observeReactiveFloor(s, { demand: d, capacity: 10, policyAsk: 3 }, GRID);
  // Scored from the 3rd interval on (lead 2): the 5 pods asked at interval 1 do not serve yet, 1 does.
  assert.equal(s.scored, 1);
  assert.deepEqual(Array.from(s.unserved), [30, 30, 10]);
  assert.deepEqual(Array.from(s.pods), [5, 5, 3], 'pods at interval 2 are what each asked at interval 1');
  observeReactiveFloor(s, { demand: 60, capacity: 10, policyAsk: 3 }, GRID);
  // Interval 3: w=1 serves min(5, 4) = 4 pods (40 of 60), w=4 min(5, 5) = 5 (50 of 60), the policy 3 (30 of 60).
  assert.deepEqual(Array.from(s.unserved), [50, 40, 40]);
  assert.deepEqual(Array.from(s.pods), [9, 10, 6]);
});

test('the floor is the rule that lost least within the policy\'s cost; at equal loss the cheaper one', () => {
  // The holding rule first, so that a tie going to the first rule would pick the dearer one.
  const grid = { ...GRID, windows: [4, 1], budget: 10 };
  const s = newReactiveFloor(1, grid);
  for (const d of [10, 50, 10, 10]) observeReactiveFloor(s, { demand: d, capacity: 10, policyAsk: 1 }, grid);
  // Both rules lost 40 at the jump (1 pod for 50); after it w=4 kept 5 pods: it lost no less, so the cheaper w=1 wins.
  assert.deepEqual(learnedFloor(s, grid), { replicas: 1, headroom: 1, windowIntervals: 1 });
  // A second jump shortly after the first: w=4 still holds 5 pods and serves it; w=1 does not.
  observeReactiveFloor(s, { demand: 50, capacity: 10, policyAsk: 1 }, grid);
  assert.ok((s.unserved[0] as number) < (s.unserved[1] as number));
  assert.deepEqual(learnedFloor(s, grid), { replicas: 5, headroom: 1, windowIntervals: 4 });
  // Within 2.5 times the policy's own pods (4 in all) the holding rule (16) is too dear, the current-demand one (8) is not.
  assert.deepEqual(learnedFloor(s, { ...grid, budget: 2.5 }), { replicas: 5, headroom: 1, windowIntervals: 1 });
  assert.equal(learnedFloor(s, { ...grid, budget: 0.5 }), undefined, 'no rule within half the policy\'s cost');
});

test('nothing binds before `earnAfter` intervals were scored, and a bad grid is refused by name', () => {
  const settings = { ...GRID, earnAfter: 3 };
  const s = newReactiveFloor(2, settings);
  const floors: (number | undefined)[] = [];
  for (let t = 0; t < 6; t++) {
    observeReactiveFloor(s, { demand: 20, capacity: 10, policyAsk: 2 }, settings);
    floors.push(learnedFloor(s, settings)?.replicas);
  }
  // Scoring starts at the third interval (lead 2); the third score is at the fifth.
  assert.deepEqual(floors, [undefined, undefined, undefined, undefined, 2, 2]);
  assert.throws(() => validateReactiveFloorSettings({ ...GRID, headrooms: [0.9] }), /headrooms/);
  assert.throws(() => validateReactiveFloorSettings({ ...GRID, windows: [0] }), /windows/);
  assert.throws(() => validateReactiveFloorSettings({ ...GRID, budget: 0 }), /budget/);
});

test('scoring is causal: demand after a tick does not change the floor decided at it', () => {
  const run = (tail: number[]): (number | undefined)[] => {
    const s = newReactiveFloor(2, GRID);
    const out: (number | undefined)[] = [];
    for (const d of [10, 40, 10, 10, 40, 10, ...tail]) {
      observeReactiveFloor(s, { demand: d, capacity: 10, policyAsk: 2 }, GRID);
      out.push(learnedFloor(s, GRID)?.replicas);
    }
    return out.slice(0, 6);
  };
  assert.deepEqual(run([0, 0]), run([500, 500]));
});

test('decide keeps the learned floor under the other rules and names it when it binds', () => {
  const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, capacityPerReplicaPerSecond: 10, startupSeconds: 120, minReplicas: 1, maxReplicas: 100 };
  const forecast = { p50: [10, 10, 10], p90: [20, 20, 20], source: 'test' };
  const signals = { intervalSeconds: 60, demandRates: [20], currentReplicas: 2, recentRecommendations: [] };
  const without = decide(signals, forecast, policy, 0);
  assert.deepEqual([without.replicas, without.reason, without.rules.learnedFloor], [2, 'Forecast', undefined]);
  const floored = decide({ ...signals, learnedFloor: { replicas: 7, headroom: 1.5, windowIntervals: 8 } }, forecast, policy, 0);
  assert.deepEqual([floored.replicas, floored.reason, floored.rules.learnedFloor, floored.recommendation.replicas], [7, 'LearnedFloor', 7, 7]);
  const under = decide({ ...signals, learnedFloor: { replicas: 1, headroom: 1, windowIntervals: 1 } }, forecast, policy, 0);
  assert.deepEqual([under.replicas, under.reason], [2, 'Forecast'], 'a floor under the forecast changes nothing');
});

test('the policy step learns the floor only at intervals up to learnedFloorMaxIntervalSeconds, from the asks before the floor', () => {
  const stepAll = (interval: number, maxInterval: number): { memory: PolicyMemory; reasons: string[] } => {
    // No stabilization, so the fleet falls back to the forecast after a spike unless a floor holds it;
    // a budget of 3 times the policy's asks lets the floor hold the spike's peak (40, against asks of about 15 a tick).
    // The spike hold (on at 60 s) would hold these lone spikes itself: off, so the learned floor is what is tested.
    const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, scaleDownStabilizationSeconds: 0, spikeHoldMaxIntervalSeconds: 0, learnedFloorMaxIntervalSeconds: maxInterval, learnedFloorBudget: 3, capacityPerReplicaPerSecond: 1, startupSeconds: interval, minReplicas: 1, maxReplicas: 1000 };
    const memory: PolicyMemory = { recommendations: [] };
    const rates: number[] = [];
    const reasons: string[] = [];
    let cur = 10;
    // A one-interval spike to 40 every 6 intervals; the forecast stays at 10 and never sees it coming.
    for (let t = 0; t < 120; t++) {
      rates.push(t % 6 === 5 ? 40 : 10);
      const d = policyStep(memory, { intervalSeconds: interval, demandRates: rates, currentReplicas: cur, forecast: flatForecast(10), source: 'test' }, policy, t * interval);
      reasons.push(d.reason);
      cur = d.replicas;
    }
    return { memory, reasons };
  };
  assert.equal(stepAll(60, 0).memory.reactiveFloor, undefined, 'off by default');
  assert.equal(stepAll(300, 60).memory.reactiveFloor, undefined, 'off above the interval limit');
  const on = stepAll(60, 60);
  assert.ok(on.memory.reactiveFloor && on.memory.reactiveFloor.scored > 100);
  assert.ok(on.reasons.slice(60).filter((r) => r === 'LearnedFloor').length >= 40, `a rule holding the spike floors the fleet between spikes: ${on.reasons.slice(60).join(' ')}`);
  assert.ok(!stepAll(60, 0).reasons.includes('LearnedFloor'));
  // The budget is the policy's asks before the floor (10 a tick, the spike's 40 once in 6), not the floored fleet (40 a tick).
  const st = on.memory.reactiveFloor;
  const holdSpike = REACTIVE_FLOOR_DEFAULTS.windows.indexOf(6) * REACTIVE_FLOOR_DEFAULTS.headrooms.length + REACTIVE_FLOOR_DEFAULTS.headrooms.indexOf(1);
  assert.ok((st.pods[st.pods.length - 1] as number) < 0.6 * (st.pods[holdSpike] as number), `policy ${st.pods[st.pods.length - 1]} vs floor ${st.pods[holdSpike]}`);
  assert.equal(policySettingsSchema.safeParse({ learnedFloorMaxIntervalSeconds: -1 }).success, false);
  assert.equal(policySettingsSchema.safeParse({ learnedFloorBudget: 0 }).success, false);
});

test('surgeguard replay --learned-floor: the setting reaches the policy, the JSON records it, and a bad value is one coded line', async () => {
  const trace = fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'sg-learned-floor-'));
  const replay = (args: string[]): Promise<{ code: number; stderr: string }> => runCli(['replay', ...args], [replayCommand], dir);
  const base = ['--trace', trace, '--capacity', '5', '--startup-steps', '1', '--no-compare', '--cpu', '--forecaster', 'holt-winters'];
  const on = join(dir, 'on.csv');
  const off = join(dir, 'off.csv');
  const a = await replay([...base, '--learned-floor', '300', '--out', on]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal((await replay([...base, '--out', off])).code, 0);
  type Meta = { policy: { learnedFloorMaxIntervalSeconds: number }; decision_reasons: Record<string, number> };
  const metaOn = JSON.parse(readFileSync(`${on}.json`, 'utf8')) as Meta;
  const metaOff = JSON.parse(readFileSync(`${off}.json`, 'utf8')) as Meta;
  assert.deepEqual([metaOn.policy.learnedFloorMaxIntervalSeconds, metaOff.policy.learnedFloorMaxIntervalSeconds], [300, 0]);
  assert.ok((metaOn.decision_reasons.LearnedFloor ?? 0) > 0, JSON.stringify(metaOn.decision_reasons));
  assert.equal(metaOff.decision_reasons.LearnedFloor, undefined);
  const bad = await replay([...base, '--learned-floor=-5', '--out', join(dir, 'bad.csv')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid policy option: learnedFloorMaxIntervalSeconds/);
});

test('no peeking with the learned floor on: a spike after the cut leaves every target up to the cut unchanged, and the floor binds', async () => {
  const trace = fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url));
  const demand = parseTrace(readFileSync(trace, 'utf8'), { file: 'aapl.csv', timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous' }).demand.slice(0, 500);
  const params = { intervalSeconds: 300, capacity: 20, startupSteps: 1, minReplicas: 1, maxReplicas: 10000, settings: { ...DEFAULT_POLICY_SETTINGS, learnedFloorMaxIntervalSeconds: 300 } };
  const forecaster = createHoltWintersForecaster();
  const base = await runPolicy({ forecaster }, demand, params);
  assert.ok((base.reasons.LearnedFloor ?? 0) > 0, JSON.stringify(base.reasons));
  for (const cut of [20, 137, 301, 498]) {
    const changed = [...demand.slice(0, cut + 1), ...new Array<number>(demand.length - cut - 1).fill(1e6)];
    const run = await runPolicy({ forecaster }, changed, params);
    assert.deepEqual(run.targets.slice(0, cut + 1), base.targets.slice(0, cut + 1), `cut ${cut}`);
  }
});
