// One PromQL query per signal template (issue 21), on a real Prometheus and a real API server:
// eight scalers whose signal is the same batch query (`sum by (namespace, deployment) (...)`)
// cost Prometheus one instant query per tick, and each scaler's status shows its own series; two
// scalers with the same plain query share one query per tick; a scaler whose target has no
// series in the batch result is Degraded with an error that says so. At start, the batch scalers'
// histories come from one range query of the batch query, read as it streams (issue 21), and are
// the same histories as a range query per scaler gives. Prometheus's query log (query_log_file)
// counts the queries.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { silentLogger } from '../../../common/logger.ts';
import { GROUP, PLURAL, VERSION } from '../../../controller/crd/predictive-scaler.ts';
import { createBackfill, prometheusRangeStream } from '../../../controller/signals/backfill.ts';
import { prometheusSignalOf } from '../../../controller/signals/prometheus-batch.ts';
import { prometheusApi } from '../../../controller/signals/prometheus-demand.ts';
import { createScaler, installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { ensureNamespace, kubeConfigFrom, sharedKube, type KubeInfo } from '../../helpers/infra/kube.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { addScrapeTarget, promQuery, startPrometheus } from '../../helpers/infra/prometheus.ts';
import { runContext } from '../../helpers/infra/run.ts';

const id = `pbatch-${process.pid}`;
const namespace = id;
const N = 8;
const demandOf = (i: number): number => 5 * (i + 1);
const BATCH = `sum by (namespace, deployment) (sg_bt_demand{namespace="${namespace}"})`;
const PLAIN = `sum(sg_bt_demand{namespace="${namespace}",deployment="d0"})`;
// A series per target that changes every scrape, for comparing histories.
const WAVE = `sum by (namespace, deployment) (sg_bt_wave{namespace="${namespace}"})`;
let scrapes = 0;
let kube: KubeInfo;
let kc: KubeConfig;
let prom: Awaited<ReturnType<typeof startPrometheus>> | undefined;
let queryLog = '';
let controller: TestController | undefined;
let exporter: Server | undefined;

interface Logged {
  query: string;
  range: boolean;
}

/** Every query Prometheus has logged so far. */
function loggedQueries(): Logged[] {
  let text: string;
  try {
    text = readFileSync(queryLog, 'utf8');
  } catch {
    // Prometheus creates the file with the first query.
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { params?: { query?: string; step?: number } })
    .map((e) => ({ query: e.params?.query ?? '', range: (e.params?.step ?? 0) > 0 }));
}

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  // A Prometheus of this file's own, so that its query log holds only this test's queries.
  prom = await startPrometheus(runContext());
  const dir = dirname(prom.log);
  const cfg = JSON.parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as { global: Record<string, unknown> };
  queryLog = join(dir, 'query.log');
  cfg.global.query_log_file = queryLog;
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(cfg, null, 2));
  assert.ok((await fetch(`${prom.url}/-/reload`, { method: 'POST' })).ok, 'Prometheus reload with the query log');
  // d0..d7 have a series each; d8 has none.
  exporter = createServer((_req, res) => {
    scrapes++;
    const lines = Array.from({ length: N }, (_, i) => `sg_bt_demand{namespace="${namespace}",deployment="d${i}"} ${demandOf(i)}\nsg_bt_wave{namespace="${namespace}",deployment="d${i}"} ${((scrapes * (i + 3)) % 17) / 4}\n`);
    res.end(lines.join(''));
  });
  await new Promise<void>((resolve) => exporter?.listen(0, '127.0.0.1', resolve));
  addScrapeTarget(prom, id, `127.0.0.1:${(exporter.address() as AddressInfo).port}`);
});
after(() =>
  runCleanups([
    { what: 'controller', run: async () => controller?.stop() },
    { what: 'exporter', run: () => new Promise((r) => exporter?.close(r)) },
    { what: 'prometheus', run: async () => prom?.stop() },
  ]),
);

