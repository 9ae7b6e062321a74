// The controller's Prometheus reads against Thanos Query (issue 21, "Prometheus past one server"):
// a real querier (scripts/build-thanos.sh) over real sidecars next to real Prometheus servers.
// Cluster "a" is two Prometheus replicas (external labels cluster=a, replica=0|1) scraping the same
// exporter; cluster "b" is one Prometheus scraping another. The querier merges the replicas
// (--query.replica-label=replica) and keeps every endpoint even when it fails its health check
// (strict). Checked: the per-scaler instant query, the batch form and the range query of the
// start-up backfill read the same through Thanos as from a Prometheus directly; the replicas are
// not added up; a querier without the replica label adds them up (the setting users must make);
// the controller's own loop reads its demand and backfills through Thanos; a store that cannot be
// read fails the read (partial_response=false) instead of giving a short sum; and a querier whose
// endpoints are not strict drops a dead store and gives the short sum (the other setting).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { GROUP, PLURAL, VERSION } from '../../../controller/crd/predictive-scaler.ts';
import { createBackfill, prometheusRangeStream } from '../../../controller/signals/backfill.ts';
import { prometheusSignalOf, seriesQuery } from '../../../controller/signals/prometheus-batch.ts';
import { prometheusApi, prometheusDemandSource, type PrometheusApi } from '../../../controller/signals/prometheus-demand.ts';
import type { SignalRequest } from '../../../controller/signals/signal.ts';
import { createScaler, installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { ensureNamespace, kubeConfigFrom, sharedKube, type KubeInfo } from '../../helpers/infra/kube.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { addScrapeTarget, promQuery, startPrometheus, type OwnPrometheus } from '../../helpers/infra/prometheus.ts';
import { runContext } from '../../helpers/infra/run.ts';
import { startThanosQuery, startThanosSidecar, storeAddresses, type ThanosProcess } from '../../helpers/infra/thanos.ts';

const id = `thanos-${process.pid}`;
const namespace = id;
const otherNamespace = `${id}-b`;
const DEPLOYMENTS = ['d0', 'd1', 'd2', 'd3'];
const demandOf = (i: number): number => 10 * (i + 1);
const TOTAL = DEPLOYMENTS.reduce((sum, _, i) => sum + demandOf(i), 0);
const B_DEMAND = 7;
const PLAIN = `sum(sg_th_demand{namespace="${namespace}"})`;
const BATCH = `sum by (namespace, deployment) (sg_th_demand{namespace="${namespace}"})`;
/** Both clusters' series: only Thanos sees all of them. */
const ACROSS = `sum(sg_th_demand{namespace=~"${id}.*"})`;
/** PLAIN with cluster a's external label, which lets the querier skip every other store. */
const SCOPED = `sum(sg_th_demand{cluster="a",namespace="${namespace}"})`;

let kube: KubeInfo;
let kc: KubeConfig;
const proms: OwnPrometheus[] = [];
const sidecars: ThanosProcess[] = [];
let query: ThanosProcess | undefined;
let noDedupQuery: ThanosProcess | undefined;
let looseQuery: ThanosProcess | undefined;
let controller: TestController | undefined;
const exporters: Server[] = [];

async function serve(body: string): Promise<string> {
  const srv = createServer((_req, res) => res.end(body));
  exporters.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

before(async () => {
  const ctx = runContext();
  const a = await serve(DEPLOYMENTS.map((d, i) => `sg_th_demand{namespace="${namespace}",deployment="${d}"} ${demandOf(i)}\n`).join(''));
  const b = await serve(`sg_th_demand{namespace="${otherNamespace}",deployment="b0"} ${B_DEMAND}\n`);
  for (const [labels, target] of [[{ cluster: 'a', replica: '0' }, a], [{ cluster: 'a', replica: '1' }, a], [{ cluster: 'b', replica: '0' }, b]] as const) {
    const p = await startPrometheus(ctx, { externalLabels: labels });
    proms.push(p);
    addScrapeTarget(p, id, target);
    sidecars.push(await startThanosSidecar(p, ctx));
  }
  query = await startThanosQuery(sidecars.map((s) => s.grpc), { replicaLabels: ['replica'], strict: true }, ctx);
  noDedupQuery = await startThanosQuery(sidecars.slice(0, 2).map((s) => s.grpc), {}, ctx);
  looseQuery = await startThanosQuery(sidecars.map((s) => s.grpc), { replicaLabels: ['replica'] }, ctx);
  // Every Prometheus has scraped (file discovery applies a new target after about 5 s).
  for (const p of proms) await waitUntil(`the demand series in ${p.url}`, async () => ((await promQuery(p.url, `count(sg_th_demand)`)).length > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
});
after(() =>
  runCleanups([
    { what: 'controller', run: async () => controller?.stop() },
    { what: 'thanos query', run: async () => query?.stop() },
    { what: 'thanos query (no replica label)', run: async () => noDedupQuery?.stop() },
    { what: 'thanos query (not strict)', run: async () => looseQuery?.stop() },
    ...sidecars.map((s) => ({ what: `thanos sidecar ${s.grpc}`, run: () => s.stop() })),
    ...proms.map((p) => ({ what: `prometheus ${p.url}`, run: () => p.stop() })),
    ...exporters.map((e) => ({ what: 'exporter', run: () => new Promise((r) => e.close(r)) })),
  ]),
);

function thanos(): ThanosProcess {
  if (!query) throw new Error('no Thanos Query');
  return query;
}

/** The controller's reads for one plain scaler and one batch scaler per deployment. */
function requests(): SignalRequest[] {
  return [
    { key: 'plain', signal: prometheusSignalOf({ query: PLAIN }, namespace, 'p'), startupSeconds: 60 },
    ...DEPLOYMENTS.map((d) => ({ key: d, signal: prometheusSignalOf({ batch: { query: BATCH } }, namespace, d), startupSeconds: 60 })),
  ];
}

/** A raw instant query with the given extra parameters: its values and warnings. */
async function rawQuery(url: string, expr: string, params: Record<string, string>): Promise<{ status: string; values: number[]; warnings: string[]; error?: string }> {
  const res = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr, ...params }) });
  const body = (await res.json()) as { status: string; error?: string; warnings?: string[]; data?: { result: Array<{ value: [number, string] }> } };
  return { status: body.status, values: (body.data?.result ?? []).map((s) => Number(s.value[1])), warnings: body.warnings ?? [], ...(body.error ? { error: body.error } : {}) };
}

