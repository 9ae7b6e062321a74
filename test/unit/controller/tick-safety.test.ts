// Issue 15, item 4: when the pause ConfigMap or the HPA list cannot be read, the scaling tick
// must hold every target, mark it Degraded, log and count why: never fail open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { resolveSpec, type PredictiveScaler, type PredictiveScalerStatus } from '../../../controller/crd/predictive-scaler.ts';
import type { ClusterReader, ClusterWriter } from '../../../controller/kube/cluster.ts';
import type { ScaleClient } from '../../../controller/kube/scale-target.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { createScalingLoop } from '../../../controller/reconcile/tick.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';

const scaler: PredictiveScaler = {
  apiVersion: 'surgeguard.io/v1alpha1',
  kind: 'PredictiveScaler',
  metadata: { name: 'busy', namespace: 'ns', generation: 1 },
  spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'busy' }, signal: { prometheus: { query: 'q' } }, requestsPerSecondPerReplica: 10, maxReplicas: 50, startupSeconds: 30 }),
};

function harness(fail: { pause?: boolean; hpa?: boolean }, pauseFlag = false) {
  const writes: string[] = [];
  const statuses: PredictiveScalerStatus[] = [];
  const logs: Array<Record<string, unknown>> = [];
  let replicas = 1;
  const scale: ScaleClient = {
    read: async () => ({ replicas, currentReplicas: replicas, selector: 'app=busy', resourceVersion: '1' }),
    writerOf: async () => undefined,
    setReplicas: async (_ref, n) => {
      writes.push(`scale ${n}`);
      replicas = n;
      return { replicas: n, currentReplicas: n, selector: '', resourceVersion: '2' };
    },
  };
  const reader: ClusterReader = {
    hpaTargets: async () => {
      if (fail.hpa) throw Object.assign(new Error('horizontalpodautoscalers is forbidden: User cannot list'), { code: 403 });
      return new Map();
    },
    paused: async () => {
      if (fail.pause) throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
      return false;
    },
    podStats: async () => ({ unschedulable: 0, ready: 1 }),
  };
  const writer: ClusterWriter = {
    patchScalerStatus: async (_ns, _name, st) => void statuses.push(st),
    event: async (_o, type, reason) => void writes.push(`event ${type} ${reason}`),
  };
  const metrics = createMetricRegistry();
  let clock = 1_000_000;
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });
  const loop = createScalingLoop(
    {
      scalers: () => [{ ...scaler, ...(statuses.length ? { status: statuses[statuses.length - 1] } : {}) }],
      signals: [{ read: async (reqs) => new Map(reqs.map((r) => [r.key, { ok: true as const, rate: 200, detail: {} }])), close: async () => undefined }],
      forecaster: createHoltWintersForecaster(),
      scale,
      reader,
      writer,
      isLeader: () => true,
      now: () => clock,
      logger,
      metrics,
      decisions: createDecisionLog(100),
    },
    { intervalSeconds: 15, historyIntervals: 100, pauseFlag, pauseConfigMap: { namespace: 'surgeguard', name: 'surgeguard-controller' }, podStatsEveryTicks: 4, forecasting: true, forecastTimeScale: 1 },
  );
  return {
    writes,
    statuses,
    logs,
    metrics,
    fail,
    async tick() {
      clock += 15_000;
      return loop.tick();
    },
  };
}

for (const [what, fail, reason, read] of [
  ['the pause ConfigMap cannot be read', { pause: true }, 'PauseUnknown', 'pause'],
  ['the HPA list cannot be read', { hpa: true }, 'HpaCheckFailed', 'hpa'],
] as const) {
  test(`${what}: every target is held, Degraded=${reason}, logged and counted; scaling resumes when it reads again`, async () => {
    const h = harness({ ...fail });
    const r = await h.tick();
    assert.equal(r.patched, 0, 'a target was scaled although the safety read failed');
    assert.deepEqual(h.writes.filter((w) => w.startsWith('scale')), []);
    const p = r.plans[0];
    assert.equal(p?.decision, 'degraded');
    assert.equal(p?.reason, reason);
    assert.equal(p?.desiredReplicas, 1, 'held at the current replicas');
    const degraded = h.statuses.at(-1)?.conditions?.find((c) => c.type === 'Degraded');
    assert.equal(degraded?.status, 'True');
    assert.equal(degraded?.reason, reason);
    assert.ok(h.writes.includes(`event Warning ${reason}`), `no Warning event: ${h.writes.join(', ')}`);
    const text = (await h.metrics.render(false)).body;
    assert.match(text, new RegExp(`surgeguard_controller_safety_read_errors_total\\{read="${read}"\\} 1`));
    assert.match(text, new RegExp(`surgeguard_controller_decisions_total\\{decision="degraded",reason="${reason}"\\} 1`));
    assert.ok(h.logs.some((l) => l.read === read && l.reason === reason && l.level === 'warn'), `no warning logged: ${JSON.stringify(h.logs)}`);

    h.fail.pause = false;
    h.fail.hpa = false;
    const again = await h.tick();
    assert.equal(again.patched, 1, 'scaling did not resume once the read worked');
    assert.equal(h.statuses.at(-1)?.conditions?.find((c) => c.type === 'Degraded')?.status, 'False');
  });
}

test('a known Conflict is kept while the HPA check cannot say', async () => {
  const h = harness({});
  h.statuses.push({ conditions: [{ type: 'Conflict', status: 'True', reason: 'HpaPresent', message: 'HorizontalPodAutoscaler busy also scales Deployment/busy', lastTransitionTime: '2026-01-01T00:00:00Z' }] });
  h.fail.hpa = true;
  const r = await h.tick();
  const conflict = r.plans[0]?.conditions.find((c) => c.type === 'Conflict');
  assert.equal(conflict?.status, 'True');
  assert.equal(conflict?.reason, 'HpaPresent');
});

test('with the pause flag set, the ConfigMap is not needed: paused, not degraded', async () => {
  const h = harness({ pause: true }, true);
  const r = await h.tick();
  assert.equal(r.plans[0]?.decision, 'paused');
  assert.equal(r.patched, 0);
  assert.doesNotMatch((await h.metrics.render(false)).body, /surgeguard_controller_safety_read_errors_total\{/);
});
