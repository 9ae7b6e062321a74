// The queue-depth guard against real LLM servers, with and without it (`npm run bench:llm-live`,
// issue 16; not in CI: two replays with their drains take minutes on the shared 2-core machine).
//
// Real: M llama-server processes (llama.cpp, CPU, a tiny random-weight model written on the spot;
// test/helpers/infra/llm-server.ts), their own /metrics scraped by the real Prometheus every second,
// kube-apiserver + etcd + kube-controller-manager + kube-scheduler + kwok, and the real controller.
// Stand-ins: the scaled Deployment's pods are kwok pods, so a router (test/helpers/infra/llm-router.ts)
// plays the Service's endpoints: it sends requests only to the first R servers, R = the
// Deployment's ready replicas read from the API server every 250 ms. A replica the controller adds
// becomes serving capacity once kwok marks its pod Ready (2 s), as an endpoint would.
//
// Steps: (1) calibration: closed loop through the router with R = 1..M servers active (the same
// request mix), so the run shows that throughput grows with servers on this machine and measures one
// server's requests per second; (2) the load: one minute of the Azure LLM code trace (18:20-18:21,
// arrivals, prompt tokens / 8, generated tokens), sped up so that its mean arrival rate is --load
// times one server's measured throughput; (3) the same replay, open loop, twice against the real
// controller: `guard` (request-rate demand signal + the llamacpp-deferred guard, target 2 per
// replica) and `off` (the same scaler without the guard). Both run reactively (forecasting: false:
// a minute of history gives a forecaster nothing to learn). The demand signal is the router's arrival
// rate, sum(rate(llmrouter_requests_total[5s])), with one server's measured throughput as the capacity
// per replica: a request-rate scaler sized on the truth, the peer the guard must beat.
// Sampled every 250 ms by this process: every server's llamacpp:requests_deferred and
// llamacpp:requests_processing (summed), the Deployment's desired and ready replicas.
//
//   npm run bench:llm-live [-- --servers 2 --slots 1 --load 1.5 --calibrate-seconds 10 --order guard,off,off,guard --no-write]
// Two servers by default: on the shared 2-core machine a third single-thread server added no
// throughput (2026-12-06: 15.4, 25.3 and 22.6 req/s with 1, 2 and 3), so it would add no capacity.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type PredictiveScaler } from '../controller/crd/predictive-scaler.ts';
import { installCrd, startTestController } from '../test/helpers/controller.ts';
import { READY_DELAY_ANNOTATION, addFakeNodes, ensureNamespace, kubeConfigFrom, startKube } from '../test/helpers/infra/kube.ts';
import { complete, startLlmServer, type LlmServer } from '../test/helpers/infra/llm-server.ts';
import { startLlmRouter, type LlmRouter } from '../test/helpers/infra/llm-router.ts';
import { REPO_ROOT, runCleanups, waitUntil } from '../test/helpers/infra/process.ts';
import { addScrapeTarget, startPrometheus } from '../test/helpers/infra/prometheus.ts';
import { runContext } from '../test/helpers/infra/run.ts';
import { writeResultsSection } from './results-section.ts';

const { values: opt } = parseArgs({
  options: {
    servers: { type: 'string', default: '2' },
    slots: { type: 'string', default: '1' },
    load: { type: 'string', default: '1.5' },
    'calibrate-seconds': { type: 'string', default: '10' },
    order: { type: 'string', default: 'guard,off,off,guard' },
    'no-write': { type: 'boolean', default: false },
  },
});
const M = Number(opt.servers);
const SLOTS = Number(opt.slots);
const LOAD = Number(opt.load);
const CAL_SECONDS = Number(opt['calibrate-seconds']);
const ORDER = (opt.order ?? '').split(',').filter((m): m is Mode => m === 'guard' || m === 'off');
if (!(M >= 2 && SLOTS >= 1 && LOAD > 0 && CAL_SECONDS > 0 && ORDER.length > 0)) throw new Error(`BENCH_LLM_LIVE_ARGS: --servers >= 2, --slots >= 1, --load > 0, --calibrate-seconds > 0, --order of guard/off; got ${JSON.stringify(opt)}`);
const POOL = 'llm-live';
const GUARD_TARGET = 2;
const PROMPT_DIVISOR = 8;
const SAMPLE_MS = 250;

