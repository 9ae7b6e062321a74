// Unchanged statuses are refreshed rarely and spread over ticks: at 1,000 steady scalers a refresh
// once a minute rewrote every status every fourth tick, and every tick once a tick took longer
// than a minute (bench/scale.ts, docs/scale.md). A value an HPA reads is still refreshed each minute.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSpec, type PredictiveScaler, type PredictiveScalerStatus } from '../../../controller/crd/predictive-scaler.ts';
import type { ClusterWriter } from '../../../controller/kube/cluster.ts';
import { spreadOf } from '../../../controller/reconcile/tick.ts';
import type { SignalSource } from '../../../controller/signals/signal.ts';
import { memoryScale, standInLoop } from '../../helpers/scaling-loop.ts';

function scalers(n: number, actuator: 'Direct' | 'Hpa' = 'Direct'): PredictiveScaler[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name: `s${i}`, namespace: 'ns', generation: 1 },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `d${i}` }, signal: { prometheus: { query: `q${i}` } }, requestsPerSecondPerReplica: 10, maxReplicas: 50, startupSeconds: 30, actuator }),
  }));
}

/** Steady demand the replicas serve; counts status writes per tick (each tick is 15 s). */
function harness(list: PredictiveScaler[]) {
  let writes = 0;
  const writer: ClusterWriter = {
    patchScalerStatus: async (_ns, name, status: PredictiveScalerStatus) => {
      writes++;
      const s = list.find((x) => x.metadata.name === name);
      if (s) s.status = status;
    },
    event: async () => undefined,
  };
  const signal: SignalSource = { read: async (reqs) => new Map(reqs.map((r) => [r.key, { ok: true as const, rate: 20, detail: {} }])), close: async () => undefined };
  const loop = standInLoop({ scalers: () => list, signal, scale: memoryScale(new Map(list.map((s) => [s.spec.targetRef.name, 3]))), writer });
  return {
    async tick(): Promise<number> {
      const before = writes;
      await loop.tick();
      return writes - before;
    },
  };
}

test('400 steady scalers: after the first writes, no tick rewrites more than a fifth of the statuses (every one of them every fourth tick before), and each is refreshed within 15 minutes', async () => {
  const list = scalers(400);
  const h = harness(list);
  // The first ticks write every status and settle the decisions.
  for (let i = 0; i < 4; i++) await h.tick();
  const perTick: number[] = [];
  // 15 minutes of ticks.
  for (let i = 0; i < 60; i++) perTick.push(await h.tick());
  assert.ok(Math.max(...perTick) <= 80, `a tick rewrote ${Math.max(...perTick)} statuses: ${perTick.join(',')}`);
  const total = perTick.reduce((a, b) => a + b, 0);
  // Every status at least once in 15 minutes (refresh within 5 to 15 minutes), and not every minute.
  assert.ok(total >= 400 && total <= 1200, `${total} status writes over 15 minutes`);
  assert.ok(list.every((s) => Date.parse(s.status?.lastDecision?.time ?? '') > 0));
});

test('a scaler whose value an HPA reads from the status is refreshed every minute', async () => {
  const list = scalers(4, 'Hpa');
  const h = harness(list);
  for (let i = 0; i < 4; i++) await h.tick();
  const perTick: number[] = [];
  for (let i = 0; i < 8; i++) perTick.push(await h.tick());
  // 8 ticks of 15 s = 2 minutes: each of the 4 at least twice.
  assert.ok(perTick.reduce((a, b) => a + b, 0) >= 8, perTick.join(','));
});

test('the spread is fixed per key and covers [0, 1)', () => {
  assert.equal(spreadOf('ns/a'), spreadOf('ns/a'));
  const xs = Array.from({ length: 1000 }, (_, i) => spreadOf(`ns${i % 50}/s${i}`));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  // Roughly uniform: each tenth of the range holds 5% to 15% of the keys.
  for (let d = 0; d < 10; d++) {
    const n = xs.filter((x) => x >= d / 10 && x < (d + 1) / 10).length;
    assert.ok(n >= 50 && n <= 150, `decile ${d}: ${n}`);
  }
});
