// Replacement capacity for a node about to be drained: what its pods hold, against what its pool
// has free, holds in placeholders, and has coming within the horizon, less what others claim.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { isDeviceResource, replacementCapacity, type ReplacementInput } from '../../../controller/capacity/replacement.ts';

const NOW = 1_800_000_000_000;
const POOL = 'karpenter.sh/nodepool';
const node = (name: string, gpus: number, x: { pool?: string; ready?: boolean; createdMs?: number; unschedulable?: boolean; mig?: number } = {}): V1Node => ({
  metadata: { name, labels: { [POOL]: x.pool ?? 'a100' }, creationTimestamp: new Date(x.createdMs ?? NOW - 86_400_000) },
  spec: { unschedulable: x.unschedulable ?? false },
  status: { allocatable: { 'nvidia.com/gpu': String(gpus), ...(x.mig ? { 'nvidia.com/mig-1g.10gb': String(x.mig) } : {}) }, conditions: [{ type: 'Ready', status: x.ready === false ? 'False' : 'True' }] },
});
const pod = (name: string, on: string | undefined, gpus: number, x: { resource?: string; labels?: Record<string, string>; owner?: string; nodeSelector?: Record<string, string>; phase?: string } = {}): V1Pod => ({
  metadata: { name, namespace: 'ml', labels: x.labels ?? { app: 'llm' }, ...(x.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: x.owner, name: 'o', uid: 'u' }] } : {}) },
  spec: { ...(on ? { nodeName: on } : {}), ...(x.nodeSelector ? { nodeSelector: x.nodeSelector } : {}), containers: [{ name: 'c', resources: { limits: { [x.resource ?? 'nvidia.com/gpu']: String(gpus) } } }] },
  status: { phase: x.phase ?? (on ? 'Running' : 'Pending') },
});
const placeholder = (name: string, on: string | undefined, gpus: number): V1Pod => pod(name, on, gpus, { labels: { 'app.kubernetes.io/managed-by': 'surgeguard', 'surgeguard.io/placeholder-pool': 'a100' } });
const sick = node('sick', 4);
const ask = (x: Partial<ReplacementInput>): ReturnType<typeof replacementCapacity> => replacementCapacity({ node: sick, nodes: [sick], pods: [], horizonSeconds: 600, nowMs: NOW, ...x });
const full = [pod('l0', 'sick', 2), pod('l1', 'sick', 1)];

test('device resources are vendor names; cpu, memory, pods and hugepages are not', () => {
  for (const [name, want] of [['nvidia.com/gpu', true], ['nvidia.com/mig-1g.10gb', true], ['amd.com/gpu', true], ['cpu', false], ['memory', false], ['hugepages-2Mi', false], ['kubernetes.io/batch', false]] as const) assert.equal(isDeviceResource(name), want, name);
});

test('a node whose pods hold no GPU has nothing to replace: DaemonSet, placeholder and finished pods do not count', () => {
  const v = ask({ pods: [pod('ds', 'sick', 1, { owner: 'DaemonSet' }), placeholder('ph', 'sick', 2), pod('done', 'sick', 1, { phase: 'Succeeded' })] });
  assert.equal(v.enough, true);
  assert.equal(v.reason, 'NoGpuPods');
  assert.deepEqual(v.claim, {});
});

test('a pool with no free GPU: not enough, and the message says every number', () => {
  const other = node('other', 4);
  const v = ask({ nodes: [sick, other], pods: [...full, pod('o0', 'other', 4)] });
  assert.equal(v.enough, false);
  assert.equal(v.reason, 'NoReplacementCapacity');
  assert.deepEqual(v.claim, { 'nvidia.com/gpu': 3 });
  assert.deepEqual(v.resources, [{ resource: 'nvidia.com/gpu', needed: 3, free: 0, placeholders: 0, coming: 0, pendingAhead: 0, claimed: 0, available: 0 }]);
  assert.equal(v.message, 'replacement capacity in pool a100: nvidia.com/gpu: needs 3, 0 available (0 free, 0 in placeholders, 0 coming within 600 s, less 0 for Pending pods and 0 claimed by other drains)');
});

