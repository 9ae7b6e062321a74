// CapacityBuffer placeholders on the real control plane (kube-apiserver, etcd, the controller
// manager's garbage collector), under the shipped RBAC (deploy/controller/rbac.yaml and the chart's
// placeholder Role rendered with a pool in mode auto). The placeholder stage runs in-process against
// the API server with a forecaster whose level the test sets and a cluster view it passes (the
// stage's inputs; what this tests is what it writes). Without the CapacityBuffer CRD, auto mode holds
// the forecast-sized count in placeholder pods; with the cluster autoscaler's CRD installed
// (test/fixtures/capacitybuffer/crd.yaml), a restarted stage writes it as a CapacityBuffer instead,
// deletes the pods, updates the replicas as the forecast rises, and deletes the buffer and its
// PodTemplate once the forecast has fallen for the stabilization window. No cluster autoscaler runs
// here (its Go module is refused by the proxy; docs/capacity.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
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
import { createPlaceholderStage, type PlaceholderMember, type PlaceholderTick } from '../../../controller/capacity/placeholder-stage.ts';
import { CHART, helmBinary, helmTemplate } from '../../../scripts/render-manifests.ts';
import { kubeConfigFrom, readAudit, serviceAccountKubeconfig, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { REPO_ROOT, runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';
import { rbacRulesAllUsed, untilRolesEffective } from '../../helpers/rbac.ts';

const NS = 'surgeguard';
const BUFFER = 'surgeguard-placeholder-a100';
const POOL_LABELS = { 'karpenter.sh/nodepool': 'a100' };
let kube: KubeHandle;
let admin: KubeConfig;
let sa: KubeConfig;
let saUser: string;
let chartRoles: unknown[];

// Stabilization 30 s at 15 s ticks: a fall releases on the second tick after it.
const config = placeholderConfigSchema.parse({ enabled: true, namespace: NS, stabilizationSeconds: 30, pools: [{ name: 'a100', capGpus: 8, gpusPerPod: 2, nodeLeadTimeSeconds: 60, nodeSelector: POOL_LABELS, mode: 'auto' }] });
const level = { value: 12 };
/** A flat forecast at `level` requests/s; 2 per replica, 1 GPU per replica. */
const forecaster: Forecaster = {
  name: 'flat', runsOn: 'test', version: '1',
  async forecast(req) {
    const f = new Float64Array(req.horizonSteps).fill(level.value);
    return { forecasts: req.histories.map(() => ({ p10: f, p50: f, p90: f })), sources: req.histories.map(() => 'flat') };
  },
  async close() {},
};
const member: PlaceholderMember = { key: 'ml/llm', namespace: 'ml', selector: 'app=llm', gpu: { resource: 'nvidia.com/gpu', perReplica: 1 }, policy: { startupSeconds: 15, capacityPerReplicaPerSecond: 2, headroom: 1, quantile: 'p90', minReplicas: 1, maxReplicas: 100 }, history: [10, 10, 10], desiredReplicas: 1 };
/** `n` real pods of the member, bound, 1 GPU each: what the scaler has already brought up. */
const real = (n: number): V1Pod[] => Array.from({ length: n }, (_, i) => ({ metadata: { name: `llm-${i}`, namespace: 'ml', labels: { app: 'llm' } }, spec: { nodeName: 'gpu-0', containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '1' } } }] } }));

/** A fresh stage (a controller start) under the ServiceAccount, with its registry and Event reasons. */
function startStage() {
  const metrics = createMetricRegistry();
  const events: string[] = [];
  const logger = createLogger({ level: 'error', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const event = async (_o: unknown, _t: unknown, reason: string): Promise<void> => void events.push(reason);
  const pods = kubePlaceholderClient(sa);
  const buffers = kubeCapacityBufferClient(sa);
  const stage = createPlaceholderStage({ client: pods, actuator: createPlaceholderActuator({ client: pods, event, logger, metrics }, config), forecaster, logger, metrics, buffers: { client: buffers, actuator: createBufferActuator({ client: buffers, event, logger, metrics }, config) } }, config);
  let nowMs = Date.now();
  const run = (t: Partial<PlaceholderTick> = {}): ReturnType<typeof stage.run> => {
    nowMs += 15_000;
    return stage.run({ members: [member], cluster: { nodes: [], pods: [] }, leadTimes: [], act: true, nowMs, intervalSeconds: 15, forecastTimeScale: 1, ...t });
  };
  return { run, metrics, events };
}

async function placeholderPods(): Promise<string[]> {
  const list = await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: PLACEHOLDER_SELECTOR });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name ?? '').sort();
}

