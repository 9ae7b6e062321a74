// Capacity ahead of the forecast, end to end with the real node provisioner: a control plane of its
// own (kube-apiserver, etcd, kube-controller-manager, the real kube-scheduler with synchronous
// preemption, kwok for the kubelets) and Karpenter v1.15.0 with its kwok cloud provider, whose GPU
// nodes (4 GPUs) register 20 s after Karpenter launches them. Two node pools, each with one static
// node of 2 GPUs already held by two co-located GPU Deployments (1 replica each). The surge takes
// both Deployments to 3 replicas: 4 more GPUs than exist.
//
// Pool a, without SurgeGuard's placeholders: the surge pods sit Pending until Karpenter's node comes.
// Pool b, with them: the two scalers are DryRun (they forecast from their real Kafka demand and
// decide, but do not scale), so the surge is applied by the test 30 s after the placeholders appear,
// as a scaler would at its pod lead time after the node horizon saw the need. The controller sizes
// placeholders for the forecast need at the pool's node lead time (30 s configured), Karpenter
// provisions a node for them, and the surge pods preempt them. Each new pod's Pending time (scale to
// bound, polled) is measured in both pools; the placeholder pool's must be shorter. A behaviour
// assertion with a wide margin (about 20 s against about 1 s), not a timing benchmark.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { CHART, helmBinary, helmTemplate } from '../../../scripts/render-manifests.ts';
import { addFakeNodes, kubeConfigFrom, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { startKarpenter, type Karpenter } from '../../helpers/infra/karpenter.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { REPO_ROOT, runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';
import { createScenario, type Scenario } from '../../helpers/scenario.ts';

const NS = 'surgeguard';
const POOL_KEY = 'surgeguard.io/test-pool';
const REGISTRATION_DELAY_SECONDS = 20;
const FORECAST_LEAD_SECONDS = 30;
const SURGE_REPLICAS = 3;
let kube: KubeHandle;
let kc: KubeConfig;
let core: CoreV1Api;
let karpenter: Karpenter | undefined;
let controller: TestController | undefined;
let brokers: string[];
const fleets: KafkaFleet[] = [];
const pending: Record<'without' | 'with', number[]> = { without: [], with: [] };

before(async () => {
  // Synchronous preemption, as in placeholders.test.ts (kubernetes/kubernetes#141694).
  kube = await startKube(undefined, { extraArgs: { 'kube-scheduler': ['--feature-gates=SchedulerAsyncPreemption=false'] } });
  kc = kubeConfigFrom(kube.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await installCrd(kc);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const rendered = parseManifests(await helmTemplate(await helmBinary(REPO_ROOT), join(REPO_ROOT, CHART), { set: ['controller.config.capacity.placeholders.enabled=true'] }));
  await applyManifests(kc, rendered.filter((o) => o.kind === 'PriorityClass' && o.metadata?.name === 'surgeguard-placeholder'));
  karpenter = await startKarpenter(kube);
  for (const p of ['a', 'b']) {
    await karpenter.addPool({ name: `gpu-${p}`, labels: { [POOL_KEY]: p }, instanceTypes: ['gpu-4x', 'gpu-8x'], registrationDelaySeconds: REGISTRATION_DELAY_SECONDS, limits: { 'nvidia.com/gpu': '8' } });
    await addFakeNodes(kc, [`static-${p}-${process.pid}`], { gpus: 2, labels: { [POOL_KEY]: p } });
  }
  brokers = (await sharedKafka()).brokers;
});
after(() => runCleanups([
  { what: 'controller', run: async () => controller?.stop() },
  { what: 'fleets', run: () => Promise.all(fleets.map((f) => f.stop())) },
  { what: 'karpenter', run: async () => karpenter?.stop() },
  { what: 'control plane', run: () => kube.stop() },
]));

/** Two co-located DryRun scalers and their Deployments in pool `p`, each with its one pod bound on the static node. */
async function colocated(p: 'a' | 'b', selector: string): Promise<Scenario[]> {
  const out: Scenario[] = [];
  for (const name of [`rank-${p}`, `llm-${p}`]) {
    out.push(await createScenario(kc, brokers, { name, selector, startupSeconds: 1, capacity: 10, partitions: 4, maxReplicas: SURGE_REPLICAS, mode: 'DryRun', extraSpec: { gpu: { perReplica: 1 } }, nodeSelector: { [POOL_KEY]: p } }));
  }
  await waitUntil(`the two pods of pool ${p} bound`, async () => ((await podsOf(out)).filter((x) => x.spec?.nodeName).length === 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
  return out;
}

async function podsOf(scenarios: readonly Scenario[]): Promise<V1Pod[]> {
  const lists = await Promise.all(scenarios.map((s) => core.listNamespacedPod({ namespace: s.namespace })));
  return lists.flatMap((l) => l.items).filter((x) => !x.metadata?.deletionTimestamp);
}

/**
 * The surge: both Deployments to SURGE_REPLICAS. Returns each new pod's seconds from the scale
 * request to its binding (polled every 200 ms: the API's timestamps are whole seconds).
 */
async function surge(scenarios: readonly Scenario[]): Promise<number[]> {
  const before = new Set((await podsOf(scenarios)).map((x) => x.metadata?.uid));
  const apps = kc.makeApiClient(AppsV1Api);
  const t0 = Date.now();
  await Promise.all(scenarios.map((s) => apps.patchNamespacedDeploymentScale({ name: s.deployment, namespace: s.namespace, body: { spec: { replicas: SURGE_REPLICAS } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))));
  const bound = new Map<string, number>();
  const want = scenarios.length * (SURGE_REPLICAS - 1);
  await waitUntil(`the ${want} surge pods bound`, async () => {
    for (const x of await podsOf(scenarios)) {
      const uid = x.metadata?.uid ?? '';
      if (!before.has(uid) && x.spec?.nodeName && !bound.has(uid)) bound.set(uid, (Date.now() - t0) / 1000);
    }
    return bound.size >= want ? true : undefined;
  }, { timeoutMs: 180_000, intervalMs: 200 });
  return [...bound.values()].sort((a, b) => a - b);
}

interface NodeClaim { metadata: { name: string; creationTimestamp: string; labels?: Record<string, string> }; status?: { nodeName?: string } }
async function nodeClaims(pool: string): Promise<NodeClaim[]> {
  const list = (await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: 'karpenter.sh', version: 'v1', plural: 'nodeclaims' })) as { items: NodeClaim[] };
  return list.items.filter((c) => c.metadata.labels?.['karpenter.sh/nodepool'] === pool);
}

const fmt = (xs: readonly number[]): string => xs.map((x) => x.toFixed(1)).join(', ');

test('without placeholders the surge pods sit Pending until Karpenter\'s node registers', async (t) => {
  const scenarios = await colocated('a', `none-${process.pid}`);
  assert.equal((await nodeClaims('gpu-a')).length, 0, 'no node launched before the surge');
  const surgeAt = Date.now();
  pending.without = await surge(scenarios);
  t.diagnostic(`pool a (no placeholders): Pending ${fmt(pending.without)} s (4 surge pods)`);
  const claims = await nodeClaims('gpu-a');
  assert.ok(claims.length >= 1, 'Karpenter launched a node for the surge');
  assert.ok(claims.every((c) => Date.parse(c.metadata.creationTimestamp) >= surgeAt - 1000), 'and only after the surge');
  // The pods could only bind on a node that registered REGISTRATION_DELAY_SECONDS after launch.
  assert.ok(Math.min(...pending.without) >= REGISTRATION_DELAY_SECONDS - 1, `each surge pod waited for the node: ${fmt(pending.without)}`);
});

test('with the placeholders the node is launched ahead of the surge, and the surge pods preempt them and bind at once', async (t) => {
  const selector = `karpenter-${process.pid}`;
  const scenarios = await colocated('b', selector);
  for (const s of scenarios) {
    const fleet = await startKafkaFleet({ brokers, topic: s.topic, groupId: s.group, capacityPerReplica: 10, kc, namespace: s.namespace, deployment: s.deployment });
    // 25/s against 10/s per replica: each scaler forecasts SURGE_REPLICAS replicas (its max).
    fleet.setRate(25);
    fleets.push(fleet);
  }
  controller = await startTestController({
    kubeconfig: kube.kubeconfig,
    namespace: NS,
    identity: `karpenter-${process.pid}`,
    kafkaBrokers: brokers,
    overrides: {
      scalerSelector: `sg-test=${selector}`,
      healing: { enabled: false },
      capacity: {
        placeholders: {
          enabled: true, namespace: NS, stabilizationSeconds: 300,
          pools: [{ name: 'gpu-b', nodeSelector: { [POOL_KEY]: 'b' }, tolerations: [{ operator: 'Exists' }], capGpus: 4, nodeLeadTimeSeconds: FORECAST_LEAD_SECONDS, scalers: scenarios.map((s) => `${s.namespace}/${s.scaler}`) }],
        },
      },
    },
  });
  const listPlaceholders = async (): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'surgeguard.io/placeholder-pool=gpu-b' })).items.filter((x) => !x.metadata?.deletionTimestamp);
  // The forecast: 2 scalers x 3 replicas x 1 GPU = 6, less the 2 their pods hold = 4 placeholders.
  await waitUntil('4 placeholders', async () => ((await listPlaceholders()).length === 4 ? true : undefined), { timeoutMs: 120_000, intervalMs: 300 });
  const forecastAt = Date.now();
  t.diagnostic(`placeholders created; the surge comes ${FORECAST_LEAD_SECONDS} s later`);
  await waitUntil('the placeholders bound on Karpenter\'s node', async () => ((await listPlaceholders()).filter((x) => x.spec?.nodeName).length === 4 ? true : undefined), { timeoutMs: 90_000, intervalMs: 300 });
  const boundAfter = (Date.now() - forecastAt) / 1000;
  const claimsBefore = await nodeClaims('gpu-b');
  assert.ok(claimsBefore.length >= 1, 'Karpenter launched a node for the placeholders');
  const wait = forecastAt + FORECAST_LEAD_SECONDS * 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));

  pending.with = await surge(scenarios);
  t.diagnostic(`pool b (placeholders): node Ready and placeholders bound ${boundAfter.toFixed(1)} s after they were created; surge pods Pending ${fmt(pending.with)} s`);
  t.diagnostic(`pool a (no placeholders): Pending ${fmt(pending.without)} s`);
  assert.ok(claimsBefore.every((c) => Date.parse(c.metadata.creationTimestamp) < forecastAt + FORECAST_LEAD_SECONDS * 1000), 'the node was launched before the surge');
  assert.equal(pending.without.length, 4, 'pool a was measured');
  // The behaviour: every surge pod with placeholders bound sooner than any without.
  assert.ok(Math.max(...pending.with) < Math.min(...pending.without), `with ${fmt(pending.with)} s, without ${fmt(pending.without)} s`);
  const events = (await core.listNamespacedEvent({ namespace: NS })).items;
  assert.ok(events.some((e) => e.reason === 'PlaceholdersCreated'), 'the placeholders were a decision with its Event');
});
