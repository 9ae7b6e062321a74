// Controller tick benchmark (`npm run bench:controller`): one scaling tick for 1,000 scalers,
// reported in parts (reading signals, reading targets, forecasting batched, deciding, acting).
// Compute (forecast + decide) runs the real code: the shipped ONNX model through the same
// loader the controller uses, and the same decide. Signals, targets and writes are in-memory
// stand-ins that count requests, so the I/O parts show the work the tick asks of the cluster,
// not a network. The peer, measured in the same run, is the same tick forecasting each scaler
// in its own call instead of one batch.
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../common/logger.ts';
import { createMetricRegistry } from '../common/metrics.ts';
import type { PredictiveScaler } from '../controller/crd/predictive-scaler.ts';
import { resolveSpec } from '../controller/crd/predictive-scaler.ts';
import type { ClusterReader, ClusterWriter } from '../controller/kube/cluster.ts';
import type { ScaleClient, ScaleState } from '../controller/kube/scale-target.ts';
import { createDecisionLog } from '../controller/reconcile/decision-log.ts';
import { createScalingLoop, type TickReport } from '../controller/reconcile/tick.ts';
import type { SignalSource } from '../controller/signals/signal.ts';
import type { Forecaster } from '../inference/forecaster.ts';
import { defaultModelPath, loadForecaster } from '../inference/load.ts';

const N = 1000;
const INTERVAL = 15;
const TICKS = 5;
const trace = readFileSync(fileURLToPath(new URL('../test/fixtures/traces/nyc_taxi_9364-9476.csv', import.meta.url)), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => Number(l.split(',')[1]) / 300);

function scalers(): PredictiveScaler[] {
  return Array.from({ length: N }, (_, i) => ({
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name: `s${i}`, namespace: `ns${i % 50}`, generation: 1, uid: `u${i}` },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `d${i}` }, signal: { prometheus: { query: `q${i}` } }, requestsPerSecondPerReplica: 5, maxReplicas: 200 }),
  }));
}

/** Counts requests of each kind the tick would send to the cluster. */
function fakes(tickRef: { n: number }, list: PredictiveScaler[]) {
  const byKey = new Map(list.map((x) => [`${x.metadata.namespace}/${x.metadata.name}`, x]));
  const requests = { scaleReads: 0, scalePatches: 0, statusPatches: 0, events: 0, podLists: 0, hpaLists: 0 };
  const replicas = new Map<string, number>();
  const scale: ScaleClient = {
    async read(ref) {
      requests.scaleReads++;
      const r = replicas.get(`${ref.namespace}/${ref.name}`) ?? 1;
      return { replicas: r, currentReplicas: r, selector: `app=${ref.name}`, resourceVersion: '1' } satisfies ScaleState;
    },
    async writerOf() {
      return undefined;
    },
    async setReplicas(ref, n) {
      requests.scalePatches++;
      replicas.set(`${ref.namespace}/${ref.name}`, n);
      return { replicas: n, currentReplicas: n, selector: '', resourceVersion: '2' };
    },
  };
  const reader: ClusterReader = {
    hpaTargets: async () => (requests.hpaLists++, new Map()),
    paused: async () => false,
    podStats: async () => (requests.podLists++, { startupP90Seconds: 60, unschedulable: 0, ready: 1 }),
  };
  const writer: ClusterWriter = {
    // As the informer would: the next tick sees the status just written.
    patchScalerStatus: async (ns, name, status) => {
      requests.statusPatches++;
      const x = byKey.get(`${ns}/${name}`);
      if (x) x.status = { ...x.status, ...status };
    },
    event: async () => void requests.events++,
  };
  const signals: SignalSource = {
    async read(reqs) {
      return new Map(reqs.map((r, i) => [r.key, { ok: true as const, rate: (trace[(tickRef.n + i) % trace.length] ?? 1) * (1 + (i % 7) / 7), detail: {} }]));
    },
    close: async () => undefined,
  };
  return { requests, scale, reader, writer, signals };
}