async function buffer(): Promise<CapacityBufferObject | undefined> {
  try {
    return (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'autoscaling.x-k8s.io', version: 'v1beta1', namespace: NS, plural: 'capacitybuffers', name: BUFFER })) as CapacityBufferObject;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function templateExists(): Promise<boolean> {
  try {
    await admin.makeApiClient(CoreV1Api).readNamespacedPodTemplate({ namespace: NS, name: BUFFER });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}

before(async () => {
  kube = await startKube();
  admin = kubeConfigFrom(kube.kubeconfig);
  await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  await applyManifests(admin, parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/rbac.yaml'), 'utf8')));
  // Placeholders on with no pool in capacityBuffer or auto mode: the Role grants pods only.
  const podsOnly = parseManifests(await helmTemplate(await helmBinary(REPO_ROOT), join(REPO_ROOT, CHART), { set: ['controller.config.capacity.placeholders.enabled=true'] }));
  const podsRole = podsOnly.find((o) => o.kind === 'Role' && o.metadata?.name === 'surgeguard-controller-placeholders') as unknown as { rules: Array<{ resources: string[] }> };
  assert.deepEqual(podsRole.rules.flatMap((r) => r.resources), ['pods']);
  const set = ['controller.config.capacity.placeholders.enabled=true', 'controller.config.capacity.placeholders.pools[0].name=a100', 'controller.config.capacity.placeholders.pools[0].capGpus=8', 'controller.config.capacity.placeholders.pools[0].mode=auto'];
  const rendered = parseManifests(await helmTemplate(await helmBinary(REPO_ROOT), join(REPO_ROOT, CHART), { set }));
  chartRoles = rendered.filter((o) => o.metadata?.name === 'surgeguard-placeholder' || o.metadata?.name === 'surgeguard-controller-placeholders');
  const bufferRole = chartRoles.find((o) => (o as { kind?: string }).kind === 'Role') as { rules: Array<{ resources: string[] }> };
  assert.deepEqual(bufferRole.rules.flatMap((r) => r.resources), ['pods', 'capacitybuffers', 'podtemplates']);
  await applyManifests(admin, chartRoles as Parameters<typeof applyManifests>[1]);
  const account = await serviceAccountKubeconfig(kube, { namespace: NS, name: 'surgeguard-controller' });
  sa = kubeConfigFrom(account.kubeconfig);
  saUser = account.username;
  await untilRolesEffective(admin, { namespace: NS, name: 'surgeguard-controller' }, NS, (name) => name === 'surgeguard-controller-placeholders', chartRoles);
});
after(() => runCleanups([{ what: 'control plane', run: () => kube.stop() }]));

test('auto mode without the CRD holds the forecast-sized count in placeholder pods', async () => {
  const s = startStage();
  const [plan] = await s.run();
  // Need: 12 requests/s at 2 per replica = 6 GPUs, less the 1 its plan asks and nothing real: 6 GPUs, 3 pods of 2.
  assert.equal(plan?.wantPods, 3, plan?.message);
  assert.deepEqual(await placeholderPods(), ['surgeguard-placeholder-a100-0', 'surgeguard-placeholder-a100-1', 'surgeguard-placeholder-a100-2']);
  assert.match((await s.metrics.render()).body, /surgeguard_placeholder_mode\{pool="a100",mode="pods"\} 1/);
});

test('with the CapacityBuffer CRD, a restarted stage writes the buffer instead, follows the forecast and removes it after the window', async () => {
  await applyManifests(admin, parseManifests(readFileSync(join(REPO_ROOT, 'test/fixtures/capacitybuffer/crd.yaml'), 'utf8')));
  const crds = admin.makeApiClient(ApiextensionsV1Api);
  await waitUntil('CapacityBuffer CRD established', async () => {
    const crd = await crds.readCustomResourceDefinition({ name: 'capacitybuffers.autoscaling.x-k8s.io' });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  }, { timeoutMs: 30_000 });
  // Discovery as the ServiceAccount sees it (system:discovery), which lags the Established condition a little.
  // Right after that the API server answers a list with 429 "storage is (re)initializing" for a
  // moment (the stage counts such a tick as failed and changes nothing): wait until a list answers.
  await waitUntil('CapacityBuffer served and listable', async () => {
    const client = kubeCapacityBufferClient(sa);
    if ((await client.served()) !== 'v1beta1') return undefined;
    return client.list('v1beta1', NS, PLACEHOLDER_SELECTOR).then(() => true, () => undefined);
  }, { timeoutMs: 30_000 });

  const s = startStage();
  const [first] = await s.run();
  assert.equal(first?.wantPods, 3, first?.message);
  const b = await buffer();
  assert.equal(b?.spec.replicas, 3);
  assert.equal(b?.spec.podTemplateRef?.name, BUFFER);
  // The CRD's default, as the API server applies it.
  assert.equal(b?.spec.provisioningStrategy, 'buffer.x-k8s.io/active-capacity');
  const t = await admin.makeApiClient(CoreV1Api).readNamespacedPodTemplate({ namespace: NS, name: BUFFER });
  assert.equal(t.template?.spec?.containers[0]?.resources?.requests?.['nvidia.com/gpu'], '2');
  assert.deepEqual(t.template?.spec?.nodeSelector, POOL_LABELS);
  assert.equal(t.template?.spec?.priorityClassName, 'surgeguard-placeholder');
  assert.deepEqual(t.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [['CapacityBuffer', BUFFER, b?.metadata.uid]]);
  // The pods the stage held before the CRD existed go: the buffer stands for them.
  assert.deepEqual(await placeholderPods(), []);
  // Also readable at the deprecated v1alpha1 the cluster autoscaler's older releases read.
  const alpha = (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'autoscaling.x-k8s.io', version: 'v1alpha1', namespace: NS, plural: 'capacitybuffers', name: BUFFER })) as CapacityBufferObject;
  assert.equal(alpha.spec.replicas, 3);

  // The forecast rises: 16 requests/s = 8 GPUs, at the pool's cap of 8: 4 replicas.
  level.value = 16;
  const [rise] = await s.run();
  assert.equal(rise?.reason, 'Forecast', rise?.message);
  assert.equal((await buffer())?.spec.replicas, 4);

  // The forecast falls and 4 real pods came: the window (2 ticks) holds 8 GPUs, less 4 real: 2 replicas.
  level.value = 0;
  await s.run({ cluster: { nodes: [], pods: real(4) } });
  assert.equal((await buffer())?.spec.replicas, 2);
  // Past the window the need is the plan's 1 GPU, below the 4 real: the buffer and its template go.
  const [gone] = await s.run({ cluster: { nodes: [], pods: real(4) } });
  assert.equal(gone?.wantPods, 0, gone?.message);
  assert.equal(await buffer(), undefined);
  assert.equal(await templateExists(), false);
  assert.deepEqual(s.events, ['PlaceholdersDeleted', 'PlaceholdersDeleted', 'PlaceholdersDeleted', 'CapacityBufferCreated', 'CapacityBufferUpdated', 'CapacityBufferUpdated', 'CapacityBufferDeleted']);
  const body = (await s.metrics.render()).body;
  assert.match(body, /surgeguard_capacity_buffer_writes_total\{pool="a100",action="updated",reason="Forecast"\} 1/);
  assert.match(body, /surgeguard_capacity_buffer_writes_total\{pool="a100",action="deleted",reason="NoGap"\} 1/);
  assert.doesNotMatch(body, /surgeguard_capacity_buffer_errors_total\{/);
  // Every verb the chart's placeholder Role grants was used, and nothing it does not grant was needed.
  rbacRulesAllUsed(readAudit(kube, (e) => e.user.username === saUser), (name) => name === 'surgeguard-controller-placeholders', chartRoles);
  level.value = 12;
});
