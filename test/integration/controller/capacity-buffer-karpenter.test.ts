// The CapacityBuffer SurgeGuard writes, acted on by a real autoscaler: Karpenter v1.15.0 (its kwok
// provider, test/helpers/infra/karpenter.ts) with its CapacityBuffer feature gate on, on the real
// control plane and scheduler, with the cluster autoscaler's CRD (test/fixtures/capacitybuffer/crd.yaml;
// Karpenter reads v1beta1, the version SurgeGuard picks). Two NodePools with no node yet, each to
// receive two co-located GPU Deployments of 2 replicas (4 GPUs where none exist). For pool b the
// placeholder stage (in-process, mode capacityBuffer, a forecaster that sees the surge) writes a
// buffer of 4 one-GPU chunks; Karpenter makes a node for the buffer's virtual pods. Then both pools'
// Deployments are created at once: pool b's pods bind on the node the buffer brought, pool a's wait
// for Karpenter's node (registration delay). Both measured; the assertion is the order, not a figure.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, SchedulingV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import type { Forecaster } from '../../../inference/forecaster.ts';
import { createBufferActuator } from '../../../controller/capacity/capacity-buffer-actuator.ts';
import { kubeCapacityBufferClient } from '../../../controller/capacity/capacity-buffer-client.ts';
import type { CapacityBufferObject } from '../../../controller/capacity/capacity-buffer.ts';
import { createPlaceholderActuator } from '../../../controller/capacity/placeholder-actuator.ts';
import { kubePlaceholderClient } from '../../../controller/capacity/placeholder-client.ts';
import { placeholderConfigSchema } from '../../../controller/capacity/placeholder-config.ts';
import { PLACEHOLDER_SELECTOR } from '../../../controller/capacity/placeholder-pods.ts';
import { createPlaceholderStage, type PlaceholderMember } from '../../../controller/capacity/placeholder-stage.ts';
import { kubeConfigFrom, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { startKarpenter, type Karpenter } from '../../helpers/infra/karpenter.ts';
import { REPO_ROOT, runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';

const NS = 'surgeguard';
const APPS = 'ml';
const POOL_KEY = 'surgeguard.io/test-pool';
const REGISTRATION_DELAY_SECONDS = 15;
let kube: KubeHandle;
let kc: KubeConfig;
let karpenter: Karpenter | undefined;

before(async () => {
  kube = await startKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of [NS, APPS]) await core.createNamespace({ body: { metadata: { name } } });
  await kc.makeApiClient(SchedulingV1Api).createPriorityClass({ body: { metadata: { name: 'surgeguard-placeholder' }, value: -10, preemptionPolicy: 'Never' } });
  // The CRD before Karpenter: with the gate on it watches CapacityBuffers from the start.
  await applyManifests(kc, parseManifests(readFileSync(join(REPO_ROOT, 'test/fixtures/capacitybuffer/crd.yaml'), 'utf8')));
  await waitUntil('CapacityBuffer served and listable', async () => {
    const client = kubeCapacityBufferClient(kc);
    if ((await client.served()) !== 'v1beta1') return undefined;
    return client.list('v1beta1', NS, PLACEHOLDER_SELECTOR).then(() => true, () => undefined);
  }, { timeoutMs: 30_000 });
  karpenter = await startKarpenter(kube, { featureGates: 'CapacityBuffer=true' });
  for (const p of ['a', 'b']) await karpenter.addPool({ name: `gpu-${p}`, labels: { [POOL_KEY]: p }, instanceTypes: ['gpu-4x'], registrationDelaySeconds: REGISTRATION_DELAY_SECONDS, limits: { 'nvidia.com/gpu': '8' } });
});
after(() => runCleanups([{ what: 'karpenter', run: async () => karpenter?.stop() }, { what: 'control plane', run: () => kube.stop() }]));

/** 4 requests/s at 2 per replica: each of the two scalers needs 2 one-GPU replicas, 4 GPUs in all. */
const forecaster: Forecaster = {
  name: 'surge', runsOn: 'test', version: '1',
  async forecast(req) {
    const f = new Float64Array(req.horizonSteps).fill(4);
    return { forecasts: req.histories.map(() => ({ p10: f, p50: f, p90: f })), sources: req.histories.map(() => 'surge') };
  },
  async close() {},
};

const member = (name: string): PlaceholderMember => ({ key: `${APPS}/${name}`, namespace: APPS, selector: `app=${name}`, gpu: { resource: 'nvidia.com/gpu', perReplica: 1 }, policy: { startupSeconds: 15, capacityPerReplicaPerSecond: 2, headroom: 1, quantile: 'p90', minReplicas: 1, maxReplicas: 10 }, history: [1, 1, 1], desiredReplicas: 1 });

async function gpuNodes(p: string): Promise<string[]> {
  const nodes = await kc.makeApiClient(CoreV1Api).listNode({ labelSelector: `${POOL_KEY}=${p}` });
  return nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata?.name ?? '');
}

