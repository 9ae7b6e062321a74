// CapacityBuffer placeholders: the pure part (mode, version, manifests, the change to make) and the
// placeholder stage over an in-memory CapacityBuffer API (the real API server with the CRD is
// test/integration/controller/capacity-buffer.test.ts).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { V1Pod, V1PodTemplate } from '@kubernetes/client-node';
import { createLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import type { Forecaster } from '../../../inference/forecaster.ts';
import { bufferChange, bufferHealth, bufferPlaceholders, bufferPodTemplate, capacityBuffer, pickVersion, resolveMode, templateHash, type CapacityBufferObject } from '../../../controller/capacity/capacity-buffer.ts';
import { createBufferActuator } from '../../../controller/capacity/capacity-buffer-actuator.ts';
import type { CapacityBufferClient } from '../../../controller/capacity/capacity-buffer-client.ts';
import { createPlaceholderActuator } from '../../../controller/capacity/placeholder-actuator.ts';
import type { PlaceholderClient } from '../../../controller/capacity/placeholder-client.ts';
import { placeholderConfigSchema, type PlaceholderConfig } from '../../../controller/capacity/placeholder-config.ts';
import { placeholderPod } from '../../../controller/capacity/placeholder-pods.ts';
import { createPlaceholderStage, type PlaceholderMember, type PlaceholderTick } from '../../../controller/capacity/placeholder-stage.ts';

const POOL = placeholderConfigSchema.parse({ enabled: true, pools: [{ name: 'a100', capGpus: 8, gpusPerPod: 2, nodeSelector: { 'karpenter.sh/nodepool': 'a100' }, mode: 'capacityBuffer' }] }).pools[0]!;

test('mode: pods and capacityBuffer as configured; auto follows discovery', () => {
  const rows: Array<[Parameters<typeof resolveMode>[0], string | undefined, string]> = [
    ['pods', 'v1beta1', 'pods'],
    ['capacityBuffer', undefined, 'capacityBuffer'],
    ['auto', undefined, 'pods'],
    ['auto', 'v1alpha1', 'capacityBuffer'],
  ];
  for (const [mode, served, want] of rows) assert.equal(resolveMode(mode, served), want, `${mode} with ${served}`);
});

test('version: the most preferred one SurgeGuard writes among those served', () => {
  assert.equal(pickVersion(['v1alpha1', 'v1beta1']), 'v1beta1');
  assert.equal(pickVersion(['v1alpha1']), 'v1alpha1');
  assert.equal(pickVersion(['v2']), undefined);
  assert.equal(pickVersion([]), undefined);
});

test('the config names the allowed modes when one is wrong; pods by default', () => {
  const bad = placeholderConfigSchema.safeParse({ pools: [{ name: 'a100', capGpus: 1, mode: 'buffer' }] });
  assert.equal(bad.success, false);
  const issue = bad.error?.issues[0];
  assert.deepEqual(issue?.path, ['pools', 0, 'mode']);
  assert.match(issue?.message ?? '', /pods.*capacityBuffer.*auto/);
  assert.equal(placeholderConfigSchema.parse({ pools: [{ name: 'a100', capGpus: 1 }] }).pools[0]?.mode, 'pods');
});

test('the buffer names its PodTemplate, holds the replicas, and the template is the placeholder pod', () => {
  const b = capacityBuffer(POOL, { namespace: 'surgeguard', replicas: 3, version: 'v1beta1' });
  assert.equal(b.apiVersion, 'autoscaling.x-k8s.io/v1beta1');
  assert.deepEqual(b.spec, { podTemplateRef: { name: 'surgeguard-placeholder-a100' }, replicas: 3, provisioningStrategy: 'buffer.x-k8s.io/active-capacity' });
  assert.equal(b.metadata.labels?.['surgeguard.io/placeholder-pool'], 'a100');
  const t = bufferPodTemplate(POOL, { namespace: 'surgeguard', priorityClassName: 'surgeguard-placeholder', image: 'pause' }, { ...b, metadata: { ...b.metadata, uid: 'u-1' } });
  assert.equal(t.metadata?.name, b.spec.podTemplateRef?.name);
  assert.deepEqual(t.template?.spec, placeholderPod(POOL, { namespace: 'surgeguard', priorityClassName: 'surgeguard-placeholder', image: 'pause' }, 0).spec);
  assert.equal(t.template?.spec?.containers[0]?.resources?.requests?.['nvidia.com/gpu'], '2');
  assert.deepEqual(t.template?.spec?.nodeSelector, { 'karpenter.sh/nodepool': 'a100' });
  assert.deepEqual(t.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [['CapacityBuffer', 'surgeguard-placeholder-a100', 'u-1']]);
  assert.equal(bufferPodTemplate(POOL, { namespace: 'surgeguard', priorityClassName: 'p', image: 'i' }).metadata?.ownerReferences, undefined);
});

test('the change that brings a buffer to the wanted count', () => {
  const at = (replicas: number, deleting = false): CapacityBufferObject => ({ ...capacityBuffer(POOL, { namespace: 'ns', replicas: replicas, version: 'v1beta1' }), metadata: { name: 'b', namespace: 'ns', ...(deleting ? { deletionTimestamp: 'x' } : {}) } });
  const rows: Array<[CapacityBufferObject | undefined, number, ReturnType<typeof bufferChange>]> = [
    [undefined, 0, { action: 'hold' }],
    [undefined, 2, { action: 'write', replicas: 2, existed: false }],
    [at(2), 2, { action: 'hold' }],
    [at(2), 4, { action: 'write', replicas: 4, existed: true }],
    [at(4), 1, { action: 'write', replicas: 1, existed: true }],
    [at(4), 0, { action: 'delete' }],
    [at(4, true), 0, { action: 'hold' }],
    [at(4, true), 3, { action: 'write', replicas: 3, existed: false }],
  ];
  for (const [current, want, change] of rows) assert.deepEqual(bufferChange(current, want), change, `${current?.spec.replicas} -> ${want}`);
  // The same count of another template (the pool's gpusPerPod or nodeSelector changed): rewritten.
  const written = capacityBuffer(POOL, { namespace: 'ns', replicas: 2, version: 'v1beta1', hash: 'h1' });
  assert.deepEqual(bufferChange(written, 2, 'h1'), { action: 'hold' });
  assert.deepEqual(bufferChange(written, 2, 'h2'), { action: 'write', replicas: 2, existed: true });
  const cfg = { namespace: 'ns', priorityClassName: 'p', image: 'i' };
  assert.equal(templateHash(POOL, cfg), templateHash({ ...POOL }, cfg));
  assert.notEqual(templateHash(POOL, cfg), templateHash({ ...POOL, gpusPerPod: 4 }, cfg));
  assert.notEqual(templateHash(POOL, cfg), templateHash({ ...POOL, nodeSelector: { pool: 'h100' } }, cfg));
});

test('a buffer reads as one unbound placeholder per replica, none for a buffer being deleted', () => {
  const b = capacityBuffer(POOL, { namespace: 'ns', replicas: 3, version: 'v1beta1' });
  const ps = bufferPlaceholders(b, POOL, 5000);
  assert.deepEqual(ps.map((p) => [p.name, p.gpus, p.bound]), [['surgeguard-placeholder-a100-0', 2, false], ['surgeguard-placeholder-a100-1', 2, false], ['surgeguard-placeholder-a100-2', 2, false]]);
  assert.deepEqual(bufferPlaceholders({ ...b, metadata: { ...b.metadata, deletionTimestamp: 'x' } }, POOL, 0), []);
  assert.deepEqual(bufferPlaceholders(undefined, POOL, 0), []);
});

test('whether an autoscaler reads the buffer: its status, or none past twice the lead time', () => {
  const b = (extra: Partial<CapacityBufferObject>): CapacityBufferObject => ({ ...capacityBuffer(POOL, { namespace: 'ns', replicas: 2, version: 'v1beta1' }), ...extra });
  const created = { name: 'b', namespace: 'ns', creationTimestamp: new Date(0).toISOString() };
  const rows: Array<[CapacityBufferObject | undefined, number, string]> = [
    [undefined, 999_000, 'new'],
    [b({ metadata: created }), 119_000, 'new'],
    [b({ metadata: created }), 121_000, 'unread'],
    [b({ metadata: { name: 'b', namespace: 'ns' } }), 999_000, 'new'],
    [b({ metadata: created, status: { replicas: 2 } }), 999_000, 'resolved'],
    [b({ metadata: created, status: { conditions: [{ type: 'ReadyForProvisioning', status: 'True' }] } }), 999_000, 'resolved'],
    [b({ metadata: created, status: { replicas: 0, conditions: [{ type: 'ReadyForProvisioning', status: 'False', reason: 'PodTemplateNotFound', message: 'not found' }] } }), 1000, 'unresolved'],
  ];
  for (const [buffer, nowMs, state] of rows) assert.equal(bufferHealth(buffer, nowMs, 60).state, state, `${JSON.stringify(buffer?.status)} at ${nowMs}`);
  const refused = bufferHealth(rows[6]![0], 0, 60);
  assert.match(refused.state === 'unresolved' ? refused.message : '', /PodTemplateNotFound not found/);
});

test('a buffer no autoscaler reads is reported once, by a Warning and a gauge', async () => {
  const s = stage(cfg('capacityBuffer', 15), 'v1beta1');
  await s.run();
  const stored = s.buffers.buffers.get('surgeguard-placeholder-a100')!;
  stored.metadata.creationTimestamp = new Date(1000).toISOString();
  await s.run({ nowMs: 1000 + 121_000 });
  await s.run({ nowMs: 1000 + 136_000 });
  assert.deepEqual(s.events, ['CapacityBufferCreated', 'CapacityBufferUnresolved']);
  assert.match((await s.metrics.render()).body, /surgeguard_capacity_buffer_unresolved\{pool="a100"\} 1/);
  stored.status = { replicas: 3 };
  await s.run({ nowMs: 1000 + 151_000 });
  assert.match((await s.metrics.render()).body, /surgeguard_capacity_buffer_unresolved\{pool="a100"\} 0/);
});

// ---- the stage over in-memory APIs ----

function memoryBuffers(served: string | undefined): CapacityBufferClient & { buffers: Map<string, CapacityBufferObject>; templates: Map<string, V1PodTemplate>; discoveries: number } {
  const buffers = new Map<string, CapacityBufferObject>();
  const templates = new Map<string, V1PodTemplate>();
  return {
    buffers,
    templates,
    discoveries: 0,
    async served() {
      this.discoveries++;
      return served;
    },
    async list() {
      return [...buffers.values()];
    },
    async write(b) {
      const stored = { ...b, metadata: { ...b.metadata, uid: `uid-${b.metadata.name}` } };
      buffers.set(b.metadata.name, stored);
      return stored;
    },
    async writeTemplate(t) {
      templates.set(t.metadata?.name ?? '', t);
    },
    async delete(_v, _ns, name) {
      templates.delete(name);
      return buffers.delete(name);
    },
  };
}

function memoryPods(): PlaceholderClient & { pods: Map<string, V1Pod> } {
  const pods = new Map<string, V1Pod>();
  return {
    pods,
    async list() {
      return [...pods.values()];
    },
    async create(pod) {
      pods.set(pod.metadata?.name ?? '', { ...pod, metadata: { ...pod.metadata, creationTimestamp: new Date(0) } });
      return true;
    },
    async delete(_ns, name) {
      return pods.delete(name);
    },
  };
}

/** A flat forecast, 16 requests/s until set (at 2 per replica, 8 GPUs). */
const level = { value: 16 };
const flat: Forecaster = {
  name: 'flat', runsOn: 'test', version: '1',
  async forecast(req) {
    const f = new Float64Array(req.horizonSteps).fill(level.value);
    return { forecasts: req.histories.map(() => ({ p10: f, p50: f, p90: f })), sources: req.histories.map(() => 'flat') };
  },
  async close() {},
};

function stage(config: PlaceholderConfig, served: string | undefined, pods = memoryPods()) {
  const buffers = memoryBuffers(served);
  const events: string[] = [];
  const metrics = createMetricRegistry();
  const logger = createLogger({ level: 'error', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const event = async (_o: unknown, _t: unknown, reason: string): Promise<void> => void events.push(reason);
  const actuator = createPlaceholderActuator({ client: pods, event, logger, metrics }, config);
  const bufferActuator = createBufferActuator({ client: buffers, event, logger, metrics }, config);
  const s = createPlaceholderStage({ client: pods, actuator, forecaster: flat, logger, metrics, buffers: { client: buffers, actuator: bufferActuator } }, config);
  const member: PlaceholderMember = { key: 'ml/llm', namespace: 'ml', selector: 'app=llm', gpu: { resource: 'nvidia.com/gpu', perReplica: 1 }, policy: { startupSeconds: 30, capacityPerReplicaPerSecond: 2, headroom: 1, quantile: 'p90', minReplicas: 1, maxReplicas: 100 }, history: [10, 10, 10], desiredReplicas: 1 };
  const run = (t: Partial<PlaceholderTick> = {}): ReturnType<typeof s.run> => s.run({ members: [member], cluster: { nodes: [], pods: [] }, leadTimes: [], act: true, nowMs: 1000, intervalSeconds: 15, forecastTimeScale: 1, ...t });
  return { buffers, pods, events, metrics, run };
}

const cfg = (mode: string, stabilizationSeconds: number): PlaceholderConfig => placeholderConfigSchema.parse({ enabled: true, stabilizationSeconds, pools: [{ name: 'a100', capGpus: 6, gpusPerPod: 2, nodeLeadTimeSeconds: 60, mode }] });

test('capacityBuffer mode: the forecast-sized count under the cap is the buffer\'s replicas; no pod is created', async () => {
  const s = stage(cfg('capacityBuffer', 15), 'v1beta1');
  const [plan] = await s.run();
  // Need 8 GPUs, capGpus 6 at 2 per chunk: 3 replicas, the cap's reason.
  assert.equal(plan?.wantPods, 3);
  assert.equal(plan?.reason, 'PlaceholderCap');
  assert.equal(s.buffers.buffers.get('surgeguard-placeholder-a100')?.spec.replicas, 3);
  assert.equal(s.buffers.templates.get('surgeguard-placeholder-a100')?.metadata?.ownerReferences?.[0]?.uid, 'uid-surgeguard-placeholder-a100');
  assert.equal(s.pods.pods.size, 0);
  assert.deepEqual(s.events, ['CapacityBufferCreated']);
  const body = (await s.metrics.render()).body;
  assert.match(body, /surgeguard_placeholder_decisions_total\{pool="a100",decision="create",reason="PlaceholderCap"\} 1/);
  assert.match(body, /surgeguard_capacity_buffer_writes_total\{pool="a100",action="created",reason="PlaceholderCap"\} 1/);
  assert.match(body, /surgeguard_placeholder_mode\{pool="a100",mode="capacityBuffer"\} 1/);
  // A second tick holds: nothing written again.
  await s.run();
  assert.deepEqual(s.events, ['CapacityBufferCreated']);
});

test('a fall of the forecast lowers the buffer only after the window, and a need of 0 deletes it', async () => {
  const s = stage(cfg('capacityBuffer', 30), 'v1beta1');
  await s.run();
  // Real pods now ask 4 GPUs: the gap is 8 - 4 = 4, 2 replicas.
  const real = (n: number): V1Pod[] => Array.from({ length: n }, (_, i) => ({ metadata: { name: `llm-${i}`, namespace: 'ml', labels: { app: 'llm' } }, spec: { nodeName: 'n', containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '1' } } }] } }));
  await s.run({ cluster: { nodes: [], pods: real(4) } });
  assert.equal(s.buffers.buffers.get('surgeguard-placeholder-a100')?.spec.replicas, 2);
  // The forecast falls to nothing (need: the plan's 1 GPU): the window (2 steps) holds 8 for one more tick.
  level.value = 0;
  try {
    await s.run({ cluster: { nodes: [], pods: real(4) } });
    assert.equal(s.buffers.buffers.get('surgeguard-placeholder-a100')?.spec.replicas, 2);
    await s.run({ cluster: { nodes: [], pods: real(4) } });
  } finally {
    level.value = 16;
  }
  assert.equal(s.buffers.buffers.has('surgeguard-placeholder-a100'), false);
  assert.equal(s.buffers.templates.size, 0);
  assert.deepEqual(s.events, ['CapacityBufferCreated', 'CapacityBufferUpdated', 'CapacityBufferDeleted']);
});