type Mode = 'guard' | 'off';
interface Req { at: number; prompt: number; generate: number }

/** 18:20:00 to 18:21:00 of the trace at 1x (ms from the start): 531 requests, a quiet start, then a burst. */
function traceSlice(): Req[] {
  const rows = readFileSync(join(REPO_ROOT, 'test/fixtures/traces/AzureLLMInferenceTrace_code_head1500.csv'), 'utf8').trim().split('\n').slice(1);
  const toMs = (ts: string): number => Date.parse(`${ts.slice(0, 23).replace(' ', 'T')}Z`);
  const from = toMs('2023-11-16 18:20:00.000');
  const to = toMs('2023-11-16 18:21:00.000');
  const out: Req[] = [];
  for (const line of rows) {
    const [ts = '', ctx = '', gen = ''] = line.split(',');
    const t = toMs(ts);
    if (t >= from && t < to) out.push({ at: t - from, prompt: Math.min(1500, Math.ceil(Number(ctx) / PROMPT_DIVISOR)), generate: Math.min(400, Number(gen)) });
  }
  return out;
}

/** The Deployment the router follows: its desired and ready replicas, read every 250 ms. */
interface Follow { ns: string; desired: number; ready: number }

async function followDeployment(kc: KubeConfig, f: Follow, stop: AbortSignal): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  while (!stop.aborted) {
    if (f.ns === '') {
      await sleep(SAMPLE_MS);
      continue;
    }
    try {
      const d = await apps.readNamespacedDeployment({ namespace: f.ns, name: 'llm' });
      f.desired = d.spec?.replicas ?? 0;
      f.ready = d.status?.readyReplicas ?? 0;
    } catch (err) {
      // A failed read keeps the last endpoints, as kube-proxy keeps its rules when the API server is away.
      console.error(`bench/llm-live: reading deployment ${f.ns}/llm failed, keeping ${f.ready} ready: ${String(err)}`);
    }
    await sleep(SAMPLE_MS);
  }
}

/** Requests completed per second through the router with `active` servers, closed loop over the mix. */
async function throughput(router: LlmRouter, setActive: (n: number) => void, active: number, reqs: readonly Req[]): Promise<number> {
  setActive(active);
  const deadline = Date.now() + CAL_SECONDS * 1000;
  let done = 0;
  let next = 0;
  // Twice the slots in flight per server keeps every slot busy and a request waiting behind it.
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const r = reqs[next++ % reqs.length] as Req;
      await complete(router, r.prompt, r.generate);
      if (Date.now() <= deadline) done++;
    }
  };
  await Promise.all(Array.from({ length: 2 * SLOTS * active }, worker));
  return done / CAL_SECONDS;
}

interface Sample { t: number; deferred: number; processing: number; desired: number; ready: number }

async function gauges(servers: readonly LlmServer[]): Promise<{ deferred: number; processing: number }> {
  let deferred = 0;
  let processing = 0;
  for (const s of servers) {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const d = /^llamacpp:requests_deferred (\S+)$/m.exec(text);
    const p = /^llamacpp:requests_processing (\S+)$/m.exec(text);
    if (!d || !p) throw new Error(`BENCH_LLM_LIVE_METRICS: ${s.url}/metrics has no llamacpp:requests_deferred or requests_processing`);
    deferred += Number(d[1]);
    processing += Number(p[1]);
  }
  return { deferred, processing };
}

interface RunResult {
  mode: Mode;
  requests: number;
  peakDeferred: number;
  peakQueue: number;
  /** Seconds after the first arrival; undefined when it never happened. */
  firstScaleOut?: number;
  allServing?: number;
  maxDesired: number;
  lastArrival: number;
  drained: number;
  p50: number;
  p95: number;
  decisions: string[];
}