test('instant, batch and backfill range reads through Thanos Query equal the same reads from Prometheus', async () => {
  const viaThanos = prometheusApi(thanos().url, 10_000);
  const direct = prometheusApi(proms[0]?.url ?? '', 10_000);
  const read = (api: PrometheusApi): Promise<Map<string, unknown>> => prometheusDemandSource(api).read(requests(), Date.now());
  const reading = (rate: number): unknown => ({ ok: true, rate, detail: { query: rate } });
  const expected = new Map<string, unknown>([['plain', reading(TOTAL)], ...DEPLOYMENTS.map((d, i) => [d, reading(demandOf(i))] as const)]);
  await waitUntil('Thanos Query to answer every read', async () => ([...(await read(viaThanos)).values()].every((r) => (r as { ok: boolean }).ok) ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  assert.deepEqual(await read(direct), expected);
  assert.deepEqual(await read(viaThanos), expected);

  // The backfill's range queries: the plain query, and a batch scaler's own series (seriesQuery),
  // over 20 s of data both replicas hold, on the backfill's grid (end - k * step).
  const replicas = proms.slice(0, 2).map((p) => prometheusApi(p.url, 10_000));
  const end = await waitUntil('20 s of data in both replicas', async () => {
    const t = Math.floor(Date.now() / 1000) - 1;
    const counts = await Promise.all(replicas.map(async (api) => (await api.queryRange(PLAIN, t - 20, t, 2)).length));
    return counts.every((n) => n === 11) ? t : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  for (const expr of [PLAIN, ...DEPLOYMENTS.map((d) => seriesQuery(BATCH, { namespace, deployment: d }))]) {
    const [fromProm, fromThanos] = [await direct.queryRange(expr, end - 20, end, 2), await viaThanos.queryRange(expr, end - 20, end, 2)];
    assert.equal(fromProm.length, 11, `${expr}: ${JSON.stringify(fromProm)}`);
    assert.deepEqual(fromThanos, fromProm, expr);
  }
  // The backfill itself: the batch scalers share one streamed range query of the batch query.
  const histories = (url: string): Promise<number[][]> => {
    const b = createBackfill({ api: prometheusApi(url, 10_000), rangeStream: prometheusRangeStream(url, 10_000), now: () => end * 1000, logger: silentLogger(), metrics: createMetricRegistry() });
    return Promise.all(DEPLOYMENTS.map((d) => b.history({ namespace, name: `s-${d}`, signal: prometheusSignalOf({ batch: { query: BATCH } }, namespace, d) }, 2, 10)));
  };
  const fromThanos = await histories(thanos().url);
  assert.deepEqual(fromThanos, await histories(proms[0]?.url ?? ''));
  assert.deepEqual(fromThanos, DEPLOYMENTS.map((_, i) => Array<number>(10).fill(demandOf(i))));
});

test('the replicas are merged, not added up; a querier without --query.replica-label adds them up', async () => {
  const viaThanos = prometheusApi(thanos().url, 10_000);
  assert.deepEqual(await viaThanos.query(PLAIN), [TOTAL]);
  // Both replicas are there: asked not to merge, Thanos gives each replica's series.
  assert.deepEqual(await rawQuery(thanos().url, PLAIN, { dedup: 'false' }).then((r) => r.values), [2 * TOTAL]);
  // What a user gets when the querier is not told which label tells replicas apart.
  if (!noDedupQuery) throw new Error('no second Thanos Query');
  assert.deepEqual(await prometheusApi(noDedupQuery.url, 10_000).query(PLAIN), [2 * TOTAL]);
});

interface ScalerStatus {
  currentDemand?: number;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

test("the controller's loop reads its demand and backfills its history through Thanos Query", async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), namespace);
  const scalers = [...DEPLOYMENTS.map((d) => ({ name: `s-${d}`, target: d, prometheus: { batch: { query: BATCH } }, demand: demandOf(DEPLOYMENTS.indexOf(d)) })), { name: 'plain', target: 'p', prometheus: { query: PLAIN }, demand: TOTAL }];
  for (const s of scalers) {
    const labels = { app: s.target };
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: { metadata: { name: s.target }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'm', image: 'registry.invalid/m:1' }] } } } },
    });
    await createScaler(kc, { name: s.name, namespace, labels: { 'sg-test': id } }, { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.target }, signal: { prometheus: s.prometheus }, requestsPerSecondPerReplica: 100, startupSeconds: 2, minReplicas: 1, maxReplicas: 4, mode: 'DryRun' });
  }
  controller = await startTestController({ kubeconfig: kube.kubeconfig, namespace: 'default', identity: id, prometheusUrl: thanos().url, overrides: { scalerSelector: `sg-test=${id}`, leaderElection: { namespace: 'default', leaseName: id, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 } } });
  const c = controller;
  const statusOf = async (name: string): Promise<ScalerStatus> => ((await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as { status?: ScalerStatus }).status ?? {};
  for (const s of scalers) await waitUntil(`${s.name} reads ${s.demand} requests/s through Thanos`, async () => ((await statusOf(s.name)).currentDemand === s.demand ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  // Each scaler's history came from a range query through Thanos, with some seconds of data in it.
  const backfilled = c.logs.filter((l) => l.msg === 'backfilled demand history from Prometheus' && String(l.scaler).startsWith(`${namespace}/`));
  assert.deepEqual(c.logs.filter((l) => l.msg === 'could not backfill demand history; starting empty'), []);
  assert.deepEqual(backfilled.map((l) => String(l.scaler)).sort(), scalers.map((s) => `${namespace}/${s.name}`).sort());
  for (const l of backfilled) assert.ok(Number(l.intervals) >= 5, `${String(l.scaler)} backfilled ${String(l.intervals)} intervals`);
  // The batch scalers' histories came from one streamed range query of Thanos's answer.
  assert.deepEqual(c.logs.filter((l) => l.msg === 'backfilled demand histories from one batch range query' && l.query === BATCH).map((l) => [l.scalers, l.matched]), [[DEPLOYMENTS.length, DEPLOYMENTS.length]]);
  await c.stop();
  controller = undefined;
});

test('a store that cannot be read fails the read instead of giving a short sum; a querier that drops it gives one', async () => {
  const q = thanos();
  if (!looseQuery) throw new Error('no non-strict Thanos Query');
  const loose = looseQuery;
  const viaThanos = prometheusApi(q.url, 10_000);
  assert.deepEqual(await viaThanos.query(ACROSS), [TOTAL + B_DEMAND]);
  assert.deepEqual(await prometheusApi(loose.url, 10_000).query(ACROSS), [TOTAL + B_DEMAND]);
  await sidecars[2]?.stop();

  // Thanos's own default (partial response on) answers with cluster a's series only, and a warning.
  const partial = await waitUntil('Thanos Query to answer without cluster b', async () => {
    const r = await rawQuery(q.url, ACROSS, {});
    return r.status === 'success' && r.values[0] === TOTAL ? r : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  assert.ok(partial.warnings.length > 0, 'a partial answer with no warning');
  // The controller's reads ask for no partial answer, so they fail: the one across both clusters,
  // and the one of cluster a's namespace too, since the querier cannot tell that the dead store
  // holds none of its series. A query that names cluster a's external label skips that store.
  await assert.rejects(viaThanos.query(ACROSS), /Prometheus \/api\/v1\/query: /);
  const reading = await prometheusDemandSource(viaThanos).read([{ key: 'across', signal: prometheusSignalOf({ query: ACROSS }, namespace, 'x'), startupSeconds: 60 }], Date.now());
  assert.equal(reading.get('across')?.ok, false);
  await assert.rejects(viaThanos.query(PLAIN), /Prometheus \/api\/v1\/query: /);
  assert.deepEqual(await viaThanos.query(SCOPED), [TOTAL]);

  // A querier with the endpoint not strict drops it after its health check fails, and then answers
  // without its series and without a warning: a short sum no client can tell from a true one.
  await waitUntil('the non-strict querier to drop cluster b', async () => ((await storeAddresses(loose.url)).length === 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  const short = await rawQuery(loose.url, ACROSS, { partial_response: 'false' });
  assert.deepEqual(short, { status: 'success', values: [TOTAL], warnings: [] });
});
