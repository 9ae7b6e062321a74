// The GPU budget in the scaling tick (in-memory stand-ins for the cluster and the signal: pure
// logic; the real API server is covered by test/integration/controller/gpu-budget.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { resolveSpec, type PredictiveScaler } from '../../../controller/crd/predictive-scaler.ts';
import type { ClusterReader, ClusterWriter } from '../../../controller/kube/cluster.ts';
import type { ScaleClient } from '../../../controller/kube/scale-target.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { createScalingLoop } from '../../../controller/reconcile/tick.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';

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
  const scale: ScaleClient = {
    read: async (ref) => ({ replicas: replicas.get(ref.name) ?? 1, currentReplicas: replicas.get(ref.name) ?? 1, selector: `app=${ref.name}`, resourceVersion: '1' }),
    writerOf: async () => undefined,
    setReplicas: async (ref, n) => (replicas.set(ref.name, n), { replicas: n, currentReplicas: n, selector: '', resourceVersion: '2' }),
  };
  const reader: ClusterReader = { hpaTargets: async () => new Map(), paused: async () => false, podStats: async () => ({ unschedulable: 0, ready: 1 }) };
  const writer: ClusterWriter = { patchScalerStatus: async () => undefined, event: async () => undefined };
  // One node of 8 GPUs; a job of someone else's holds 2.
  const nodes: V1Node[] = [{ metadata: { name: 'n1' }, spec: {}, status: { allocatable: { 'nvidia.com/gpu': '8' } } }];
  const pods: V1Pod[] = [{ metadata: { name: 'job', namespace: 'jobs', labels: { app: 'job' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': '2' } } }] }, status: { phase: 'Running' } }];
  const metrics = createMetricRegistry();
  let clock = 1_000_000;
  let cluster: { nodes: V1Node[]; pods: V1Pod[] } | undefined = { nodes, pods };
  const loop = createScalingLoop(
    {
      scalers: () => [scaler('rank', 10), scaler('batch', 0)],
      // 40/s each: 4 replicas of 10/s, 8 GPUs each at 2 per replica; 6 GPUs are free for both.
      signals: [{ read: async (reqs) => new Map(reqs.map((r) => [r.key, { ok: true as const, rate: 40, detail: {} }])), close: async () => undefined }],
      forecaster: createHoltWintersForecaster(),
      scale,
      reader,
      writer,
      isLeader: () => true,
      now: () => clock,
      logger: silentLogger(),
      metrics,
      decisions: createDecisionLog(100),
      gpuCluster: () => cluster,
    },
    { intervalSeconds: 15, historyIntervals: 100, pauseFlag: false, pauseConfigMap: { namespace: 'x', name: 'y' }, podStatsEveryTicks: 4, forecasting: true, forecastTimeScale: 1 },
  );
  let last;
  for (let i = 0; i < 3; i++) {
    clock += 15_000;
    last = await loop.tick();
  }
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
  clock += 15_000;
  await loop.tick();
  assert.equal(replicas.get('rank'), replicas.get('batch'));
  assert.ok((replicas.get('batch') ?? 0) >= 4);
});