async function addScaler(name: string, target: string, prometheus: Record<string, unknown>): Promise<void> {
  const labels = { app: target };
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: { metadata: { name: target }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'm', image: 'registry.invalid/m:1' }] } } } },
  });
  await createScaler(kc, { name, namespace, labels: { 'sg-test': id } }, { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, signal: { prometheus }, requestsPerSecondPerReplica: 100, startupSeconds: 2, minReplicas: 1, maxReplicas: 4, mode: 'DryRun' });
}

interface ScalerStatus {
  currentDemand?: number;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

async function statusOf(name: string): Promise<ScalerStatus> {
  const obj = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as { status?: ScalerStatus };
  return obj.status ?? {};
}

test('scalers that share a batch query cost one query per tick and each reads its own series; identical plain queries run once per tick', async () => {
  if (!prom) throw new Error('no Prometheus');
  const p = prom;
  await waitUntil('the demand series in Prometheus', async () => ((await promQuery(p.url, BATCH)).length === N ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  // A few seconds of samples, so that the start-up backfill has a history to read (asked of sg_bt_wave,
  // scraped with the demand series: the demand queries are counted below).
  await waitUntil('5 samples of each series', async () => (Number((await promQuery(p.url, `min(count_over_time(sg_bt_wave{namespace="${namespace}"}[1m]))`))[0]?.value[1] ?? 0) >= 5 ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  await ensureNamespace(kc.makeApiClient(CoreV1Api), namespace);
  for (let i = 0; i < N; i++) await addScaler(`s${i}`, `d${i}`, { batch: { query: BATCH } });
  await addScaler('orphan', 'd8', { batch: { query: BATCH } });
  await addScaler('p0', 'p0', { query: PLAIN });
  await addScaler('p1', 'p1', { query: PLAIN });
  controller = await startTestController({ kubeconfig: kube.kubeconfig, namespace: 'default', identity: id, prometheusUrl: p.url, overrides: { scalerSelector: `sg-test=${id}`, leaderElection: { namespace: 'default', leaseName: id, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 } } });
  const c = controller;
  const tickCount = async (): Promise<number> => Number(/surgeguard_controller_tick_duration_seconds_count (\d+)/.exec((await c.metrics.render()).body)?.[1] ?? 0);

  // Each scaler's status holds its own series of the one shared vector.
  for (let i = 0; i < N; i++) {
    await waitUntil(`s${i} reads ${demandOf(i)} requests/s`, async () => ((await statusOf(`s${i}`)).currentDemand === demandOf(i) ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  }
  for (const name of ['p0', 'p1']) await waitUntil(`${name} reads d0's ${demandOf(0)}`, async () => ((await statusOf(name)).currentDemand === demandOf(0) ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  const orphan = await waitUntil('orphan is Degraded', async () => (await statusOf('orphan')).conditions?.find((x) => x.type === 'Degraded' && x.status === 'True'), { timeoutMs: 30_000, intervalMs: 500 });
  assert.match(orphan.message, /no series with \{namespace="[^"]+",deployment="d8"\}/);

  // Ten more ticks: one batch query and one plain query per tick, whatever the number of scalers.
  const count = (q: string): number => loggedQueries().filter((l) => !l.range && l.query === q).length;
  const [t0, b0, p0] = [await tickCount(), count(BATCH), count(PLAIN)];
  await waitUntil('ten more ticks', async () => ((await tickCount()) >= t0 + 10 ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
  const [t1, b1, p1] = [await tickCount(), count(BATCH), count(PLAIN)];
  const ticks = t1 - t0;
  // A tick in flight at either end may have sent its query before or after the count was read.
  assert.ok(Math.abs(b1 - b0 - ticks) <= 1, `${b1 - b0} batch queries over ${ticks} ticks for ${N + 1} scalers: expected one per tick`);
  assert.ok(Math.abs(p1 - p0 - ticks) <= 1, `${p1 - p0} plain queries over ${ticks} ticks for 2 scalers with the same query: expected one per tick`);
  // No other instant query reads the demand series (no per-scaler query next to the batch).
  const others = loggedQueries().filter((l) => !l.range && l.query.includes('sg_bt_demand') && l.query !== BATCH && l.query !== PLAIN);
  assert.deepEqual(others, []);
  // The backfill at start read the nine batch scalers' histories from one range query of the batch
  // query (Prometheus's log and the controller's counter agree), and no scaler's own series query.
  const failed = c.logs.filter((l) => l.msg === 'could not backfill demand history; starting empty' && String(l.scaler).includes('/s'));
  assert.deepEqual(failed, []);
  assert.equal(loggedQueries().filter((l) => l.range && l.query === BATCH).length, 1, 'one backfill range query of the batch query');
  assert.deepEqual(loggedQueries().filter((l) => l.range && l.query.includes('label_replace')), [], 'no range query of one scaler\'s series');
  const body = (await c.metrics.render()).body;
  assert.match(body, /surgeguard_backfill_range_queries_total\{form="batch"\} 1\n/);
  assert.doesNotMatch(body, /surgeguard_backfill_range_queries_total\{form="series"\}/);
  const batchLog = c.logs.find((l) => l.msg === 'backfilled demand histories from one batch range query');
  assert.equal(batchLog?.scalers, N + 1);
  assert.equal(batchLog?.matched, N, 'the orphan has no series');
  for (let i = 0; i < N; i++) {
    const line = c.logs.find((l) => l.msg === 'backfilled demand history from Prometheus' && l.scaler === `${namespace}/s${i}`);
    assert.ok(Number(line?.intervals) >= 3, `s${i} started with a history: ${JSON.stringify(line)}`);
  }
});

test('the histories read from one batch range query equal those of a range query per scaler', async () => {
  if (!prom) throw new Error('no Prometheus');
  const p = prom;
  const deps = { api: prometheusApi(p.url, 10_000), rangeStream: prometheusRangeStream(p.url, 10_000), logger: silentLogger() };
  const samples = async (): Promise<number> => Number((await promQuery(p.url, `count_over_time(sg_bt_wave{namespace="${namespace}",deployment="d0"}[60s])`))[0]?.value[1] ?? 0);
  // 40 samples at a 1 s scrape: the series covers the whole 30 s window ending 3 s ago.
  await waitUntil('40 s of the changing series', async () => ((await samples()) >= 40 ? true : undefined), { timeoutMs: 60_000, intervalMs: 1000 });
  // The same window for both, a few seconds back so that no new sample lands between them.
  const nowMs = Date.now() - 3000;
  const reqs = Array.from({ length: N + 1 }, (_, i) => ({ namespace, name: `w${i}`, signal: prometheusSignalOf({ batch: { query: WAVE } }, namespace, `d${i}`) }));
  const rangeOf = (q: string): number => loggedQueries().filter((l) => l.range && l.query === q).length;
  const before = rangeOf(WAVE);
  const batchMetrics = createMetricRegistry();
  const batch = createBackfill({ ...deps, now: () => nowMs, metrics: batchMetrics });
  const together = await Promise.all(reqs.map((r) => batch.history(r, 1, 30)));
  const single = createBackfill({ ...deps, now: () => nowMs, metrics: createMetricRegistry() });
  const apart: number[][] = [];
  // One at a time, each alone in its group: its own series query.
  for (const r of reqs) apart.push(await single.history(r, 1, 30));
  assert.deepEqual(together, apart);
  for (let i = 0; i < N; i++) {
    assert.equal(together[i]?.length, 30, `d${i}: 30 intervals`);
    assert.ok(new Set(together[i]).size > 3, `d${i} changes: ${JSON.stringify(together[i])}`);
  }
  assert.deepEqual(together[N], [], 'd8 has no series');
  assert.equal(rangeOf(WAVE) - before, 1, 'one range query of the batch query for nine scalers');
  assert.equal(loggedQueries().filter((l) => l.range && l.query.includes('sg_bt_wave') && l.query.includes('label_replace')).length, N + 1, 'a range query of its own series per scaler for the comparison');
  assert.match((await batchMetrics.render()).body, /surgeguard_backfill_range_queries_total\{form="batch"\} 1\n/);
});
