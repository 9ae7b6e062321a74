// Actuator Keda with the real KEDA (operator and metrics adapter, built from the Go module proxy):
// a ScaledObject's external trigger calls SurgeGuard's external scaler; KEDA scales the target
// from zero when SurgeGuard forecasts demand, and the HPA KEDA made carries it to the count
// SurgeGuard serves. KEDA and the HPA are the only writers of the replicas (the audit log shows it),
// and losing SurgeGuard mid-surge leaves the fleet where it is.
// KEDA's metrics adapter holds v1beta1.external.metrics.k8s.io, so this file runs a control plane
// of its own, whose HPA syncs every second: the recorded rush below is replayed at one recorded
// half hour per second, as in predictive.test.ts, and the HPA must keep up with that clock.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { addFakeNodes, kubeConfigFrom, readAudit, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { startKeda, type Keda } from '../../helpers/infra/keda.ts';
import { REPO_ROOT, runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { createScenario, deploymentReplicas, readScaler, condition, type Scenario } from '../../helpers/scenario.ts';
import { applyManifests } from '../../helpers/kube-apply.ts';
import { adoptHpa } from '../../../controller/adapters/adopt.ts';

let kube: KubeHandle;
let kc: KubeConfig;
let keda: Keda;
let controller: TestController | undefined;
let fleet: KafkaFleet | undefined;
let scenario: Scenario;
let brokers: string[];
const rush: { controller?: TestController; fleet?: KafkaFleet } = {};

before(async () => {
  kube = await startKube(undefined, { hpaSyncSeconds: 1 });
  kc = kubeConfigFrom(kube.kubeconfig);
  brokers = (await sharedKafka()).brokers;
  keda = await startKeda(kube);
  await installCrd(kc);
  await addFakeNodes(kc, [`keda-a-${process.pid}`, `keda-b-${process.pid}`], { gpus: 8 });
  controller = await startTestController({
    kubeconfig: kube.kubeconfig,
    namespace: 'default',
    identity: `keda-${process.pid}`,
    kafkaBrokers: brokers,
    overrides: { scalerSelector: `sg-test=keda-${process.pid}`, keda: { listen: '127.0.0.1:0' } },
  });
  scenario = await createScenario(kc, brokers, { name: 'keda', selector: `keda-${process.pid}`, startupSeconds: 2, capacity: 10, partitions: 16, minReplicas: 0, maxReplicas: 16, replicas: 0, extraSpec: { actuator: 'Keda' } });
  fleet = await startKafkaFleet({ brokers, topic: scenario.topic, groupId: scenario.group, capacityPerReplica: 10, kc, namespace: scenario.namespace, deployment: 'infer' });
  fleet.setRate(0);
});

after(() =>
  runCleanups([
    { what: 'controller', run: async () => controller?.stop() },
    { what: 'fleet', run: async () => fleet?.stop() },
    { what: 'rush controller', run: async () => rush.controller?.stop() },
    { what: 'rush fleet', run: async () => rush.fleet?.stop() },
    { what: 'KEDA', run: async () => keda?.stop() },
    { what: 'control plane', run: async () => kube?.stop() },
  ]),
);

test('actuator Keda: KEDA scales the target from zero on SurgeGuard\'s forecast, and its HPA carries it to the served count', async (t) => {
  const since = Date.now();
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'keda.sh',
    version: 'v1alpha1',
    namespace: scenario.namespace,
    plural: 'scaledobjects',
    body: {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'infer' },
      spec: {
        scaleTargetRef: { name: 'infer' },
        minReplicaCount: 0,
        maxReplicaCount: 16,
        pollingInterval: 2,
        cooldownPeriod: 30,
        advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { tolerance: '0' }, scaleDown: { tolerance: '0', stabilizationWindowSeconds: 0 } } } },
        triggers: [{ type: 'external', metadata: { scalerAddress: controller?.kedaScalerAddress, scaler: scenario.scaler } }],
      },
    },
  });
  // With no demand SurgeGuard wants no replica: the target stays at zero.
  await waitUntil('SurgeGuard serves the idle scaler', async () => ((await readScaler(kc, scenario)).status?.externalMetric ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal((await deploymentReplicas(kc, scenario)).spec, 0);

  fleet?.setRate(120);
  const woke = Date.now();
  const reached = await waitUntil('KEDA and its HPA scaled the target from zero to at least 12', async () => {
    const r = await deploymentReplicas(kc, scenario);
    return r.spec >= 12 ? r.spec : undefined;
  }, { timeoutMs: 150_000, intervalMs: 500 }).catch(async (err: unknown) => {
    const so = await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'keda.sh', version: 'v1alpha1', namespace: scenario.namespace, plural: 'scaledobjects', name: 'infer' });
    throw new Error(`${String(err)}\nScaledObject status: ${JSON.stringify((so as { status?: unknown }).status)}\nscaler status: ${JSON.stringify((await readScaler(kc, scenario)).status)}\nKEDA operator log: ${keda.operatorLog}`);
  });
  t.diagnostic(`from zero to ${reached} replicas in ${((Date.now() - woke) / 1000).toFixed(1)} s after the surge began`);
  const s = await readScaler(kc, scenario);
  assert.equal(condition(s, 'Active'), 'True');
  assert.equal(s.status?.conditions?.find((c) => c.type === 'Active')?.reason, 'ServingKeda');

  // Only KEDA (the activation from zero) and the HPA it made wrote the replicas.
  const writes = readAudit(kube, (e) => e.objectRef?.resource === 'deployments' && e.objectRef.namespace === scenario.namespace && (e.objectRef.subresource === 'scale' || e.objectRef.subresource === undefined) && (e.verb === 'update' || e.verb === 'patch') && Date.parse(e.requestReceivedTimestamp) >= since - 1000);
  assert.ok(writes.some((w) => /keda/.test(w.userAgent ?? '')), `KEDA should have activated the target: ${writes.map((w) => w.userAgent).join(', ')}`);
  assert.deepEqual(writes.filter((w) => !/keda|horizontal-pod-autoscaler/.test(w.userAgent ?? '')).map((w) => `${w.verb} ${w.objectRef?.subresource ?? ''} by ${w.userAgent}`), []);

  // The controller stops mid-surge: KEDA's calls fail, and the fleet keeps what it has (two
  // HPA syncs and KEDA polls later it has not dropped), rather than falling to zero.
  await controller?.stop();
  controller = undefined;
  await new Promise((r) => setTimeout(r, 35_000));
  const after = await deploymentReplicas(kc, scenario);
  assert.ok(after.spec >= reached, `the fleet dropped from ${reached} to ${after.spec} when SurgeGuard went away`);
});

