// The GPU budget on the real control plane: a cluster of its own with one kwok node of 6 GPUs, two
// scalers whose Kafka demand asks for 6 replicas each (1 GPU per pod), the controller in-process
// with its node and pod watch caches. The high-priority scaler grows into the free GPUs; the other
// is held at what it runs, and its decision, status, Event and metric say why.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { addFakeNodes, kubeConfigFrom, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { createScenario, deploymentReplicas, readScaler, type Scenario } from '../../helpers/scenario.ts';

const selector = `budget-${process.pid}`;
let kube: KubeHandle;
let kc: KubeConfig;
let controller: TestController | undefined;
const fleets: KafkaFleet[] = [];

before(async () => {
  kube = await startKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await addFakeNodes(kc, [`budget-${process.pid}`], { gpus: 6 });
});
after(() => runCleanups([{ what: 'controller', run: async () => controller?.stop() }, { what: 'fleets', run: () => Promise.all(fleets.map((f) => f.stop())) }, { what: 'control plane', run: () => kube.stop() }]));

test('two scalers that want 12 GPUs of 6: the high priority grows into the free ones, the other is held and says why', async () => {
  const brokers = (await sharedKafka()).brokers;
  const scenario = (name: string, priority: number): Promise<Scenario> => createScenario(kc, brokers, { name, selector, startupSeconds: 1, capacity: 10, partitions: 8, maxReplicas: 8, extraSpec: { gpu: { perReplica: 1, priority } } });
  const [rank, batch] = [await scenario('rank', 10), await scenario('batch', 0)];
  for (const s of [rank, batch]) {
    const f = await startKafkaFleet({ brokers, topic: s.topic, groupId: s.group, capacityPerReplica: 10, kc, namespace: s.namespace, deployment: s.deployment });
    f.setRate(60);
    fleets.push(f);
  }
  // Healing on for its node and pod caches; nothing here is unhealthy, so it has nothing to repair.
  controller = await startTestController({ kubeconfig: kube.kubeconfig, namespace: 'default', identity: `budget-${process.pid}`, kafkaBrokers: brokers, overrides: { scalerSelector: `sg-test=${selector}`, healing: { enabled: true } } });
  await waitUntil('rank grew into the 4 free GPUs', async () => ((await deploymentReplicas(kc, rank)).spec === 5 ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
  const held = await waitUntil('batch held by the budget', async () => {
    const s = await readScaler(kc, batch);
    return s.status?.lastDecision?.reason === 'GpuBudget' ? s : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  assert.equal((await deploymentReplicas(kc, batch)).spec, 1);
  assert.match(held.status?.lastDecision?.message ?? '', /GPU budget: nvidia\.com\/gpu has 6 allocatable, 0 held by other pods, 6 for the scalers that share it; this one \(priority 0, weight 1, 1 per replica\) asked \d+ replicas and was granted 1/);
  const events = (await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: batch.namespace })).items;
  assert.ok(events.some((e) => e.reason === 'GpuBudget'), events.map((e) => e.reason).join(','));
  const metrics = (await controller.metrics.render()).body;
  assert.match(metrics, new RegExp(`surgeguard_gpu_budget_cut_replicas\\{namespace="${batch.namespace}",scaler="infer"\\} [1-9]`));
  assert.match(metrics, /surgeguard_gpu_budget_gpus\{resource="nvidia.com\/gpu",kind="allocatable"\} 6/);
  // Every pod finds a GPU: the budget kept the fleets to what exists (the scheduler binds the new
  // pods a moment after the scale-up).
  await waitUntil('every pod of both fleets scheduled', async () => {
    const pods = (await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces({})).items.filter((p) => [rank.namespace, batch.namespace].includes(p.metadata?.namespace ?? '') && !p.metadata?.deletionTimestamp);
    return pods.length === 6 && pods.every((p) => p.spec?.nodeName) ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
});

test('node lead time is learned from the cluster: a GPU pod left Pending, then a node made for it, Ready later', async () => {
  const core = kc.makeApiClient(CoreV1Api);
  const pool = `lead-${process.pid}`;
  const namespace = `lead-${process.pid}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  // A GPU pod only the pool's node can take: Pending until that node exists.
  await core.createNamespacedPod({ namespace, body: { metadata: { name: 'waits' }, spec: { nodeSelector: { 'karpenter.sh/nodepool': pool }, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'infer', resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } } }] } } });
  const podCreated = Date.now();
  // The node an autoscaler brings for the Pending pod, 6 s later (kwok marks it Ready as it comes).
  await new Promise((res) => setTimeout(res, 6000));
  const name = `lead-node-${process.pid}`;
  await addFakeNodes(kc, [name], { gpus: 8, labels: { 'karpenter.sh/nodepool': pool } });
  await waitUntil('the Pending pod bound to the new node', async () => ((await core.readNamespacedPod({ namespace, name: 'waits' })).spec?.nodeName === name ? true : undefined), { timeoutMs: 30_000, intervalMs: 300 }).catch(async (err: unknown) => {
    const p = await core.readNamespacedPod({ namespace, name: 'waits' });
    throw new Error(`${String(err)}; pod: ${JSON.stringify(p.status)}`);
  });
  const seconds = await waitUntil('the pool\'s lead time on /metrics', async () => {
    const m = new RegExp(`surgeguard_node_lead_time_seconds\\{pool="${pool}",quantile="0.5"\\} ([\\d.]+)`).exec((await controller?.metrics.render())?.body ?? '');
    return m ? Number(m[1]) : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  const readyAt = (await core.readNode({ name })).status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
  const expected = (new Date(readyAt ?? 0).getTime() - podCreated) / 1000;
  // Timestamps on the API server have whole seconds: the learned value is within one of what the
  // test saw from its own clock, and at least the 6 s the test held the node back (5: whole seconds).
  assert.ok(seconds >= 5 && Math.abs(seconds - expected) <= 2, `learned ${seconds} s, the test measured ${expected.toFixed(1)} s`);
  assert.match((await controller?.metrics.render())?.body ?? '', new RegExp(`surgeguard_node_lead_time_samples\\{pool="${pool}"\\} 1`));
});
