// The queue-depth guard against a real LLM server. llama.cpp's llama-server (CPU, built from source by
// scripts/build-llm-server.sh) serves a tiny random-weight model written on the spot, exposes its own
// /metrics, and the real Prometheus scrapes it every second. A load generator replays one minute of
// the Azure LLM code trace (arrival times, prompt and generated token counts; fixture with NOTICE)
// open loop, twice as fast, against it: the trace's burst outruns the server's two slots, so
// llamacpp:requests_deferred (requests queued for a slot) grows. The controller's PredictiveScaler
// has the llamacpp-deferred guard preset reading that series through Prometheus.
//
// What is real and what is not: the server, its metrics, Prometheus, the API server and the controller
// are real. One serving process cannot gain replicas here, so the scaled Deployment is a kwok-backed
// one on the real API server; the replicas the controller adds do not drain the server's queue. The
// test therefore shows the reaction (a Guard or Panic decision naming the guard, while the queue is
// still growing and well below the peak it reaches), not the relief.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type PredictiveScaler } from '../../../controller/crd/predictive-scaler.ts';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, READY_DELAY_ANNOTATION, sharedKube, type KubeInfo } from '../../helpers/infra/kube.ts';
import { addScrapeTarget, startPrometheus, type PrometheusInfo } from '../../helpers/infra/prometheus.ts';
import { complete, startLlmServer, type LlmServer } from '../../helpers/infra/llm-server.ts';
import { REPO_ROOT, runCleanups } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';

/** The replay runs the trace this many times faster than recorded. */
const SPEEDUP = 2;
/** Prompt tokens are divided by this (the tiny server's slots hold 2,048 tokens each); generated tokens are kept. */
const PROMPT_DIVISOR = 8;
const GUARD_TARGET = 2;
const NS = `llm-guard-${process.pid}`;

interface Req { at: number; prompt: number; generate: number }

/** 18:20:00 to 18:21:00 of the trace: a quiet start, then a burst (9, 54, 138, 34, 112, 184 per 10 s). */
function traceSlice(): Req[] {
  const rows = readFileSync(join(REPO_ROOT, 'test/fixtures/traces/AzureLLMInferenceTrace_code_head1500.csv'), 'utf8').trim().split('\n').slice(1);
  const toMs = (ts: string): number => Date.parse(`${ts.slice(0, 23).replace(' ', 'T')}Z`);
  const from = toMs('2023-11-16 18:20:00.000');
  const to = toMs('2023-11-16 18:21:00.000');
  const out: Req[] = [];
  for (const line of rows) {
    const [ts = '', ctx = '', gen = ''] = line.split(',');
    const t = toMs(ts);
    if (t >= from && t < to) out.push({ at: (t - from) / SPEEDUP, prompt: Math.min(1500, Math.ceil(Number(ctx) / PROMPT_DIVISOR)), generate: Math.min(400, Number(gen)) });
  }
  return out;
}

let kube: KubeInfo;
let kc: KubeConfig;
let prom: PrometheusInfo & { stop(): Promise<void> };
let server: LlmServer;
let controller: TestController | undefined;
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await addFakeNodes(kc, [`llm-guard-${process.pid}`], { gpus: 16 });
  server = await startLlmServer(undefined, { slots: 2, threads: 1 });
  cleanups.push({ what: 'llama-server', run: () => server.stop() });
  prom = await startPrometheus();
  cleanups.push({ what: 'prometheus', run: () => prom.stop() });
  addScrapeTarget(prom, 'llm', server.address, { namespace: NS });
});

after(() => runCleanups([{ what: 'controller', run: async () => controller?.stop() }, ...cleanups.reverse()]));