test('surgeguard adopt: the ScaledObject and PredictiveScaler it prints for an existing ScaledObject pass the API server (KEDA\'s CRD schema, the HPA behaviour with tolerances)', async () => {
  const existing = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'ranker', namespace: scenario.namespace }, spec: { scaleTargetRef: { name: 'ranker' }, minReplicaCount: 1, maxReplicaCount: 30, triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '60' } }] } };
  const a = adoptHpa(existing, { signal: { kafka: { topic: 'posts', consumerGroup: 'ranker' } }, requestsPerSecondPerReplica: 25, tolerance: true, scalerAddress: '127.0.0.1:9444' });
  const answered = (await applyManifests(kc, [a.scaler, a.hpa] as never, { dryRun: true })) as Array<{ spec?: { actuator?: string; triggers?: Array<{ type: string }>; advanced?: { horizontalPodAutoscalerConfig?: { behavior?: { scaleUp?: { tolerance?: string } } } } } }>;
  assert.equal(answered[0]?.spec?.actuator, 'Keda');
  assert.deepEqual(answered[1]?.spec?.triggers?.map((t) => t.type), ['external', 'cpu']);
  // KEDA's CRD keeps the tolerance field (a schema without it would prune it silently).
  assert.equal(answered[1]?.spec?.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleUp?.tolerance, '0');
});

