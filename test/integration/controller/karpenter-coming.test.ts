// A Karpenter NodeClaim as coming capacity for a degraded drain, end to end: a control plane of its
// own and Karpenter v1.15.0 with its kwok cloud provider, whose GPU nodes (4 GPUs) register 30 s after
// Karpenter launches them. Four 1-GPU pods fill the pool's one node; a degraded fault on that node
// waits, since the pool has nothing free. A placeholder pod (what the placeholder stage makes: its
// labels, a PriorityClass below every real pod) asks for 4 GPUs; Karpenter launches a NodeClaim for it,
// and the controller, watching NodeClaims (capacity.nodeClaims.enabled), counts it as coming and
// cordons the node while the new Node does not exist yet. The evicted pods then preempt the
// placeholder on the new node.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, SchedulingV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { kubeConfigFrom, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { startKarpenter, type Karpenter } from '../../helpers/infra/karpenter.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';

const POOL_KEY = 'surgeguard.io/test-pool';
const NODEPOOL = 'gpu-c';
const APP = 'kc-app';
const REGISTRATION_DELAY_SECONDS = 30;
const NOT_READY = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' };
let kube: KubeHandle;
let kc: KubeConfig;
let core: CoreV1Api;
let karpenter: Karpenter | undefined;
let controller: TestController | undefined;

before(async () => {
  // Synchronous preemption, as in placeholders.test.ts (kubernetes/kubernetes#141694).
  kube = await startKube(undefined, { extraArgs: { 'kube-scheduler': ['--feature-gates=SchedulerAsyncPreemption=false'] } });
  kc = kubeConfigFrom(kube.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await installCrd(kc);
  await core.createNamespace({ body: { metadata: { name: APP } } });
  await kc.makeApiClient(SchedulingV1Api).createPriorityClass({ body: { metadata: { name: 'surgeguard-placeholder' }, value: -10, preemptionPolicy: 'Never', globalDefault: false } });
  karpenter = await startKarpenter(kube);
  await karpenter.addPool({ name: NODEPOOL, labels: { [POOL_KEY]: 'c' }, instanceTypes: ['gpu-4x'], registrationDelaySeconds: REGISTRATION_DELAY_SECONDS, limits: { 'nvidia.com/gpu': '8' } });
});
after(() => runCleanups([
  { what: 'controller', run: async () => controller?.stop() },
  { what: 'karpenter', run: async () => karpenter?.stop() },
  { what: 'control plane', run: () => kube.stop() },
]));

const poolNodes = async (): Promise<V1Node[]> => (await core.listNode({ labelSelector: `karpenter.sh/nodepool=${NODEPOOL}` })).items;
const llmPods = async (): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace: APP, labelSelector: 'app=llm' })).items.filter((p) => !p.metadata?.deletionTimestamp);
interface NodeClaim { metadata: { name: string }; status?: { nodeName?: string; conditions?: Array<{ type: string; status: string }> } }
const claims = async (): Promise<NodeClaim[]> => ((await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: 'karpenter.sh', version: 'v1', plural: 'nodeclaims' })) as { items: NodeClaim[] }).items;

