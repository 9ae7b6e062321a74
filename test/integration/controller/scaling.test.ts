// The controller on the real control plane and the real broker: it pre-scales on Kafka demand
// and explains each decision, DryRun patches nothing, it refuses to fight another writer or an
// HPA, and /api/decisions needs the token.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AutoscalingV2Api, CoreV1Api, PatchStrategy, AppsV1Api, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { addFakeNodes, kubeConfigFrom, readAudit, sharedKube, type KubeInfo } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { condition, createScenario, deploymentReplicas, readScaler, type Scenario } from '../../helpers/scenario.ts';

const selector = `scaling-${process.pid}`;
let kube: KubeInfo;
let kc: KubeConfig;
let brokers: string[];
let controller: TestController;
const fleets: KafkaFleet[] = [];

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  brokers = (await sharedKafka()).brokers;
  await installCrd(kc);
  await addFakeNodes(kc, [`scaling-a-${process.pid}`, `scaling-b-${process.pid}`], { gpus: 8 });
  controller = await startTestController({ kubeconfig: kube.kubeconfig, namespace: 'default', identity: `scaling-${process.pid}`, kafkaBrokers: brokers, overrides: { scalerSelector: `sg-test=${selector}`, leaderElection: { namespace: 'default', leaseName: `scaling-${process.pid}`, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 } } });
});

after(() => runCleanups([{ what: 'controller', run: async () => controller?.stop() }, { what: 'fleets', run: () => Promise.all(fleets.map((f) => f.stop())) }]));

async function fleetFor(s: Scenario, capacity: number, rate: number): Promise<KafkaFleet> {
  const f = await startKafkaFleet({ brokers, topic: s.topic, groupId: s.group, capacityPerReplica: capacity, kc, namespace: s.namespace, deployment: s.deployment });
  f.setRate(rate);
  fleets.push(f);
  return f;
}