test('auto mode: pods when the resource is not served, a buffer when it is, and the other kind is deleted', async () => {
  const pods = memoryPods();
  const without = stage(cfg('auto', 15), undefined, pods);
  await without.run();
  assert.equal(pods.pods.size, 3);
  assert.equal(without.buffers.buffers.size, 0);
  assert.match((await without.metrics.render()).body, /surgeguard_placeholder_mode\{pool="a100",mode="pods"\} 1/);
  // The CRD is installed and the controller restarts: the buffer takes over and the pods go.
  const withCrd = stage(cfg('auto', 15), 'v1beta1', pods);
  await withCrd.run();
  assert.equal(withCrd.buffers.buffers.get('surgeguard-placeholder-a100')?.spec.replicas, 3);
  assert.equal(pods.pods.size, 0);
});

test('capacityBuffer mode with the resource not served writes nothing and counts it', async () => {
  const s = stage(cfg('capacityBuffer', 15), undefined);
  const [plan] = await s.run();
  assert.equal(plan?.wantPods, 3);
  assert.equal(s.buffers.buffers.size, 0);
  assert.equal(s.pods.pods.size, 0);
  assert.match((await s.metrics.render()).body, /surgeguard_placeholder_buffer_unserved_total 1/);
});

test('a replica that does not act writes no buffer', async () => {
  const s = stage(cfg('capacityBuffer', 15), 'v1beta1');
  await s.run({ act: false });
  assert.equal(s.buffers.buffers.size, 0);
});