test('a NodeClaim Karpenter launched counts as coming: the degraded drain proceeds before its Node exists', async (t) => {
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: APP,
    body: { metadata: { name: 'llm' }, spec: { replicas: 4, selector: { matchLabels: { app: 'llm' } }, template: { metadata: { labels: { app: 'llm' } }, spec: { nodeSelector: { [POOL_KEY]: 'c' }, tolerations: [NOT_READY], containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }] } } } },
  });
  const first = await waitUntil('the 4 llm pods bound on Karpenter\'s first node', async () => {
    const pods = await llmPods();
    const nodes = new Set(pods.map((p) => p.spec?.nodeName));
    return pods.length === 4 && pods.every((p) => p.spec?.nodeName) && nodes.size === 1 ? [...nodes][0] : undefined;
  }, { timeoutMs: 120_000, intervalMs: 500 });
  assert.ok(first);

  controller = await startTestController({
    kubeconfig: kube.kubeconfig,
    namespace: 'default',
    identity: `kc-${process.pid}`,
    overrides: {
      capacity: { nodeClaims: { enabled: true } },
      // One GPU node: one unhealthy node is the whole fleet, which the gate would call fleet-wide.
      healing: { enabled: true, intervalSeconds: 1, gate: { fleetUnhealthyFraction: 1 } },
    },
  });
  await waitUntil('the controller leads', async () => (controller?.elector.isLeader() ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
  const alert = { version: '4', groupKey: 'g', truncatedAlerts: 0, status: 'firing', receiver: 'surgeguard', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am',
    alerts: [{ status: 'firing', labels: { alertname: 'SurgeGuardGpuThermalSlowdown', node: first, severity: 'warning', surgeguard_fault: 'degraded' }, annotations: { summary: `thermal slowdown on ${first}` }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'kc' }] };
  const posted = await fetch(`${controller.url}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${controller.token}`, 'content-type': 'application/json' }, body: JSON.stringify(alert) });
  assert.equal(posted.status, 200);
  const waiting = await waitUntil('the drain waits: the pool is full', async () => controller?.remediations.list({ limit: 1000 }).find((e) => e.target.name === first && e.reason === 'NoReplacementCapacity'), { timeoutMs: 30_000, intervalMs: 300 });
  assert.match(waiting.message, /needs 4, 0 available \(0 free, 0 in placeholders, 0 coming/);

  // What the placeholder stage would create for a forecast that needs 4 more GPUs.
  await core.createNamespacedPod({
    namespace: APP,
    body: {
      metadata: { name: 'placeholder-0', labels: { 'app.kubernetes.io/managed-by': 'surgeguard', 'surgeguard.io/placeholder-pool': 'c' } },
      spec: { priorityClassName: 'surgeguard-placeholder', terminationGracePeriodSeconds: 0, nodeSelector: { [POOL_KEY]: 'c' }, tolerations: [NOT_READY], containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10', resources: { limits: { 'nvidia.com/gpu': '4' } } }] },
    },
  });
  const launchedAt = await waitUntil('Karpenter launched a second NodeClaim', async () => ((await claims()).filter((c) => c.status?.conditions?.some((x) => x.type === 'Launched' && x.status === 'True')).length === 2 ? Date.now() : undefined), { timeoutMs: 60_000, intervalMs: 200 });
  const cordonedAt = await waitUntil(`${first} cordoned`, async () => ((await core.readNode({ name: first })).spec?.unschedulable ? Date.now() : undefined), { timeoutMs: REGISTRATION_DELAY_SECONDS * 1000, intervalMs: 200 });
  assert.equal((await poolNodes()).length, 1, 'cordoned while the launched node has no Node object yet: the NodeClaim was counted');
  const cordon = controller.remediations.list({ limit: 1000 }).find((e) => e.target.name === first && e.reason === 'NodeCordoned');
  assert.match(cordon?.message ?? '', /claimed 4 nvidia.com\/gpu in pool gpu-c for the replacements \(replacement capacity in pool gpu-c: nvidia.com\/gpu: needs 4, 4 available \(0 free, 0 in placeholders, 4 coming within 600 s/);

  const second = await waitUntil('the llm pods run on the new node', async () => {
    const pods = await llmPods();
    const on = new Set(pods.map((p) => p.spec?.nodeName));
    return pods.length === 4 && on.size === 1 && !on.has(first) && pods.every((p) => p.status?.phase === 'Running') ? [...on][0] : undefined;
  }, { timeoutMs: 120_000, intervalMs: 500 });
  assert.ok((await claims()).some((c) => c.status?.nodeName === second), 'the new node is the second NodeClaim\'s');
  const placeholder = await core.readNamespacedPod({ namespace: APP, name: 'placeholder-0' }).catch(() => undefined);
  assert.ok(!placeholder?.spec?.nodeName || placeholder.spec.nodeName !== second, 'the real pods took the node, not the placeholder');
  t.diagnostic(`NodeClaim launched -> cordon ${((cordonedAt - launchedAt) / 1000).toFixed(1)} s (node registration delay ${REGISTRATION_DELAY_SECONDS} s)`);
});