test('an Active scaler scales a Deployment up on Kafka demand and explains the decision five ways', async () => {
  const s = await createScenario(kc, brokers, { name: 'active', selector, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8 });
  await fleetFor(s, 10, 45);
  const scaled = await waitUntil('scale-up to at least 5 replicas', async () => {
    const r = await deploymentReplicas(kc, s);
    return r.spec >= 5 ? r : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  assert.ok(scaled.spec <= 8, `capped by maxReplicas and partitions: ${scaled.spec}`);

  // 1. status with conditions and the last decision
  // The status write follows the scale write in the same tick.
  const scaler = await waitUntil('status of the scale-up', async () => {
    const x = await readScaler(kc, s);
    return (x.status?.appliedReplicas ?? 0) >= 5 ? x : undefined;
  }, { timeoutMs: 10_000 });
  assert.equal(condition(scaler, 'Active'), 'True');
  assert.equal(condition(scaler, 'Degraded'), 'False');
  assert.equal(condition(scaler, 'Conflict'), 'False');
  assert.ok((scaler.status?.currentDemand ?? 0) > 0);
  assert.ok(scaler.status?.forecast && scaler.status.forecast.horizonSeconds >= 2);
  // 2. a Kubernetes Event on the scaler. It is written after the status in the same tick, so the
  // status read above can come before it (CI saw that once).
  await waitUntil('a ScaledUp event on the scaler', async () => {
    const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: s.namespace });
    return events.items.some((e) => e.reason === 'ScaledUp' && e.involvedObject.kind === 'PredictiveScaler') ? true : undefined;
  }, { timeoutMs: 10_000, intervalMs: 250 });
  // The counter, the log line and the decision record come after the Events in that tick.
  await waitUntil('the applied scale-up recorded', async () => (controller.decisions.list({ scaler: `${s.namespace}/infer` }).some((d) => d.decision === 'scale_up' && d.applied) ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
  // 3. the counter
  const { body } = await controller.metrics.render();
  assert.match(body, /surgeguard_controller_decisions_total\{decision="scale_up",reason="[A-Za-z]+"\} [1-9]/);
  // 4. a structured log line with the reason
  assert.ok(controller.logs.some((l) => l.scaler === `${s.namespace}/infer` && l.decision === 'scale_up' && typeof l.reason === 'string' && typeof l.msg === 'string'));
  // 5. /api/decisions, only with the token
  const denied = await fetch(`${controller.url}/api/decisions`);
  assert.equal(denied.status, 401);
  const res = await fetch(`${controller.url}/api/decisions?scaler=${s.namespace}/infer`, { headers: { authorization: `Bearer ${controller.token}` } });
  assert.equal(res.status, 200);
  const api = (await res.json()) as { decisions: Array<{ decision: string; applied: boolean; desiredReplicas: number }> };
  assert.ok(api.decisions.some((d) => d.decision === 'scale_up' && d.applied));
  // The controller wrote the scale only through the scale subresource with a merge patch.
  const patches = readAudit(kube, (e) => e.objectRef?.namespace === s.namespace && e.objectRef?.subresource === 'scale' && e.verb === 'patch');
  assert.ok(patches.length >= 1 && patches.every((e) => e.responseStatus?.code === 200));
});

test('DryRun records the same kind of decisions and patches nothing', async () => {
  const s = await createScenario(kc, brokers, { name: 'dryrun', selector, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8, mode: 'DryRun' });
  await fleetFor(s, 10, 45);
  await waitUntil('a dry-run decision wanting more replicas', async () => (controller.decisions.list({ scaler: `${s.namespace}/infer` }).some((d) => d.decision === 'dry_run' && (d.desiredReplicas ?? 0) >= 4) ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal((await deploymentReplicas(kc, s)).spec, 1);
  const scaler = await readScaler(kc, s);
  assert.equal(condition(scaler, 'Active'), 'False');
  assert.equal(scaler.status?.conditions?.find((c) => c.type === 'Active')?.reason, 'DryRun');
  assert.equal(readAudit(kube, (e) => e.objectRef?.namespace === s.namespace && e.objectRef?.subresource === 'scale' && e.verb === 'patch').length, 0);
});

test('a replica count changed by hand is a Conflict, and the controller does not fight it', async () => {
  const s = await createScenario(kc, brokers, { name: 'conflict', selector, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8 });
  await fleetFor(s, 10, 25);
  await waitUntil('first scale-up applied', async () => ((await readScaler(kc, s)).status?.appliedReplicas !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  // A person scales by hand.
  await kc.makeApiClient(AppsV1Api).patchNamespacedDeploymentScale({ name: 'infer', namespace: s.namespace, body: { spec: { replicas: 7 } }, fieldManager: 'kubectl-scale' }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const scaler = await waitUntil('Conflict condition', async () => {
    const x = await readScaler(kc, s);
    return condition(x, 'Conflict') === 'True' ? x : undefined;
  }, { timeoutMs: 20_000, intervalMs: 500 });
  assert.equal(scaler.status?.conditions?.find((c) => c.type === 'Conflict')?.reason, 'ReplicasChangedByOther');
  assert.match(scaler.status?.conditions?.find((c) => c.type === 'Conflict')?.message ?? '', /kubectl-scale/);
  // Several ticks later the person's count still stands.
  await new Promise((r) => setTimeout(r, 4000));
  assert.equal((await deploymentReplicas(kc, s)).spec, 7);
  await waitUntil('a ReplicasChangedByOther Warning', async () => ((await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: s.namespace })).items.some((e) => e.reason === 'ReplicasChangedByOther' && e.type === 'Warning') ? true : undefined), { timeoutMs: 10_000, intervalMs: 250 });
});

test('an HPA on the same target is a Conflict: the controller leaves the target alone', async () => {
  const s = await createScenario(kc, brokers, { name: 'hpa', selector, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8 });
  await kc.makeApiClient(AutoscalingV2Api).createNamespacedHorizontalPodAutoscaler({
    namespace: s.namespace,
    body: { metadata: { name: 'infer' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'infer' }, minReplicas: 1, maxReplicas: 3, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] } },
  });
  await fleetFor(s, 10, 45);
  const scaler = await waitUntil('Conflict condition', async () => {
    const x = await readScaler(kc, s);
    return condition(x, 'Conflict') === 'True' ? x : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  assert.equal(scaler.status?.conditions?.find((c) => c.type === 'Conflict')?.reason, 'HpaPresent');
  assert.equal(readAudit(kube, (e) => e.objectRef?.namespace === s.namespace && e.objectRef?.subresource === 'scale' && e.verb === 'patch').length, 0);
});

test('pods left unschedulable after a scale-up set Unschedulable and its metric', async () => {
  // No node carries this label: every pod the scale-up adds stays Pending.
  const s = await createScenario(kc, brokers, { name: 'unsched', selector, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8, replicas: 1, nodeSelector: { 'surgeguard.io/test-pool': 'none' } });
  await fleetFor(s, 10, 45);
  const scaler = await waitUntil('Unschedulable', async () => {
    const x = await readScaler(kc, s);
    return condition(x, 'Unschedulable') === 'True' ? x : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(scaler.status?.conditions?.find((c) => c.type === 'Unschedulable')?.reason, 'PodsUnschedulable');
  // The gauge is set after the status write in the same tick: wait for it rather than race it.
  const gauge = new RegExp(`surgeguard_scaler_unschedulable_pods\\{namespace="${s.namespace}",scaler="infer"\\} [1-9]`);
  await waitUntil('the unschedulable-pods gauge', async () => (gauge.test((await controller.metrics.render()).body) ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
});

test('the pause annotation on the controller ConfigMap stops all writes and says so', async () => {
  const s = await createScenario(kc, brokers, { name: 'paused', selector, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8 });
  const core = kc.makeApiClient(CoreV1Api);
  const cm = controller.config.pauseConfigMap;
  await core.createNamespacedConfigMap({ namespace: cm.namespace, body: { metadata: { name: cm.name, annotations: { 'surgeguard.io/paused': 'true' } } } });
  try {
    await fleetFor(s, 10, 45);
    await waitUntil('a paused decision wanting more replicas', async () => (controller.decisions.list({ scaler: `${s.namespace}/infer` }).some((d) => d.decision === 'paused' && (d.desiredReplicas ?? 0) >= 4) ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal((await deploymentReplicas(kc, s)).spec, 1);
    assert.equal((await readScaler(kc, s)).status?.conditions?.find((c) => c.type === 'Active')?.reason, 'Paused');
    assert.match((await controller.metrics.render()).body, /surgeguard_controller_paused 1/);
  } finally {
    await core.deleteNamespacedConfigMap({ name: cm.name, namespace: cm.namespace });
  }
});