async function createTarget(kc: KubeConfig, ns: string, capacity: number, guard: boolean): Promise<void> {
  await ensureNamespace(kc.makeApiClient(CoreV1Api), ns);
  const labels = { app: 'llm' };
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: ns, body: {
    metadata: { name: 'llm' },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: {
      metadata: { labels, annotations: { [READY_DELAY_ANNOTATION]: '2s' } },
      spec: { containers: [{ name: 'server', image: 'registry.invalid/llama-server:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }], tolerations: [{ operator: 'Exists' }] },
    } },
  } });
  const spec = {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llm' },
    signal: { prometheus: { query: `sum(rate(llmrouter_requests_total{namespace="${POOL}"}[5s]))` } },
    requestsPerSecondPerReplica: capacity,
    startupSeconds: 2,
    minReplicas: 1,
    maxReplicas: M,
    ...(guard ? { guards: [{ name: 'queue', preset: 'llamacpp-deferred', selector: `namespace="${POOL}"`, target: GUARD_TARGET }] } : {}),
  };
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PredictiveScaler', metadata: { name: 'llm', namespace: ns, labels: { 'sg-bench': ns } }, spec } });
}

const pctl = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** Replays the slice open loop at `speedup` against the router while sampling; resolves when every request is answered. */
async function replay(router: LlmRouter, reqs: readonly Req[], speedup: number, onSample: (seconds: number) => Promise<void>): Promise<{ start: number; lastArrival: number; drained: number; latencies: number[] }> {
  const stop = new AbortController();
  const start = Date.now();
  const sampling = (async () => {
    while (!stop.signal.aborted) {
      // A sample that fails (a server slow to answer /metrics) is a gap in the series, said on stderr, not a failed run.
      await onSample((Date.now() - start) / 1000).catch((err: unknown) => console.error(`bench/llm-live: sample missed: ${String(err)}`));
      await sleep(SAMPLE_MS);
    }
  })();
  const inFlight: Array<Promise<number | Error>> = [];
  let lastArrival = start;
  for (const r of reqs) {
    const wait = start + r.at / speedup - Date.now();
    if (wait > 0) await sleep(wait);
    lastArrival = Date.now();
    const sent = lastArrival;
    inFlight.push(complete(router, r.prompt, r.generate).then(() => Date.now() - sent, (e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
  }
  const results = await Promise.all(inFlight);
  const drained = Date.now();
  stop.abort();
  await sampling;
  const failed = results.filter((x): x is Error => x instanceof Error);
  if (failed.length > 0) throw new Error(`BENCH_LLM_LIVE_REPLAY: ${failed.length} of ${reqs.length} requests failed; the first: ${failed[0]?.message}`);
  return { start, lastArrival, drained, latencies: results as number[] };
}

async function oneRun(x: { kc: KubeConfig; kubeconfig: string; promUrl: string; router: LlmRouter; servers: readonly LlmServer[]; follow: Follow; reqs: readonly Req[]; speedup: number; capacity: number }, mode: Mode, n: number): Promise<RunResult> {
  const ns = `llm-live-${n}-${mode}-${process.pid}`;
  await createTarget(x.kc, ns, x.capacity, mode === 'guard');
  x.follow.ns = ns;
  await waitUntil(`deployment ${ns}/llm with 1 ready replica`, async () => (x.follow.ns === ns && x.follow.ready === 1 ? true : undefined), { timeoutMs: 60_000 });
  await waitUntil('the servers idle', async () => {
    const g = await gauges(x.servers);
    return g.deferred + g.processing === 0 ? true : undefined;
  }, { timeoutMs: 300_000, intervalMs: 500 });
  const controller = await startTestController({ kubeconfig: x.kubeconfig, namespace: ns, identity: ns, prometheusUrl: x.promUrl, overrides: { forecasting: false, scalerSelector: `sg-bench=${ns}` } });
  try {
    const api = x.kc.makeApiClient(CustomObjectsApi);
    await waitUntil(`scaler ${ns}/llm decided once`, async () => {
      const s = (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'llm' })) as PredictiveScaler;
      return s.status?.lastDecision ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const samples: Sample[] = [];
    const logFrom = controller.logs.length;
    const out = await replay(x.router, x.reqs, x.speedup, async (t) => {
      const g = await gauges(x.servers);
      samples.push({ t, ...g, desired: x.follow.desired, ready: x.follow.ready });
    });
    // The decisions that changed the desired replicas during the replay, as the controller logged them.
    const decisions: string[] = [];
    let last: unknown;
    for (const l of controller.logs.slice(logFrom)) {
      if (typeof l.reason !== 'string' || l.desired === undefined || l.desired === last) continue;
      last = l.desired;
      decisions.push(`${((Date.parse(String(l.time)) - out.start) / 1000).toFixed(1)} s ${l.reason} -> ${String(l.desired)}: ${String(l.msg)}`);
    }
    return {
      mode,
      requests: x.reqs.length,
      peakDeferred: Math.max(...samples.map((s) => s.deferred)),
      peakQueue: Math.max(...samples.map((s) => s.deferred + s.processing)),
      ...(samples.find((s) => s.desired > 1) ? { firstScaleOut: samples.find((s) => s.desired > 1)?.t } : {}),
      ...(samples.find((s) => s.ready >= M) ? { allServing: samples.find((s) => s.ready >= M)?.t } : {}),
      maxDesired: Math.max(...samples.map((s) => s.desired)),
      lastArrival: (out.lastArrival - out.start) / 1000,
      drained: (out.drained - out.start) / 1000,
      p50: pctl(out.latencies, 0.5) / 1000,
      p95: pctl(out.latencies, 0.95) / 1000,
      decisions,
    };
  } finally {
    // The next run has a Deployment of its own (one ready pod) that the router follows instead.
    await controller.stop();
  }
}

const f1 = (x: number | undefined): string => (x === undefined ? 'never' : `${x.toFixed(1)} s`);

function section(x: { cal: number[]; speedup: number; capacity: number; results: RunResult[]; verdict: string; seconds: number }): string {
  const cal = x.cal.map((r, i) => `${i + 1} server${i ? 's' : ''}: ${r.toFixed(2)} req/s (${(r / (x.cal[0] ?? 1)).toFixed(2)}x)`).join(', ');
  return [
    '<!-- llm-live:begin (written by `npm run bench:llm-live`) -->',
    '### The live guard with and without it (real llama-server processes, bench/llm-live.ts)',
    '',
    `\`npm run bench:llm-live\` (${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, 2 shared cores): ${M} llama-server processes (tiny random-weight model, \`-np ${SLOTS} -t 1\` each) behind a router in the harness that sends requests to the first R servers, R = the Deployment's ready replicas read from the real API server (kwok pods stand in for the pods, the router for the Service's endpoints); the real Prometheus scrapes every server and the router each second; the real controller (reactive, 1 s ticks). Demand signal in both runs: the router's arrival rate \`sum(rate(llmrouter_requests_total[5s]))\` with capacity ${x.capacity.toFixed(2)} req/s per replica (one server's throughput measured in the same run); \`guard\` adds the \`llamacpp-deferred\` guard (target ${GUARD_TARGET} per replica), \`off\` is the same scaler without it. maxReplicas ${M}.`,
    '',
    `Throughput through the router, closed loop over the slice's request mix, ${CAL_SECONDS} s each: ${cal}.`,
    `Load: 18:20-18:21 of the Azure LLM code trace (${x.results[0]?.requests ?? 0} requests, prompt tokens / ${PROMPT_DIVISOR}), replayed open loop at ${x.speedup.toFixed(2)}x (mean arrival rate ${LOAD}x one server's throughput).`,
    '',
    '| run | queue peak (deferred) | queue peak (deferred + processing) | first scale-out | all servers serving | last arrival | drained (last answer) | latency p50 / p95 |',
    '|---|---|---|---|---|---|---|---|',
    ...x.results.map((r) => `| ${r.mode} | ${r.peakDeferred} | ${r.peakQueue} | ${f1(r.firstScaleOut)} | ${f1(r.allServing)} | ${f1(r.lastArrival)} | ${f1(r.drained)} | ${r.p50.toFixed(1)} / ${r.p95.toFixed(1)} s |`),
    '',
    `Times are seconds after the first arrival; queue gauges summed over the servers, sampled every ${SAMPLE_MS} ms. ${x.verdict} Whole run ${x.seconds.toFixed(0)} s.`,
    '<!-- llm-live:end -->',
  ].join('\n');
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The behaviour the guard is for, with margins, over the mean of each mode's runs: it scales out at
 * least 1 s sooner (a run that never scaled out counts as the whole replay), or its queue peaks at
 * most 0.8x as high.
 */
function verdict(results: RunResult[]): { ok: boolean; text: string } {
  const g = results.filter((r) => r.mode === 'guard');
  const o = results.filter((r) => r.mode === 'off');
  if (g.length === 0 || o.length === 0) return { ok: true, text: 'One mode only: no comparison.' };
  const scaleOut = (rs: RunResult[]): number => mean(rs.map((r) => r.firstScaleOut ?? r.drained));
  const peak = (rs: RunResult[]): number => mean(rs.map((r) => r.peakQueue));
  const sooner = scaleOut(g) + 1 <= scaleOut(o);
  const ratio = peak(g) / Math.max(1, peak(o));
  const ok = sooner || ratio <= 0.8;
  return { ok, text: `Means over the runs: first scale-out ${scaleOut(g).toFixed(1)} s with the guard, ${scaleOut(o).toFixed(1)} s without; queue peak ${peak(g).toFixed(0)} vs ${peak(o).toFixed(0)} (${ratio.toFixed(2)}x). Check (the guard scales out >= 1 s sooner, or its peak <= 0.8x): ${ok ? 'passed' : 'FAILED'}.` };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const ctx = runContext();
  const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
  const stopFollowing = new AbortController();
  try {
    const kube = await startKube(ctx);
    cleanups.push({ what: 'kube', run: () => kube.stop() });
    const kc = kubeConfigFrom(kube.kubeconfig);
    await installCrd(kc);
    await addFakeNodes(kc, [`llm-live-${process.pid}`], { gpus: 16 });
    const servers: LlmServer[] = [];
    for (let i = 0; i < M; i++) {
      const s = await startLlmServer(ctx, { slots: SLOTS, threads: 1, contextTokens: 2048 * SLOTS });
      servers.push(s);
      cleanups.push({ what: `llama-server ${i}`, run: () => s.stop() });
    }
    const prom = await startPrometheus(ctx);
    cleanups.push({ what: 'prometheus', run: () => prom.stop() });
    const follow: Follow = { ns: '', desired: 0, ready: 0 };
    let fixed: number | undefined;
    const router = await startLlmRouter({ backends: servers.map((s) => s.url), activeBackends: () => fixed ?? follow.ready });
    cleanups.push({ what: 'router', run: () => router.stop() });
    servers.forEach((s, i) => addScrapeTarget(prom, `llm-${i}`, s.address, { namespace: POOL }));
    addScrapeTarget(prom, 'router', router.address, { namespace: POOL });
    const following = followDeployment(kc, follow, stopFollowing.signal);
    cleanups.push({ what: 'deployment follower', run: () => following });

    const reqs = traceSlice();
    const cal: number[] = [];
    await throughput(router, (n) => (fixed = n), 1, reqs.slice(0, 4)); // warm-up, not counted
    for (let n = 1; n <= M; n++) {
      cal.push(await throughput(router, (k) => (fixed = k), n, reqs));
      console.error(`bench/llm-live: ${n} server(s): ${cal[n - 1]?.toFixed(2)} req/s`);
    }
    fixed = undefined;
    const capacity = cal[0] ?? 1;
    const speedup = (LOAD * capacity) / (reqs.length / 60);
    console.error(`bench/llm-live: replaying ${reqs.length} requests at ${speedup.toFixed(2)}x; capacity ${capacity.toFixed(2)} req/s per replica`);
    const results: RunResult[] = [];
    for (const [n, mode] of ORDER.entries()) {
      const r = await oneRun({ kc, kubeconfig: kube.kubeconfig, promUrl: prom.url, router, servers, follow, reqs, speedup, capacity }, mode, n);
      console.error(JSON.stringify(r));
      results.push(r);
    }
    const v = verdict(results);
    const md = section({ cal, speedup, capacity, results, verdict: v.text, seconds: (Date.now() - t0) / 1000 });
    console.log(md);
    if (!opt['no-write']) {
      writeResultsSection('llm-live', md, { after: 'llm' });
    }
    if (!v.ok) process.exitCode = 1;
  } finally {
    stopFollowing.abort();
    await runCleanups(cleanups.reverse());
  }
}

await main();
