// The start-up backfill (controller/signals/backfill.ts): batch scalers first seen together share
// one streamed range query; one alone, plain and Kafka scalers keep a query of their own; a bad or
// broken batch answer falls back to a query per scaler, counted by code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, hasCode } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry, type MetricRegistry } from '../../../common/metrics.ts';
import { createBackfill, gridOf, historyFromGrid, prometheusRangeStream, type BackfillRequest, type RangeStream } from '../../../controller/signals/backfill.ts';
import { prometheusSignalOf, seriesQuery } from '../../../controller/signals/prometheus-batch.ts';

const BATCH = 'sum by (namespace, deployment) (rate(requests_total[1m]))';
const NOW_S = 1_700_000_150;
const STEP = 15;
const N_INTERVALS = 10;
const START = NOW_S - N_INTERVALS * STEP;

const batchReq = (target: string, query = BATCH): BackfillRequest => ({ namespace: 'shop', name: `s-${target}`, signal: prometheusSignalOf({ batch: { query } }, 'shop', target) });

/** Each target's demand at grid point k, as a fake Prometheus holds it. */
const valueOf = (target: string, k: number): number => target.length * 10 + k;
const TARGETS = ['web', 'api', 'search', 'chat', 'embed'];

function matrixBody(targets: readonly string[]): string {
  const result = targets.map((t) => ({ metric: { namespace: 'shop', deployment: t }, values: Array.from({ length: N_INTERVALS + 1 }, (_, k) => [START + k * STEP, String(valueOf(t, k))]) }));
  return JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });
}

/** A RangeStream over a fixed body, cut into chunks of `chunk` bytes; counts its calls. */
function streamOf(body: string | (() => AsyncIterable<Uint8Array>), chunk = 7): RangeStream & { calls: string[] } {
  const calls: string[] = [];
  const fn: RangeStream = async (expr) => {
    calls.push(expr);
    if (typeof body === 'function') return body();
    const bytes = new TextEncoder().encode(body);
    return (async function* () {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    })();
  };
  return Object.assign(fn, { calls });
}

/** queryRange as Prometheus answers a scaler's own series query: its points, or none. */
function fakeApi(): { calls: string[]; queryRange(expr: string, start: number, end: number, step: number): Promise<Array<[number, number]>> } {
  const calls: string[] = [];
  return {
    calls,
    queryRange(expr, start, end, step) {
      calls.push(expr);
      const target = TARGETS.find((t) => expr.includes(`"${t}"`));
      if (!target) return Promise.resolve([]);
      const points: Array<[number, number]> = [];
      for (let t = start; t <= end; t += step) points.push([t, valueOf(target, (t - START) / STEP)]);
      return Promise.resolve(points);
    },
  };
}

async function counter(m: MetricRegistry, name: string, labels: string): Promise<number> {
  const line = (await m.render()).body.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return Number(line?.split(' ')[1] ?? 0);
}

const expected = (target: string): number[] => Array.from({ length: N_INTERVALS }, (_, k) => valueOf(target, k));

test('batch scalers first seen together share one streamed range query and each gets its own series; the same as a query each', async () => {
  const metrics = createMetricRegistry();
  const api = fakeApi();
  const stream = streamOf(matrixBody([...TARGETS, 'other']));
  const b = createBackfill({ api, rangeStream: stream, now: () => NOW_S * 1000, logger: silentLogger(), metrics });
  const got = await Promise.all(TARGETS.map((t) => b.history(batchReq(t), STEP, N_INTERVALS)));
  assert.deepEqual(stream.calls, [BATCH]);
  assert.deepEqual(api.calls, []);
  TARGETS.forEach((t, i) => assert.deepEqual(got[i], expected(t), t));
  assert.equal(await counter(metrics, 'surgeguard_backfill_range_queries_total', 'form="batch"'), 1);
  // Each scaler's own series query gives the same histories.
  const single = createBackfill({ api: fakeApi(), rangeStream: streamOf('{}'), now: () => NOW_S * 1000, logger: silentLogger(), metrics: createMetricRegistry() });
  for (const t of TARGETS) assert.deepEqual(await single.history(batchReq(t), STEP, N_INTERVALS), expected(t), `${t} alone`);
});

test('a batch scaler alone, a plain query and a Kafka scaler each send a range query of their own', async () => {
  const metrics = createMetricRegistry();
  const api = fakeApi();
  const stream = streamOf(matrixBody(TARGETS));
  const b = createBackfill({ api, rangeStream: stream, now: () => NOW_S * 1000, logger: silentLogger(), metrics });
  const plain: BackfillRequest = { namespace: 'shop', name: 'p', signal: { kind: 'prometheus', query: 'sum(rate(x[1m]))' } };
  const kafka: BackfillRequest = { namespace: 'shop', name: 'k', signal: { kind: 'kafka', topic: 't', consumerGroup: 'g' } };
  const [alone, other, p, k] = await Promise.all([b.history(batchReq('web'), STEP, N_INTERVALS), b.history(batchReq('api', 'sum by (namespace, deployment) (up)'), STEP, N_INTERVALS), b.history(plain, STEP, N_INTERVALS), b.history(kafka, STEP, N_INTERVALS)]);
  assert.deepEqual(stream.calls, []);
  const web = batchReq('web').signal;
  assert.ok(web.kind === 'prometheus' && web.match);
  assert.deepEqual(api.calls.sort(), [seriesQuery(BATCH, web.match), seriesQuery('sum by (namespace, deployment) (up)', { namespace: 'shop', deployment: 'api' }), 'sum(rate(x[1m]))', 'max(surgeguard_scaler_demand_requests_per_second{namespace="shop",scaler="k"})'].sort());
  assert.deepEqual(alone, expected('web'));
  assert.deepEqual(other, expected('api'));
  assert.deepEqual([p, k], [[], []]);
  assert.equal(await counter(metrics, 'surgeguard_backfill_range_queries_total', 'form="series"'), 2);
  assert.equal(await counter(metrics, 'surgeguard_backfill_range_queries_total', 'form="own"'), 2);
});

