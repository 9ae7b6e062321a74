// Karpenter NodeClaims as coming capacity: which claims count (launched, not Ready, not deleting),
// what they offer, the pool their labels name, and how a placeholder pool and a drain's
// replacement check count them until their Node exists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { comingNodeClaims, type NodeClaimObject } from '../../../controller/capacity/nodeclaims.ts';
import type { PlaceholderPoolConfig } from '../../../controller/capacity/placeholder-config.ts';
import { readPool } from '../../../controller/capacity/placeholder-pool.ts';
import { replacementCapacity } from '../../../controller/capacity/replacement.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const claim = (name: string, x: { conditions?: Record<string, string>; pool?: string; allocatable?: Record<string, string>; capacity?: Record<string, string>; nodeName?: string; deleting?: boolean; created?: string } = {}): NodeClaimObject => ({
  metadata: { name, labels: { 'karpenter.sh/nodepool': x.pool ?? 'a100', 'node.kubernetes.io/instance-type': 'gpu-4x' }, creationTimestamp: x.created ?? '2026-06-01T11:59:00Z', ...(x.deleting ? { deletionTimestamp: '2026-06-01T12:00:00Z' } : {}) },
  status: {
    ...(x.nodeName ? { nodeName: x.nodeName } : {}),
    ...(x.allocatable ? { allocatable: x.allocatable } : {}),
    capacity: x.capacity ?? { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '4' },
    conditions: Object.entries(x.conditions ?? { Launched: 'True' }).map(([type, status]) => ({ type, status })),
  },
});

test('launched and not Ready counts; not launched, Ready, deleting do not; what it offers is its device resources', () => {
  const got = comingNodeClaims([
    claim('launched'),
    claim('registered', { conditions: { Launched: 'True', Registered: 'True', Ready: 'False' }, nodeName: 'ip-10-0-0-7', allocatable: { 'nvidia.com/gpu': '4', 'nvidia.com/mig-1g.10gb': '0', cpu: '31' } }),
    claim('pending', { conditions: { Launched: 'Unknown' } }),
    claim('ready', { conditions: { Launched: 'True', Ready: 'True' } }),
    claim('going', { deleting: true }),
  ], NOW);
  assert.deepEqual(got.map((c) => [c.name, c.pool, c.resources, (NOW - c.createdMs) / 1000]), [
    ['launched', 'a100', { 'nvidia.com/gpu': 4 }, 60],
    ['ip-10-0-0-7', 'a100', { 'nvidia.com/gpu': 4 }, 60],
  ]);
});

const node = (name: string, gpus: number, ready = true): V1Node => ({ metadata: { name, labels: { 'karpenter.sh/nodepool': 'a100' }, creationTimestamp: new Date(NOW - 30_000) }, spec: {}, status: { allocatable: { 'nvidia.com/gpu': String(gpus) }, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
const pod = (name: string, on: string, gpus: number): V1Pod => ({ metadata: { name, namespace: 'ml', labels: { app: 'llm' } }, spec: { nodeName: on, containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] }, status: { phase: 'Running' } });

test('a placeholder pool counts the claims its nodeSelector matches, until their Node exists; a new claim means an autoscaler is there', () => {
  const pool: PlaceholderPoolConfig = { name: 'a100', resource: 'nvidia.com/gpu', nodeSelector: { 'karpenter.sh/nodepool': 'a100' }, tolerations: [], capGpus: 8, gpusPerPod: 1, mode: 'pods' };
  const claims = comingNodeClaims([claim('c1'), claim('c2', { nodeName: 'joined', conditions: { Launched: 'True', Registered: 'True' } }), claim('t4', { pool: 't4' })], NOW);
  const v = readPool(pool, { nodes: [node('a', 4), node('joined', 4, false)], pods: [], claims }, [], []);
  assert.equal(v.comingGpus, 8, 'joined as its Node (4, not Ready) and c1 as a claim (4); t4 is not this pool');
  assert.equal(v.newestNodeMs, NOW - 30_000, 'the newest of the nodes and the claims');
  assert.equal(readPool(pool, { nodes: [node('a', 4)], pods: [] }, [], []).comingGpus, 0);
});

test('a drain\'s replacement check counts a launched claim of its pool as coming', () => {
  const sick = node('sick', 4);
  const nodes = [sick, node('busy', 4)];
  const pods = [pod('l0', 'sick', 2), pod('b0', 'busy', 4)];
  assert.equal(replacementCapacity({ node: sick, nodes, pods, horizonSeconds: 600, nowMs: NOW }).enough, false);
  const v = replacementCapacity({ node: sick, nodes, pods, claims: comingNodeClaims([claim('c1')], NOW), horizonSeconds: 600, nowMs: NOW });
  assert.equal(v.enough, true);
  assert.equal(v.resources[0]?.coming, 4);
});