/** The two co-located Deployments of pool `p`, 2 replicas of 1 GPU each. */
async function deploy(p: string): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  for (const name of [`rank-${p}`, `llm-${p}`]) {
    const labels = { app: name };
    await apps.createNamespacedDeployment({ namespace: APPS, body: { metadata: { name }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { nodeSelector: { [POOL_KEY]: p }, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { requests: { cpu: '100m', 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } } }] } } } } });
  }
}

test('a CapacityBuffer from the forecast makes Karpenter bring the node first: the surge binds at once; without it the pods wait for the node', async () => {
  const config = placeholderConfigSchema.parse({ enabled: true, namespace: NS, stabilizationSeconds: 600, pools: [{ name: 'gpu-b', capGpus: 4, gpusPerPod: 1, nodeLeadTimeSeconds: 30, nodeSelector: { [POOL_KEY]: 'b' }, tolerations: [{ operator: 'Exists' }], mode: 'capacityBuffer', scalers: [`${APPS}/rank-b`, `${APPS}/llm-b`] }] });
  const metrics = createMetricRegistry();
  const logger = createLogger({ level: 'error', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const event = async (): Promise<void> => {};
  const pods = kubePlaceholderClient(kc);
  const buffers = kubeCapacityBufferClient(kc);
  const stage = createPlaceholderStage({ client: pods, actuator: createPlaceholderActuator({ client: pods, event, logger, metrics }, config), forecaster, logger, metrics, buffers: { client: buffers, actuator: createBufferActuator({ client: buffers, event, logger, metrics }, config) } }, config);
  const [plan] = await stage.run({ members: [member('rank-b'), member('llm-b')], cluster: { nodes: [], pods: [] }, leadTimes: [], act: true, nowMs: Date.now(), intervalSeconds: 15, forecastTimeScale: 1 });
  assert.equal(plan?.wantPods, 4, plan?.message);
  const written = Date.now();

  // Karpenter resolves the buffer (its status) and launches a node for its 4 virtual pods.
  const custom = kc.makeApiClient(CustomObjectsApi);
  const resolved = await waitUntil('Karpenter resolves the buffer', async () => {
    const b = (await custom.getNamespacedCustomObject({ group: 'autoscaling.x-k8s.io', version: 'v1beta1', namespace: NS, plural: 'capacitybuffers', name: 'surgeguard-placeholder-gpu-b' })) as CapacityBufferObject;
    return b.status?.replicas === 4 ? b : undefined;
  }, { timeoutMs: 60_000, intervalMs: 300 });
  assert.equal(resolved.status?.conditions?.find((c) => c.type === 'ReadyForProvisioning')?.status, 'True', JSON.stringify(resolved.status));
  // The next tick sees the autoscaler's status: resolved, nothing to report.
  await stage.run({ members: [member('rank-b'), member('llm-b')], cluster: { nodes: [], pods: [] }, leadTimes: [], act: true, nowMs: Date.now() + 3_600_000, intervalSeconds: 15, forecastTimeScale: 1 });
  assert.match((await metrics.render()).body, /surgeguard_capacity_buffer_unresolved\{pool="gpu-b"\} 0/);
  await waitUntil('the buffer\'s node Ready in pool b', async () => ((await gpuNodes('b')).length > 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 300 });
  const nodeSeconds = (Date.now() - written) / 1000;
  assert.deepEqual(await gpuNodes('a'), [], 'no node in pool a before its pods');
  // No placeholder pod exists: the buffer's pods are Karpenter's virtual ones.
  assert.equal((await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS })).items.length, 0);

  // The surge, in both pools at once.
  const t0 = Date.now();
  await Promise.all([deploy('a'), deploy('b')]);
  const bound = new Map<string, { pool: string; seconds: number }>();
  await waitUntil('the 8 surge pods bound', async () => {
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: APPS });
    for (const x of list.items as V1Pod[]) {
      const uid = x.metadata?.uid ?? '';
      if (x.spec?.nodeName && !bound.has(uid)) bound.set(uid, { pool: x.spec.nodeSelector?.[POOL_KEY] ?? '', seconds: (Date.now() - t0) / 1000 });
    }
    return bound.size >= 8 ? true : undefined;
  }, { timeoutMs: 180_000, intervalMs: 200 });
  const of = (p: string): number[] => [...bound.values()].filter((b) => b.pool === p).map((b) => b.seconds).sort((a, b) => a - b);
  const fmt = (xs: readonly number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
  console.log(`buffer written -> Karpenter's node Ready: ${nodeSeconds.toFixed(1)} s; surge pods bound after the Deployments were created: with the buffer (pool b) ${fmt(of('b'))} s; without (pool a) ${fmt(of('a'))} s`);
  assert.equal(of('a').length, 4);
  assert.equal(of('b').length, 4);
  assert.ok(Math.max(...of('b')) < Math.min(...of('a')), 'every pod of the buffered pool bound before any pod of the other');
});