test('free GPUs count in the same pool only, on Ready nodes that take pods', () => {
  const nodes = [sick, node('other', 4), node('h100', 8, { pool: 'h100' }), node('cordoned', 8, { unschedulable: true })];
  const v = ask({ nodes, pods: [...full, pod('o0', 'other', 2)] });
  assert.equal(v.resources[0]?.free, 2, '4 - 2 on other; h100 is another pool; a cordoned node takes nothing');
  assert.equal(v.enough, false);
  const w = ask({ nodes: [...nodes, node('spare', 1)], pods: [...full, pod('o0', 'other', 2)] });
  assert.equal(w.enough, true);
  assert.equal(w.reason, 'ReplacementCapacity');
});

test('placeholders on the pool\'s nodes can be taken over: real pods preempt them', () => {
  const v = ask({ nodes: [sick, node('other', 4)], pods: [...full, placeholder('ph0', 'other', 2), placeholder('ph1', undefined, 2), pod('o0', 'other', 1)] });
  assert.deepEqual({ free: v.resources[0]?.free, placeholders: v.resources[0]?.placeholders }, { free: 1, placeholders: 2 }, 'the Pending placeholder holds nothing and is not ahead of anyone');
  assert.equal(v.enough, true);
});

test('coming: a node not Ready within the horizon counts, a stuck one does not; a NodeClaim counts once', () => {
  const young = node('young', 4, { ready: false, createdMs: NOW - 60_000 });
  const stuck = node('stuck', 8, { ready: false, createdMs: NOW - 3_600_000 });
  const v = ask({ nodes: [sick, young, stuck], pods: full });
  assert.equal(v.resources[0]?.coming, 4);
  assert.equal(v.enough, true);
  const claims = [
    { name: 'a100-x1', pool: 'a100', labels: {}, resources: { 'nvidia.com/gpu': 8 }, createdMs: NOW - 30_000 },
    { name: 'young', pool: 'a100', labels: {}, resources: { 'nvidia.com/gpu': 4 }, createdMs: NOW - 60_000 },
    { name: 'h100-x1', pool: 'h100', labels: {}, resources: { 'nvidia.com/gpu': 8 }, createdMs: NOW - 30_000 },
    { name: 'old', pool: 'a100', labels: {}, resources: { 'nvidia.com/gpu': 8 }, createdMs: NOW - 3_600_000 },
  ];
  assert.equal(ask({ nodes: [sick, young], pods: full, claims }).resources[0]?.coming, 12, 'young as its Node, a100-x1 as a claim; the other pool\'s and the stuck one not');
});

test('Pending pods the pool would take and other drains\' claims come first', () => {
  const nodes = [sick, node('other', 8)];
  const pending = [pod('p0', undefined, 2), pod('p1', undefined, 4, { nodeSelector: { [POOL]: 'h100' } })];
  const v = ask({ nodes, pods: [...full, ...pending], outstanding: [{ node: 'n9', pool: 'a100', gpus: { 'nvidia.com/gpu': 4 } }, { node: 'n8', pool: 'h100', gpus: { 'nvidia.com/gpu': 8 } }, { node: 'sick', pool: 'a100', gpus: { 'nvidia.com/gpu': 3 } }] });
  assert.deepEqual({ pendingAhead: v.resources[0]?.pendingAhead, claimed: v.resources[0]?.claimed, available: v.resources[0]?.available }, { pendingAhead: 2, claimed: 4, available: 2 }, 'the h100 pod and claim are another pool\'s; its own old claim is not another drain\'s');
  assert.equal(v.enough, false);
});

test('MIG slices are a resource of their own: every one the pods hold must be covered', () => {
  const nodes = [node('sick', 4, { mig: 7 }), node('other', 4, { mig: 2 })];
  const pods = [pod('g', 'sick', 1), pod('m', 'sick', 3, { resource: 'nvidia.com/mig-1g.10gb' })];
  const v = ask({ node: nodes[0], nodes, pods });
  assert.deepEqual(v.resources.map((r) => [r.resource, r.needed, r.available]), [['nvidia.com/gpu', 1, 4], ['nvidia.com/mig-1g.10gb', 3, 2]]);
  assert.equal(v.enough, false, 'GPUs enough, slices not');
});