/** The same forecaster called once per series: the peer that batching is measured against. */
function unbatched(f: Forecaster): Forecaster {
  return {
    ...f,
    name: `${f.name} (one call per series)`,
    async forecast(req) {
      const out = { forecasts: [] as Awaited<ReturnType<Forecaster['forecast']>>['forecasts'], sources: [] as string[] };
      for (const h of req.histories) {
        const b = await f.forecast({ ...req, histories: [h] });
        out.forecasts.push(...b.forecasts);
        out.sources.push(...b.sources);
      }
      return out;
    },
  };
}

async function measure(forecaster: Forecaster): Promise<{ reports: TickReport[]; requests: ReturnType<typeof fakes>['requests'] }> {
  const tickRef = { n: 0 };
  const list = scalers();
  const f = fakes(tickRef, list);
  let clock = Date.parse('2026-11-29T00:00:00Z');
  const loop = createScalingLoop(
    {
      scalers: () => list,
      signals: [f.signals],
      forecaster,
      scale: f.scale,
      reader: f.reader,
      writer: f.writer,
      isLeader: () => true,
      now: () => clock,
      logger: silentLogger(),
      metrics: createMetricRegistry(),
      decisions: createDecisionLog(10_000),
      // 200 intervals of history each, as a backfill from Prometheus would give.
      backfill: async (s) => Array.from({ length: 200 }, (_, j) => trace[(j + Number(s.metadata.name.slice(1))) % trace.length] ?? 1),
    },
    { intervalSeconds: INTERVAL, historyIntervals: 2880, pauseFlag: false, pauseConfigMap: { namespace: 'x', name: 'y' }, podStatsEveryTicks: 4, forecasting: true, forecastTimeScale: 1 },
  );
  const reports: TickReport[] = [];
  for (let i = 0; i < TICKS + 1; i++) {
    tickRef.n = i;
    clock += INTERVAL * 1000;
    const r = await loop.tick();
    if (i > 0) reports.push(r); // the first tick includes the backfill
  }
  return { reports, requests: f.requests };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;

export async function run(): Promise<void> {
  const logger = silentLogger();
  const forecaster = await loadForecaster({ logger, metrics: createMetricRegistry(), readFile: async (p) => new Uint8Array(await readFile(p)) }, { modelPath: defaultModelPath(), providers: ['cpu'], minHistorySteps: 8 });
  console.log(`\n## Controller tick, ${N} scalers, ${INTERVAL} s interval (forecaster: ${forecaster.name} on ${forecaster.runsOn}), median of ${TICKS} ticks\n`);
  const batched = await measure(forecaster);
  const single = await measure(unbatched(forecaster));
  const row = (name: string, m: typeof batched): string => {
    const p = (k: keyof TickReport['phases']): number => median(m.reports.map((r) => r.phases[k]));
    const compute = p('forecast') + p('decide');
    return `| ${name} | ${ms(p('signals'))} | ${ms(p('targets'))} | ${ms(p('forecast'))} | ${ms(p('decide'))} | ${ms(p('act'))} | **${ms(compute)}** |`;
  };
  console.log('| forecasting | signals | targets | forecast | decide | act | compute (forecast + decide) |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(row('batched (shipped)', batched));
  console.log(row('one call per scaler (peer)', single));
  const fb = median(batched.reports.map((r) => r.phases.forecast));
  const fs = median(single.reports.map((r) => r.phases.forecast));
  const patched = batched.reports.map((r) => r.patched);
  console.log(`\nbatched forecasting is ${(fs / fb).toFixed(1)}x faster than one call per scaler`);
  console.log(`compute goal (< 1 s on 2 cores): ${median(batched.reports.map((r) => r.phases.forecast + r.phases.decide)) < 1 ? 'met' : 'NOT met'}`);
  console.log(`per tick: ${N} scale reads; patches only for changed targets: ${patched.join(', ')} of ${N}; requests over ${TICKS + 1} ticks: ${JSON.stringify(batched.requests)}`);
  await forecaster.close();
}

if (import.meta.main) await run();
