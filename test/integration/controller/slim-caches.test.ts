// The controller's node and pod caches on the real control plane (issue 21, memory): with
// `gpu.nodeSelector` the node cache holds the GPU nodes only, listed or added later, and never a
// node the selector leaves out; pods are kept without managedFields and the spec no reader reads,
// whether they came in the list or in a watch event.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { silentLogger } from '../../../common/logger.ts';
import { clusterCaches, type ClusterCaches } from '../../../controller/kube/cluster-caches.ts';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, sharedKube } from '../../helpers/infra/kube.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';

const id = `slim-${process.pid}`;
const namespace = id;
const MARK = 'surgeguard.io/test-slim';
let kc: KubeConfig;
let caches: ClusterCaches | undefined;

/** A kwok node without GPUs (no gpu.present label, no nvidia.com/gpu), Ready like the others. */
async function addCpuNode(core: CoreV1Api, name: string): Promise<void> {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  await core.createNode({ body: { metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok', [MARK]: id } }, status: { allocatable: resources, capacity: resources } } });
}

const names = (xs: readonly { metadata?: { name?: string } }[]): string[] => xs.map((x) => x.metadata?.name ?? '').sort();

before(async () => {
  kc = kubeConfigFrom((await sharedKube()).kubeconfig);
});
after(() =>
  runCleanups([
    { what: 'caches', run: async () => Promise.all([caches?.nodes.stop(), caches?.pods.stop()]) },
    // The CPU nodes would take other test files' CPU-only pods; the GPU nodes go with them (one
    // never created, because the test failed before, is no error here).
    { what: 'nodes', run: async () => Promise.all(['gpu-a', 'gpu-b', 'cpu-a', 'cpu-b'].map((n) => kc.makeApiClient(CoreV1Api).deleteNode({ name: `${id}-${n}` }).catch(() => undefined))) },
  ]));

test('a label-selected node cache holds only GPU nodes, and the pod cache keeps slim pods from the list and from the watch', async () => {
  const core = kc.makeApiClient(CoreV1Api);
  await addFakeNodes(kc, [`${id}-gpu-a`], { labels: { [MARK]: id } });
  await addCpuNode(core, `${id}-cpu-a`);
  await ensureNamespace(core, namespace);
  const pod = (name: string, node: string): V1Pod => ({ metadata: { name, labels: { app: 'infer' } }, spec: { nodeName: node, containers: [{ name: 'm', image: 'registry.invalid/m:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }], tolerations: [{ operator: 'Exists' }] } });
  await core.createNamespacedPod({ namespace, body: pod('listed', `${id}-gpu-a`) });

  caches = clusterCaches(kc, silentLogger(), { targetCache: false, gpuNodeSelector: `nvidia.com/gpu.present=true,${MARK}=${id}` });
  await Promise.all([caches.nodes.start(), caches.pods.start()]);
  const { nodes, pods } = caches;
  await waitUntil('node and pod caches synced', async () => (nodes.synced() && pods.synced() ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
  assert.deepEqual(names(nodes.list()), [`${id}-gpu-a`], 'the listed nodes: the GPU node, not the CPU node');

  // Added after the list: the CPU node's event would come before the GPU node's (the watch is in
  // resourceVersion order), so once the second GPU node is in, the CPU node has been left out.
  await addCpuNode(core, `${id}-cpu-b`);
  await addFakeNodes(kc, [`${id}-gpu-b`], { labels: { [MARK]: id } });
  await waitUntil('the second GPU node in the cache', async () => (nodes.get(`${id}-gpu-b`) ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
  assert.deepEqual(names(nodes.list()), [`${id}-gpu-a`, `${id}-gpu-b`]);
  const gpuNode = nodes.get(`${id}-gpu-b`) as V1Node;
  assert.equal(gpuNode.status?.allocatable?.['nvidia.com/gpu'], '8');
  assert.ok(gpuNode.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), 'the node conditions are kept');
  assert.equal(gpuNode.metadata?.managedFields, undefined);

  // The API server's own copy has managedFields: the cache left them out, they were there.
  const whole = await core.readNamespacedPod({ name: 'listed', namespace });
  assert.ok((whole.metadata?.managedFields?.length ?? 0) > 0, 'the API server sends managedFields');
  await core.createNamespacedPod({ namespace, body: pod('watched', `${id}-gpu-b`) });
  await waitUntil('the watched pod in the cache', async () => (pods.get('watched', namespace) ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
  for (const name of ['listed', 'watched']) {
    const cached = pods.get(name, namespace) as V1Pod;
    assert.equal(cached.metadata?.managedFields, undefined, `${name}: managedFields kept`);
    assert.equal(cached.spec?.volumes, undefined, `${name}: the service account volume kept`);
    assert.deepEqual(cached.metadata?.labels, { app: 'infer' }, name);
    assert.ok(cached.spec?.nodeName?.startsWith(`${id}-gpu`), `${name}: nodeName ${cached.spec?.nodeName}`);
    assert.deepEqual(cached.spec?.containers[0]?.resources?.limits, { 'nvidia.com/gpu': '1' }, name);
  }
});
