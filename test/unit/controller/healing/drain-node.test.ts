import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import type { HealingCluster } from '../../../../controller/healing/cluster.ts';
import { drainNode } from '../../../../controller/healing/remediations/drain-node.ts';
import type { NodeRemediation } from '../../../../controller/healing/state.ts';
import type { PredictiveScaler } from '../../../../controller/crd/predictive-scaler.ts';
import type { ScaleClient } from '../../../../controller/kube/scale-target.ts';
import { FLOOR_ANNOTATION } from '../../../../controller/reconcile/scaler-policy.ts';

const NOW_MS = 1_800_000_000_000;
const config = healingConfigSchema.parse({}).drain;
const node: V1Node = { metadata: { name: 'gpu-07' } };
const pod = (name: string, nodeName: string): V1Pod => ({ metadata: { name, namespace: 'app', labels: { app: 'infer' } }, spec: { nodeName, containers: [] }, status: { phase: 'Running' } });
const pods = [pod('a', 'gpu-07'), pod('b', 'gpu-07'), pod('c', 'gpu-02')];
const remediation: NodeRemediation = { key: 'gpu-thermal/gpu-07', check: 'gpu-thermal', fault: 'degraded', phase: 'awaiting-replacements', summary: 'thermal slowdown', startedAtUnix: NOW_MS / 1000 - 10, deadlineUnix: NOW_MS / 1000 + 600 };

function scaler(floor?: string): PredictiveScaler {
  return {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name: 'infer', namespace: 'app', ...(floor ? { annotations: { [FLOOR_ANNOTATION]: floor } } : {}) },
    spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'infer' } } as PredictiveScaler['spec'],
  };
}

/** A drain over recording fakes: the scale says 3 replicas; `ready` pods are ready. */
function setup(s: PredictiveScaler, ready = 3) {
  const floors: string[] = [];
  const evicted: string[] = [];
  const cluster = {
    setFloor: (ns: string, name: string, replicas: number, expires: number, reason: string) => (floors.push(`${ns}/${name}=${replicas} until ${expires} (${reason})`), Promise.resolve()),
    evict: (ns: string, name: string) => (evicted.push(`${ns}/${name}`), Promise.resolve('evicted' as const)),
  } as unknown as HealingCluster;
  const scale = { read: () => Promise.resolve({ replicas: 3, currentReplicas: 3, selector: 'app=infer', resourceVersion: '1' }) } as unknown as ScaleClient;
  const drain = drainNode({ cluster, scalers: () => [s], scale, readyPods: () => Promise.resolve(ready) }, config);
  return { drain, floors, evicted };
}

test('a degraded node: the floor is raised to replicas plus the pods on the node, once, and recorded on the node', async () => {
  const { drain, floors } = setup(scaler());
  const first = await drain.advance(node, remediation, pods, NOW_MS, true);
  assert.deepEqual(floors, [`app/infer=5 until ${NOW_MS / 1000 + config.floorTtlSeconds} (drain gpu-07)`]);
  assert.deepEqual(first.next.floors, [{ scaler: 'app/infer', replicas: 5 }]);
  assert.equal(first.next.phase, 'awaiting-replacements', '3 ready of 5 asked for');
  const second = await drain.advance(node, first.next, pods, NOW_MS + 5000, true);
  assert.equal(floors.length, 1, 'recorded on the node: not raised again');
  assert.deepEqual(second.events, []);
});

test('a leader that died after writing the floor but before recording it: the next adopts the floor, raises nothing', async () => {
  const { drain, floors } = setup(scaler(`5,${NOW_MS / 1000 + 3000},drain gpu-07`), 5);
  const r = await drain.advance(node, remediation, pods, NOW_MS, true);
  assert.deepEqual(floors, []);
  assert.deepEqual(r.next.floors, [{ scaler: 'app/infer', replicas: 5 }]);
  assert.deepEqual(r.events.map((e) => e.reason), ['ReplacementsReady'], '5 ready of the 5 first asked for');
  assert.equal(r.next.phase, 'draining');
});

test("a floor for another node's drain, or one expired, is not this drain's: it raises its own", async () => {
  for (const floor of [`5,${NOW_MS / 1000 + 3000},drain gpu-02`, `5,${NOW_MS / 1000 - 1},drain gpu-07`]) {
    const { drain, floors } = setup(scaler(floor));
    const r = await drain.advance(node, remediation, pods, NOW_MS, true);
    assert.equal(floors.length, 1, floor);
    assert.deepEqual(r.events.map((e) => e.reason), ['ReplicaFloorRaised'], floor);
  }
});

test('draining evicts only the pods on the node, then reports it drained once none is left', async () => {
  const { drain, evicted } = setup(scaler());
  const draining = { ...remediation, phase: 'draining' as const };
  const r = await drain.advance(node, draining, pods, NOW_MS, true);
  assert.deepEqual(evicted, ['app/a', 'app/b']);
  assert.deepEqual(r.events.map((e) => e.reason), ['PodEvicted', 'PodEvicted']);
  const done = await drain.advance(node, draining, [pod('c', 'gpu-02')], NOW_MS, true);
  assert.equal(done.next.phase, 'drained');
  assert.deepEqual(done.events.map((e) => e.reason), ['NodeDrained']);
});

test('dry run: the floor is computed and reported, nothing is written or evicted', async () => {
  const { drain, floors, evicted } = setup(scaler());
  const r = await drain.advance(node, remediation, pods, NOW_MS, false);
  await drain.advance(node, { ...remediation, phase: 'draining' }, pods, NOW_MS, false);
  assert.deepEqual([floors, evicted], [[], []]);
  assert.deepEqual(r.events.map((e) => e.reason), ['ReplicaFloorRaised']);
});
