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
