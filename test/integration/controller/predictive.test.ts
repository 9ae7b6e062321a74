// Prediction, not reaction. The same recorded demand (NAB's NYC taxi trips: two days, then a
// weekday morning rush that grows tenfold in three hours, from the part of the series the model
// never trained on) is sent into two Kafka topics at once; one scaler is run by a controller that
// forecasts, the other by one that scales reactively on current demand. kwok makes each pod ready
// exactly startupSeconds after it is scheduled. With forecasting on, the added replicas must be
// ready at least one startup time earlier, and the lag peak must be lower.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { addFakeNodes, kubeConfigFrom, sharedKube, type KubeInfo } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { REPO_ROOT, runCleanups } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { createScenario, deploymentReplicas, type Scenario } from '../../helpers/scenario.ts';

// Time scale: one recorded 30-minute interval per one-second tick (forecastTimeScale 1800), so a
// pod's 8 s start stands for four hours: the whole rush happens while a pod starts.
const SECONDS_PER_INTERVAL = 1;
const TIME_SCALE = 1800;
const STARTUP_SECONDS = 8;
const CAPACITY = 10;
const trace = readFileSync(join(REPO_ROOT, 'test/fixtures/traces/nyc_taxi_9364-9476.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => Number(l.split(',')[1]));
// Messages per second for a recorded count: the rush peak needs about 11 replicas, the night one.
const rateOf = (v: number): number => 2 + v * 0.005;
// The rush: the recorded morning that the assertions look at (Wednesday 04:00 onwards).
const RUSH_START = trace.length - 13;

let kube: KubeInfo;
let kc: KubeConfig;
let brokers: string[];
const controllers: TestController[] = [];
const fleets: KafkaFleet[] = [];

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  brokers = (await sharedKafka()).brokers;
  await installCrd(kc);
  // Enough GPUs that neither run is ever short of nodes (each may reach maxReplicas).
  await addFakeNodes(kc, [`predict-a-${process.pid}`, `predict-b-${process.pid}`], { gpus: 32 });
});

after(() => runCleanups([{ what: 'controllers', run: () => Promise.all(controllers.map((c) => c.stop())) }, { what: 'fleets', run: () => Promise.all(fleets.map((f) => f.stop())) }]));

interface Run {
  name: string;
  controller: TestController;
  scenario: Scenario;
  fleet: KafkaFleet;
  samples: Array<{ t: number; ready: number; spec: number; lag: number }>;
}

async function prepare(name: string, forecasting: boolean): Promise<Run> {
  const selector = `${name}-${process.pid}`;
  // A short scale-down window so the fleet follows the night down before the rush.
  const scenario = await createScenario(kc, brokers, { name, selector, startupSeconds: STARTUP_SECONDS, capacity: CAPACITY, partitions: 24, maxReplicas: 24, extraSpec: { behavior: { scaleDown: { stabilizationSeconds: 3 } } } });
  const controller = await startTestController({
      kubeconfig: kube.kubeconfig,
      namespace: 'default',
      identity: selector,
      kafkaBrokers: brokers,
      overrides: { forecasting, forecastTimeScale: TIME_SCALE, scalerSelector: `sg-test=${selector}`, leaderElection: { namespace: 'default', leaseName: selector, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 } },
  });
  controllers.push(controller);
  const fleet = await startKafkaFleet({ brokers, topic: scenario.topic, groupId: scenario.group, capacityPerReplica: CAPACITY, kc, namespace: scenario.namespace, deployment: 'infer' });
  fleets.push(fleet);
  return { name, controller, scenario, fleet, samples: [] };
}

test('forecasting gets the surge capacity ready at least one startup time before reactive scaling, with a lower lag peak', async (t) => {
  const runs = await Promise.all([prepare('predictive', true), prepare('reactive', false)]);
  const start = Date.now();
  const peakRate = Math.max(...trace.slice(RUSH_START).map(rateOf));
  const needed = Math.ceil(peakRate / CAPACITY);
  const stop = { done: false };
  const sampler = (async () => {
    while (!stop.done) {
      const t = (Date.now() - start) / 1000;
      await Promise.all(runs.map(async (r) => {
        const d = await deploymentReplicas(kc, r.scenario).catch(() => undefined);
        if (d) r.samples.push({ t, ready: d.ready, spec: d.spec, lag: r.fleet.lag() });
      }));
      await new Promise((res) => setTimeout(res, 500));
    }
  })();
  // Replay the trace into both topics at the same moments.
  for (let i = 0; i < trace.length; i++) {
    for (const r of runs) r.fleet.setRate(rateOf(trace[i] ?? 0));
    const due = start + (i + 1) * SECONDS_PER_INTERVAL * 1000;
    await new Promise((res) => setTimeout(res, Math.max(0, due - Date.now())));
  }
  // Demand stays at the last level while late capacity catches up.
  await new Promise((res) => setTimeout(res, 2 * STARTUP_SECONDS * 1000));
  stop.done = true;
  await sampler;

  // When each run first had three quarters of the rush's peak capacity ready, from the rush's start.
  const surgeAt = RUSH_START * SECONDS_PER_INTERVAL;
  const target = Math.ceil(0.75 * needed);
  const readyAt = (r: Run): number => r.samples.find((s) => s.t >= surgeAt && s.ready >= target)?.t ?? Infinity;
  const lagPeak = (r: Run): number => Math.max(0, ...r.samples.filter((s) => s.t >= surgeAt).map((s) => s.lag));
  const [on, off] = runs as [Run, Run];
  const tOn = readyAt(on);
  const tOff = readyAt(off);
  const lagOn = lagPeak(on);
  const lagOff = lagPeak(off);
  t.diagnostic(`rush starts at ${surgeAt} s; ${target} of ${needed} peak replicas ready at ${tOn.toFixed(1)} s with forecasting, ${tOff.toFixed(1)} s reactive (startup ${STARTUP_SECONDS} s)`);
  for (const r of runs) {
    const timeline = r.samples.filter((x) => x.t >= surgeAt - 6).filter((_, i) => i % 2 === 0).map((x) => `${x.t.toFixed(0)}s:${x.spec}/${x.ready}`);
    t.diagnostic(`${r.name} spec/ready from the rush: ${timeline.join(' ')}`);
  }
  for (const r of runs) {
    const d = r.controller.decisions.list().filter((x) => x.time >= new Date(start + (surgeAt - 8) * 1000).toISOString()).slice(0, 10);
    t.diagnostic(`${r.name} decisions before the rush: ${d.map((x) => `${x.reason}:${x.desiredReplicas} dem=${x.demandPerSecond?.toFixed(0)} f=${x.forecast?.p50.toFixed(0)}/${x.forecast?.p90.toFixed(0)} ${x.forecast?.source} ${JSON.stringify(x.rules)}`).join(' | ')}`);
  }
  t.diagnostic(`lag peak: ${lagOn} messages with forecasting, ${lagOff} reactive`);
  assert.ok(Number.isFinite(tOn), 'with forecasting the surge capacity never became ready');
  assert.ok(tOff - tOn >= STARTUP_SECONDS, `forecasting was only ${(tOff - tOn).toFixed(1)} s ahead; expected at least ${STARTUP_SECONDS} s`);
  assert.ok(lagOn < lagOff, `lag peak with forecasting ${lagOn} is not below reactive ${lagOff}`);
});