// The recorded rush of predictive.test.ts (NAB NYC taxi, a weekday morning growing tenfold in three
// hours, from the part of the series the model never trained on), one recorded half hour per second.
const SECONDS_PER_INTERVAL = 1;
const TIME_SCALE = 1800;
const STARTUP_SECONDS = 8;
const CAPACITY = 10;
const trace = readFileSync(join(REPO_ROOT, 'test/fixtures/traces/nyc_taxi_9364-9476.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
const rateOf = (v: number): number => 2 + v * 0.005;
const RUSH_START = trace.length - 13;

test('actuator Keda on a recorded rush: through KEDA and its HPA, the surge capacity is ready before the rush peaks', async (t) => {
  const selector = `keda-rush-${process.pid}`;
  // GPUs of its own: the first test's fleet holds the others.
  await addFakeNodes(kc, [`keda-rush-a-${process.pid}`, `keda-rush-b-${process.pid}`], { gpus: 16 });
  const s = await createScenario(kc, brokers, { name: 'keda-rush', selector, startupSeconds: STARTUP_SECONDS, capacity: CAPACITY, partitions: 24, maxReplicas: 24, extraSpec: { actuator: 'Keda', behavior: { scaleDown: { stabilizationSeconds: 3 } } } });
  rush.controller = await startTestController({
    kubeconfig: kube.kubeconfig,
    namespace: 'default',
    identity: selector,
    kafkaBrokers: brokers,
    overrides: { forecastTimeScale: TIME_SCALE, scalerSelector: `sg-test=${selector}`, leaderElection: { namespace: 'default', leaseName: selector, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 }, keda: { listen: '127.0.0.1:0' } },
  });
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'keda.sh', version: 'v1alpha1', namespace: s.namespace, plural: 'scaledobjects',
    body: {
      apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'infer' },
      spec: {
        scaleTargetRef: { name: 'infer' }, minReplicaCount: 1, maxReplicaCount: 24, pollingInterval: 1,
        advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { tolerance: '0' }, scaleDown: { tolerance: '0', stabilizationWindowSeconds: 0 } } } },
        triggers: [{ type: 'external', metadata: { scalerAddress: rush.controller.kedaScalerAddress, scaler: s.scaler } }],
      },
    },
  });
  rush.fleet = await startKafkaFleet({ brokers, topic: s.topic, groupId: s.group, capacityPerReplica: CAPACITY, kc, namespace: s.namespace, deployment: 'infer' });
  const fleetOf = rush.fleet;
  const start = Date.now();
  const samples: Array<{ t: number; ready: number; spec: number }> = [];
  const stop = { done: false };
  const sampler = (async () => {
    while (!stop.done) {
      const d = await deploymentReplicas(kc, s).catch(() => undefined);
      if (d) samples.push({ t: (Date.now() - start) / 1000, ...d });
      await new Promise((res) => setTimeout(res, 500));
    }
  })();
  for (let i = 0; i < trace.length; i++) {
    fleetOf.setRate(rateOf(trace[i] ?? 0));
    await new Promise((res) => setTimeout(res, Math.max(0, start + (i + 1) * SECONDS_PER_INTERVAL * 1000 - Date.now())));
  }
  await new Promise((res) => setTimeout(res, 2 * STARTUP_SECONDS * 1000));
  stop.done = true;
  await sampler;

  const rates = trace.map(rateOf);
  const peakIndex = RUSH_START + rates.slice(RUSH_START).indexOf(Math.max(...rates.slice(RUSH_START)));
  const peakAt = peakIndex * SECONDS_PER_INTERVAL;
  const needed = Math.ceil((rates[peakIndex] as number) / CAPACITY);
  const target = Math.ceil(0.75 * needed);
  const readyAt = samples.find((x) => x.t >= RUSH_START * SECONDS_PER_INTERVAL && x.ready >= target)?.t ?? Infinity;
  t.diagnostic(`rush from ${RUSH_START} s, peak at ${peakAt} s needing ${needed} replicas; ${target} ready at ${readyAt.toFixed(1)} s (startup ${STARTUP_SECONDS} s)`);
  t.diagnostic(`spec/ready from the rush: ${samples.filter((x) => x.t >= RUSH_START - 6).filter((_, i) => i % 2 === 0).map((x) => `${x.t.toFixed(0)}s:${x.spec}/${x.ready}`).join(' ')}`);
  assert.ok(readyAt <= peakAt, `three quarters of the peak's capacity was ready at ${readyAt.toFixed(1)} s, after the peak at ${peakAt} s`);
});