test('a truncated, malformed or broken batch answer: counted by code, and every scaler falls back to a query of its own series', async () => {
  const body = matrixBody(TARGETS);
  const broken = (): AsyncIterable<Uint8Array> =>
    (async function* () {
      yield new TextEncoder().encode(body.slice(0, 500));
      throw new Error('terminated');
    })();
  const cases: Array<[string, string | (() => AsyncIterable<Uint8Array>), string]> = [
    ['truncated', body.slice(0, body.length - 3), ErrorCode.PrometheusResponseInvalid],
    ['malformed', body.replace('"30"', '"thirty"'), ErrorCode.PrometheusResponseInvalid],
    ['an error answer', '{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}', ErrorCode.PrometheusRequestFailed],
    ['a connection cut', broken, ErrorCode.PrometheusRequestFailed],
  ];
  for (const [what, answer, code] of cases) {
    const metrics = createMetricRegistry();
    const api = fakeApi();
    const stream = streamOf(answer);
    const b = createBackfill({ api, rangeStream: stream, now: () => NOW_S * 1000, logger: silentLogger(), metrics });
    const got = await Promise.all(TARGETS.map((t) => b.history(batchReq(t), STEP, N_INTERVALS)));
    assert.equal(stream.calls.length, 1, what);
    assert.equal(api.calls.length, TARGETS.length, `${what}: a query per scaler after the failure`);
    TARGETS.forEach((t, i) => assert.deepEqual(got[i], expected(t), `${what}: ${t}`));
    assert.equal(await counter(metrics, 'surgeguard_backfill_batch_failures_total', `code="${code}"`), 1, what);
  }
});

test('a scaler that two series match gets no history (as its live read fails); the others get theirs', async () => {
  const two = JSON.parse(matrixBody(TARGETS)) as { data: { result: Array<{ metric: Record<string, string> }> } };
  two.data.result.push({ ...two.data.result[0], metric: { namespace: 'shop', deployment: 'web', pod: 'b' } } as (typeof two.data.result)[0]);
  const b = createBackfill({ api: fakeApi(), rangeStream: streamOf(JSON.stringify(two)), now: () => NOW_S * 1000, logger: silentLogger(), metrics: createMetricRegistry() });
  const got = await Promise.allSettled(TARGETS.map((t) => b.history(batchReq(t), STEP, N_INTERVALS)));
  const first = got[0];
  assert.ok(first?.status === 'rejected' && hasCode(first.reason, ErrorCode.InputInvalid) && /two or more series with \{namespace="shop",deployment="web"\}/.test((first.reason as Error).message));
  got.slice(1).forEach((r, i) => assert.deepEqual(r.status === 'fulfilled' ? r.value : r.reason, expected(TARGETS[i + 1] ?? '')));
});

test('historyFromGrid: from the first usable sample to the step before the end; gaps, NaN, Inf and negatives carry the previous value', () => {
  assert.deepEqual(historyFromGrid([NaN, NaN, 1, NaN, 2, Infinity, -1, 3, 4]), [1, 1, 2, 2, 2, 3]);
  assert.deepEqual(historyFromGrid([NaN, NaN, 5]), []);
  assert.deepEqual(historyFromGrid([]), []);
  assert.deepEqual(historyFromGrid(new Float64Array([0, 1, 2])), [0, 1]);
  const w = { start: 100, end: 145, step: 15, points: 4 };
  assert.deepEqual([...gridOf([[115, 2], [145, 4], [160, 9], [85, 9]], w)], [NaN, 2, NaN, 4]);
});

test('prometheusRangeStream: a body that is not JSON is SG_PROMETHEUS_REQUEST_FAILED with the status; a JSON error goes to the parser', async () => {
  const fetchOf = (res: Response): typeof fetch => (() => Promise.resolve(res)) as typeof fetch;
  await assert.rejects(prometheusRangeStream('http://p', 1000, fetchOf(new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } })))('up', 0, 1, 1), (err: unknown) => hasCode(err, ErrorCode.PrometheusRequestFailed) && /HTTP 502, not JSON: <html>bad gateway/.test((err as Error).message));
  await assert.rejects(prometheusRangeStream('http://p', 1000, fetchOf(new Response('no', { status: 401 })))('up', 0, 1, 1), /HTTP 401 \(unauthorized/);
  await assert.rejects(prometheusRangeStream('http://p', 1000, (() => Promise.reject(new Error('connect ECONNREFUSED'))) as typeof fetch)('up', 0, 1, 1), (err: unknown) => hasCode(err, ErrorCode.PrometheusRequestFailed) && /ECONNREFUSED/.test((err as Error).message));
  const body = await prometheusRangeStream('http://p/', 1000, fetchOf(new Response('{"status":"error"}', { status: 400, headers: { 'content-type': 'application/json' } })))('up', 0, 1, 1);
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  assert.equal(Buffer.concat(chunks).toString(), '{"status":"error"}');
});