async function createTarget(): Promise<void> {
  await ensureNamespace(kc.makeApiClient(CoreV1Api), NS);
  const labels = { app: 'llm' };
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: NS, body: {
    metadata: { name: 'llm' },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: {
      metadata: { labels, annotations: { [READY_DELAY_ANNOTATION]: '2s' } },
      spec: { containers: [{ name: 'server', image: 'registry.invalid/llama-server:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }], tolerations: [{ operator: 'Exists' }] },
    } },
  } });
  const spec = {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llm' },
    // The demand signal is the prompt tokens the server processed: throughput flattens at saturation,
    // which is why the queue guard is there. A capacity this high keeps the demand rule at one replica.
    signal: { prometheus: { query: `sum(rate(llamacpp:prompt_tokens_total{namespace="${NS}"}[5s]))` } },
    requestsPerSecondPerReplica: 1_000_000,
    startupSeconds: 2,
    minReplicas: 1,
    maxReplicas: 12,
    guards: [{ name: 'queue', preset: 'llamacpp-deferred', selector: `namespace="${NS}"`, target: GUARD_TARGET }],
  };
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PredictiveScaler', metadata: { name: 'llm', namespace: NS, labels: { 'sg-test': NS } }, spec } });
}

/** The server's own queue, read straight from its /metrics (not through Prometheus). */
async function deferredNow(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = /^llamacpp:requests_deferred (\S+)$/m.exec(text);
  if (!m) throw new Error(`LLM_GUARD_TEST: no llamacpp:requests_deferred in ${server.url}/metrics`);
  return Number(m[1]);
}

interface Seen { queue: number; decisions: Array<{ queueAtSample: number; reason: string; replicas: number; message: string }> }

async function watch(stop: AbortSignal, seen: Seen): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  let last = '';
  while (!stop.aborted) {
    const q = await deferredNow();
    seen.queue = Math.max(seen.queue, q);
    const s = (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'llm' })) as PredictiveScaler;
    const d = s.status?.lastDecision;
    if (d && d.time + d.message !== last) {
      last = d.time + d.message;
      seen.decisions.push({ queueAtSample: q, reason: d.reason, replicas: d.replicas, message: d.message });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function replay(reqs: Req[]): Promise<void> {
  const start = Date.now();
  const inFlight: Array<Promise<unknown>> = [];
  for (const r of reqs) {
    const wait = start + r.at - Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    inFlight.push(complete(server, r.prompt, r.generate).then(() => undefined, (e: unknown) => e));
  }
  // Every request is awaited before any failure is reported, so none outlives the test.
  const failed = (await Promise.all(inFlight)).filter((e) => e !== undefined);
  if (failed.length > 0) throw new Error(`LLM_GUARD_TEST: ${failed.length} of ${reqs.length} requests failed; the first: ${String(failed[0])}`);
}

test('the llamacpp-deferred guard raises the target while the real server\'s queue grows, well before its peak', async (t) => {
  await createTarget();
  controller = await startTestController({ kubeconfig: kube.kubeconfig, namespace: NS, identity: NS, prometheusUrl: prom.url, overrides: { forecasting: false, scalerSelector: `sg-test=${NS}` } });
  const reqs = traceSlice();
  assert.ok(reqs.length > 400, `the slice holds ${reqs.length} requests`);
  const seen: Seen = { queue: 0, decisions: [] };
  const stop = new AbortController();
  const watching = watch(stop.signal, seen);
  await replay(reqs);
  stop.abort();
  await watching;
  const guarded = seen.decisions.filter((d) => (d.reason === 'Guard' || d.reason === 'Panic') && /guard queue/.test(d.message));
  const detail = JSON.stringify({ peak: seen.queue, decisions: seen.decisions.slice(0, 12) }, null, 1);
  assert.ok(guarded.length > 0, `no decision bound by the queue guard: ${detail}`);
  const first = guarded[0];
  assert.ok(first);
  // The queue the controller read (through Prometheus) when it first acted on the guard.
  const m = /guard queue \d+ \((\d+(?:\.\d+)?) requests deferred/.exec(first.message);
  assert.ok(m, `the decision message names the guard's reading: ${first.message}`);
  const read = Number(m[1]);
  t.diagnostic(`first guard decision: ${first.reason} to ${first.replicas} replicas at ${read} deferred (read through Prometheus); queue peak ${seen.queue}; ${guarded.length} guard-bound decisions`);
  assert.ok(first.replicas > 1, `the guard raised the target: ${detail}`);
  assert.ok(read < seen.queue / 2, `the guard acted at ${read} deferred, not below half the peak ${seen.queue}: ${detail}`);
  assert.ok(read <= 8 * GUARD_TARGET, `the guard acted at ${read} deferred, more than 8x its target ${GUARD_TARGET}: ${detail}`);
});
