// A scaler's first status write: Events only for conditions away from their healthy value. At
// 1,000 new scalers the tick otherwise wrote five Normal Events each (Ready=True, Active=True,
// Degraded=False, Unschedulable=False, Conflict=False): 5,000 creates in one tick (bench/scale.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSpec, type PredictiveScaler, type PredictiveScalerStatus } from '../../../controller/crd/predictive-scaler.ts';
import type { ClusterWriter } from '../../../controller/kube/cluster.ts';
import type { SignalSource } from '../../../controller/signals/signal.ts';
import { memoryScale, standInLoop } from '../../helpers/scaling-loop.ts';

function scalers(n: number, mode: 'Active' | 'DryRun' = 'Active'): PredictiveScaler[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name: `s${i}`, namespace: 'ns', generation: 1 },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `d${i}` }, signal: { prometheus: { query: `q${i}` } }, requestsPerSecondPerReplica: 10, maxReplicas: 50, startupSeconds: 30, mode }),
  }));
}

/** Steady demand that the replicas already serve, and a writer that keeps statuses like the API server. */
function harness(list: PredictiveScaler[], signalOk = true) {
  const events: string[] = [];
  let ok = signalOk;
  const writer: ClusterWriter = {
    patchScalerStatus: async (_ns, name, status: PredictiveScalerStatus) => {
      const s = list.find((x) => x.metadata.name === name);
      if (s) s.status = status;
    },
    event: async (o, type, reason) => void events.push(`${o.name} ${type} ${reason}`),
  };
  const signal: SignalSource = { read: async (reqs) => new Map(reqs.map((r) => [r.key, ok ? { ok: true as const, rate: 20, detail: {} } : { ok: false as const, error: 'no data' }])), close: async () => undefined };
  const replicas = new Map(list.map((s) => [s.spec.targetRef.name, 3]));
  return { events, setOk: (v: boolean) => void (ok = v), loop: standInLoop({ scalers: () => list, signal, scale: memoryScale(replicas), writer }) };
}

test('1,000 new healthy scalers: the first status write tells no condition, so no Event', async () => {
  const list = scalers(1000);
  const h = harness(list);
  await h.loop.tick();
  assert.ok(list.every((s) => (s.status?.conditions ?? []).length >= 4), 'every status was written with its conditions');
  assert.deepEqual(h.events.filter((e) => !/ Scaled(Up|Down)$/.test(e)), []);
});

test('a new scaler whose condition starts away from healthy is told; a later change is told as before', async () => {
  const list = scalers(2);
  const h = harness(list, false);
  await h.loop.tick();
  // Degraded=True from the first write: a Warning for each.
  assert.deepEqual(h.events.sort(), ['s0 Warning SignalMissing', 's1 Warning SignalMissing']);
  // The signal comes back: Degraded goes True -> False, told as a change.
  h.events.length = 0;
  h.setOk(true);
  await h.loop.tick();
  assert.deepEqual(h.events.filter((e) => e.includes('Normal')).length, 2, h.events.join(', '));
  const dry = scalers(1, 'DryRun');
  const d = harness(dry);
  await d.loop.tick();
  // Active=False (DryRun) is not the healthy value: told on the first write.
  assert.ok(d.events.some((e) => e.startsWith('s0 Normal')), d.events.join(', '));
});
