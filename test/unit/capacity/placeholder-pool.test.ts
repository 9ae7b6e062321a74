// A pool read from the node and pod caches (free, coming, real GPUs), the placeholder pod's manifest
// and how a listed pod is read back, the pool and lead time a scaler's forecast goes to, and the GPU
// budget counting placeholders' GPUs as the scalers' to take.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { applyGpuBudget } from '../../../controller/capacity/apply.ts';
import type { PlaceholderPoolConfig } from '../../../controller/capacity/placeholder-config.ts';
import { asPlaceholder, placeholderPod } from '../../../controller/capacity/placeholder-pods.ts';
import { readPool } from '../../../controller/capacity/placeholder-pool.ts';
import { leadOf, poolOf } from '../../../controller/capacity/placeholder-stage.ts';
import type { ScalerPlan } from '../../../controller/reconcile/plan.ts';

const POOL: PlaceholderPoolConfig = { name: 'a100', resource: 'nvidia.com/gpu', nodeSelector: { 'karpenter.sh/nodepool': 'a100' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }], capGpus: 8, gpusPerPod: 2, mode: 'pods' };
const CFG = { namespace: 'surgeguard', priorityClassName: 'surgeguard-placeholder', image: 'registry.k8s.io/pause:3.10' };

const node = (name: string, gpus: number, x: { pool?: string; ready?: boolean; created?: string } = {}): V1Node => ({
  metadata: { name, labels: { 'karpenter.sh/nodepool': x.pool ?? 'a100' }, creationTimestamp: new Date(x.created ?? '2026-01-01T00:00:00Z') },
  spec: {},
  status: { allocatable: { 'nvidia.com/gpu': String(gpus) }, conditions: [{ type: 'Ready', status: x.ready === false ? 'False' : 'True' }] },
});
const pod = (name: string, ns: string, labels: Record<string, string>, gpus: number, nodeName = ''): V1Pod => ({
  metadata: { name, namespace: ns, labels },
  spec: { nodeName, containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] },
  status: { phase: nodeName ? 'Running' : 'Pending' },
});

test('readPool: free on the pool\'s Ready nodes, less every bound pod; coming on nodes not Ready; real GPUs of the members only', () => {
  const nodes = [node('a', 8), node('b', 8, { ready: false, created: '2026-01-02T00:00:00Z' }), node('other', 8, { pool: 't4' })];
  const ph = placeholderPod(POOL, CFG, 0);
  const pods = [
    pod('llm-0', 'ml', { app: 'llm' }, 2, 'a'),
    pod('llm-1', 'ml', { app: 'llm' }, 2), // Pending
    pod('batch', 'jobs', { app: 'batch' }, 1, 'a'),
    pod('elsewhere', 'ml', { app: 'llm' }, 4, 'other'),
    { ...ph, spec: { ...ph.spec, nodeName: 'a' } } as V1Pod,
  ];
  const v = readPool(POOL, { nodes, pods }, [{ key: 'ml/llm', namespace: 'ml', selector: 'app=llm' }], []);
  // a: 8 - 2 (llm-0) - 1 (batch) - 2 (placeholder) = 3 free.
  assert.equal(v.freeGpus, 3);
  // The real pods count wherever they are (the forecast is the scaler's, not the pool's): 2 + 2 + 4.
  assert.equal(v.realGpus, 8);
  // b's 8 GPUs are coming; the Pending real pod fits the free ones, so none of them is claimed.
  assert.equal(v.comingGpus, 8);
  assert.equal(v.newestNodeMs, Date.parse('2026-01-02T00:00:00Z'));
});

test('the placeholder pod: the pool\'s resource, selector and tolerations, the low PriorityClass, no grace period, labels to adopt it by', () => {
  const p = placeholderPod(POOL, CFG, 3);
  assert.equal(p.metadata?.name, 'surgeguard-placeholder-a100-3');
  assert.equal(p.metadata?.namespace, 'surgeguard');
  assert.deepEqual(p.metadata?.labels, { 'app.kubernetes.io/managed-by': 'surgeguard', 'surgeguard.io/placeholder-pool': 'a100', 'app.kubernetes.io/name': 'surgeguard-placeholder' });
  assert.equal(p.spec?.priorityClassName, 'surgeguard-placeholder');
  assert.equal(p.spec?.terminationGracePeriodSeconds, 0);
  assert.deepEqual(p.spec?.nodeSelector, POOL.nodeSelector);
  assert.deepEqual(p.spec?.tolerations, POOL.tolerations);
  assert.deepEqual(p.spec?.containers[0]?.resources?.limits, { 'nvidia.com/gpu': '2' });
  const back = asPlaceholder({ ...p, metadata: { ...p.metadata, creationTimestamp: new Date(5000) } }, () => 'nvidia.com/gpu');
  assert.deepEqual(back, { name: 'surgeguard-placeholder-a100-3', pool: 'a100', gpus: 2, bound: false, terminating: false, finished: false, createdMs: 5000 });
  assert.equal(asPlaceholder(pod('x', 'surgeguard', { app: 'x' }, 1), () => undefined), undefined);
});

test('a scaler\'s forecast goes to the pool that lists it, else the one of its resource that lists none', () => {
  const pools: PlaceholderPoolConfig[] = [{ ...POOL, name: 'listed', scalers: ['ml/llm'] }, { ...POOL, name: 'open' }, { ...POOL, name: 'mig', resource: 'nvidia.com/mig-1g.10gb', scalers: [] }];
  assert.equal(poolOf({ key: 'ml/llm', gpu: { resource: 'nvidia.com/gpu', perReplica: 1 } }, pools)?.name, 'listed');
  assert.equal(poolOf({ key: 'ml/rank', gpu: { resource: 'nvidia.com/gpu', perReplica: 1 } }, pools)?.name, 'open');
  assert.equal(poolOf({ key: 'ml/slice', gpu: { resource: 'nvidia.com/mig-1g.10gb', perReplica: 1 } }, pools), undefined);
});

test('the lead time: learned p90 of the node pool of the same name, else the pool\'s setting, else the default', () => {
  const learned = [{ pool: 'a100', p50Seconds: 200, p90Seconds: 420, samples: 3, resources: ['nvidia.com/gpu'] }];
  assert.deepEqual(leadOf(POOL, learned, 300), { seconds: 420, source: 'learned' });
  assert.deepEqual(leadOf({ ...POOL, nodeLeadTimeSeconds: 600 }, [], 300), { seconds: 600, source: 'configured' });
  assert.deepEqual(leadOf(POOL, [], 300), { seconds: 300, source: 'default' });
});

test('the GPU budget counts GPUs that placeholders hold as the scalers\' to take (real pods preempt them)', () => {
  const ph = placeholderPod(POOL, CFG, 0);
  const bound = { ...ph, spec: { ...ph.spec, nodeName: 'a' }, status: { phase: 'Running' } } as V1Pod;
  const plan: ScalerPlan = { key: 'ml/llm', decision: 'scale_up', reason: 'Forecast', message: 'm', currentReplicas: 1, desiredReplicas: 8, patch: { replicas: 8, resourceVersion: '1' }, conditions: [] };
  const { plans, reports } = applyGpuBudget([{ plan, namespace: 'ml', selector: 'app=llm', minReplicas: 1, gpu: { resource: 'nvidia.com/gpu', perReplica: 1, priority: 0, weight: 1 } }], { nodes: [node('a', 8)], pods: [bound, bound, bound] });
  assert.equal(reports[0]?.heldByOthers, 0);
  assert.equal(plans.get('ml/llm'), undefined, 'not cut: the placeholders\' 6 GPUs are the scaler\'s');
});
