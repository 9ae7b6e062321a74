// A leader that stops between its scale write and its status write leaves appliedReplicas
// behind the target. The next leader must see from the field manager that the write was
// SurgeGuard's own and carry on, recording it; another writer's count stays a conflict.
// (Pure logic with stand-ins; test/integration/controller/failover.test.ts runs real replicas.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSpec, type PredictiveScaler, type PredictiveScalerStatus } from '../../../controller/crd/predictive-scaler.ts';
import type { ScaleClient } from '../../../controller/kube/scale-target.ts';
import { standInLoop } from '../../helpers/scaling-loop.ts';

function setup(manager: string): { tick: () => Promise<unknown>; replicas: () => number; statuses: PredictiveScalerStatus[]; scaler: PredictiveScaler } {
  const scaler: PredictiveScaler = {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name: 'rank', namespace: 'ml', generation: 1 },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'rank' }, signal: { prometheus: { query: 'x' } }, requestsPerSecondPerReplica: 10, maxReplicas: 50, startupSeconds: 30 }),
    // The earlier leader recorded 4, then wrote 9 to the target and stopped before recording it.
    status: { observedGeneration: 1, appliedReplicas: 4 },
  };
  let replicas = 9;
  let writer = manager;
  const scale: ScaleClient = {
    read: async () => ({ replicas, currentReplicas: replicas, selector: 'app=rank', resourceVersion: '1' }),
    writerOf: async () => ({ manager: writer }),
    setReplicas: async (_ref, n) => ((replicas = n), (writer = 'surgeguard-controller'), { replicas: n, currentReplicas: n, selector: '', resourceVersion: '2' }),
  };
  const statuses: PredictiveScalerStatus[] = [];
  const loop = standInLoop({
    scalers: () => [scaler],
    signal: { read: async (reqs) => new Map(reqs.map((r) => [r.key, { ok: true as const, rate: 90, detail: {} }])), close: async () => undefined },
    scale,
    writer: {
      patchScalerStatus: async (_ns, _name, status) => {
        statuses.push(status);
        scaler.status = { ...scaler.status, ...status };
      },
      event: async () => undefined,
    },
  });
  return { tick: () => loop.tick(), replicas: () => replicas, statuses, scaler };
}

test('a target last set by SurgeGuard whose status missed the write: no conflict, and the count is recorded as applied', async () => {
  const s = setup('surgeguard-controller');
  for (let i = 0; i < 3; i++) await s.tick();
  const first = s.statuses[0];
  assert.equal(first?.conditions?.find((c) => c.type === 'Conflict')?.status, 'False');
  assert.notEqual(first?.lastDecision?.decision, 'conflict');
  // Whether it held (recording 9) or scaled on (recording its patch), status and target agree.
  assert.equal(s.scaler.status?.appliedReplicas, s.replicas());
  assert.ok(s.statuses.every((st) => st.lastDecision?.decision !== 'conflict'));
});

test('a target last set by another manager stays a conflict and is not adopted', async () => {
  const s = setup('kubectl-scale');
  for (let i = 0; i < 3; i++) await s.tick();
  assert.equal(s.statuses[0]?.lastDecision?.reason, 'ReplicasChangedByOther');
  assert.equal(s.scaler.status?.appliedReplicas, 4);
  assert.equal(s.replicas(), 9);
});
