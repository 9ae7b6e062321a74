// Actuator Keda with the real KEDA (operator and metrics adapter, built from the Go module proxy):
// a ScaledObject's external trigger calls SurgeGuard's external scaler; KEDA scales the target
// from zero when SurgeGuard forecasts demand, and the HPA KEDA made carries it to the count
// SurgeGuard serves. KEDA and the HPA are the only writers of the replicas (the audit log shows it),
// and losing SurgeGuard mid-surge leaves the fleet where it is.
// KEDA's metrics adapter holds v1beta1.external.metrics.k8s.io, so this file runs a control plane
// of its own.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { addFakeNodes, kubeConfigFrom, readAudit, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { startKeda, type Keda } from '../../helpers/infra/keda.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
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

before(async () => {
  kube = await startKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  const brokers = (await sharedKafka()).brokers;
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
