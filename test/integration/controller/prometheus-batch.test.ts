// One PromQL query per signal template (issue 21), on a real Prometheus and a real API server:
// eight scalers whose signal is the same batch query (`sum by (namespace, deployment) (...)`)
// cost Prometheus one instant query per tick, and each scaler's status shows its own series; two
// scalers with the same plain query share one query per tick; a scaler whose target has no
// series in the batch result is Degraded with an error that says so. Prometheus's query log
// (query_log_file) counts the queries.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../../controller/crd/predictive-scaler.ts';
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
  exporter = createServer((_req, res) => res.end(Array.from({ length: N }, (_, i) => `sg_bt_demand{namespace="${namespace}",deployment="d${i}"} ${demandOf(i)}\n`).join('')));
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
  // The backfill at start read each batch scaler's own series (a range query of the whole vector would fail).
  const failed = c.logs.filter((l) => l.msg === 'could not backfill demand history; starting empty' && String(l.scaler).includes('/s'));
  assert.deepEqual(failed, []);
  assert.ok(loggedQueries().some((l) => l.range && l.query.includes('label_replace')), 'no backfill range query for a batch scaler');
});
