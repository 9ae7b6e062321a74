// The GPU budget in the scaling tick (in-memory stand-ins for the cluster and the signal: pure
// logic; the real API server is covered by test/integration/controller/gpu-budget.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { resolveSpec, type PredictiveScaler } from '../../../controller/crd/predictive-scaler.ts';
import { memoryScale, standInLoop } from '../../helpers/scaling-loop.ts';

function scaler(name: string, priority: number): PredictiveScaler {
  return {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name, namespace: 'ml', generation: 1 },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, signal: { prometheus: { query: name } }, requestsPerSecondPerReplica: 10, maxReplicas: 50, startupSeconds: 30, gpu: { perReplica: 2, priority } }),
  };
}

test('two scalers asking for more GPUs than the cluster has: the higher priority grows, the other is cut and says so', async () => {
  const replicas = new Map<string, number>([['rank', 1], ['batch', 1]]);
  // One node of 8 GPUs; a job of someone else's holds 2.
  const nodes: V1Node[] = [{ metadata: { name: 'n1' }, spec: {}, status: { allocatable: { 'nvidia.com/gpu': '8' } } }];
  const pods: V1Pod[] = [{ metadata: { name: 'job', namespace: 'jobs', labels: { app: 'job' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': '2' } } }] }, status: { phase: 'Running' } }];
  let cluster: { nodes: V1Node[]; pods: V1Pod[] } | undefined = { nodes, pods };
  const loop = standInLoop({
    scalers: () => [scaler('rank', 10), scaler('batch', 0)],
    // 40/s each: 4 replicas of 10/s, 8 GPUs each at 2 per replica; 6 GPUs are free for both.
    signal: { read: async (reqs) => new Map(reqs.map((r) => [r.key, { ok: true as const, rate: 40, detail: {} }])), close: async () => undefined },
    scale: memoryScale(replicas),
    gpuCluster: () => cluster,
  });
  const metrics = loop.metrics;
  let last;
  for (let i = 0; i < 3; i++) last = await loop.tick();
  // Floors 1 + 1 (4 GPUs), 2 free: rank (priority 10) takes them: 2 replicas; batch stays at 1.
  assert.deepEqual([replicas.get('rank'), replicas.get('batch')], [2, 1]);
  const batch = last?.plans.find((p) => p.key === 'ml/batch');
  assert.equal(batch?.reason, 'GpuBudget');
  assert.match(batch?.message ?? '', /asked [45] replicas and was granted 1\)$/);
  const body = (await metrics.render()).body;
  assert.match(body, /surgeguard_gpu_budget_cut_replicas\{namespace="ml",scaler="batch"\} [34]/);
  assert.match(body, /surgeguard_gpu_budget_gpus\{resource="nvidia.com\/gpu",kind="held_by_others"\} 2/);

  // Without the caches there is no budget: the scalers grow as their own rules say.
  cluster = undefined;
  await loop.tick();
  assert.equal(replicas.get('rank'), replicas.get('batch'));
  assert.ok((replicas.get('batch') ?? 0) >= 4);
});

test('a cut names the lead time of the node pools that serve its resource, once one is learned', async () => {
  const replicas = new Map<string, number>([['rank', 1], ['batch', 1]]);
  // The node was made for the job's pod: created 60 s after it and Ready 240 s after it.
  const t = (s: number): Date => new Date(Date.parse('2026-12-06T10:00:00Z') + s * 1000);
  const nodes: V1Node[] = [{ metadata: { name: 'n1', creationTimestamp: t(60), labels: { 'karpenter.sh/nodepool': 'h100' } }, spec: {}, status: { allocatable: { 'nvidia.com/gpu': '8' }, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t(240) }] } }];
  const pods: V1Pod[] = [{ metadata: { name: 'job', namespace: 'jobs', creationTimestamp: t(0) }, spec: { nodeName: 'n1', containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': '2' } } }] }, status: { phase: 'Running' } }];
  const loop = standInLoop({
    scalers: () => [scaler('rank', 10), scaler('batch', 0)],
    signal: { read: async (reqs) => new Map(reqs.map((r) => [r.key, { ok: true as const, rate: 40, detail: {} }])), close: async () => undefined },
    scale: memoryScale(replicas),
    gpuCluster: () => ({ nodes, pods }),
  });
  let last;
  for (let i = 0; i < 3; i++) last = await loop.tick();
  const batch = last?.plans.find((p) => p.key === 'ml/batch');
  assert.match(batch?.message ?? '', /was granted 1; new nodes take 240 s \(p90 240 s\) in pool h100 from a Pending GPU pod to Ready\)$/);
  assert.match((await loop.metrics.render()).body, /surgeguard_node_lead_time_seconds\{pool="h100",quantile="0.9"\} 240/);
});
