// The controller's Prometheus client and the backfill's streamed range query on answers shaped as
// Prometheus and Thanos Query give them: what they send (Thanos's partial_response and dedup next
// to the query), and which warnings make a read fail. The same reads against a real Thanos querier: test/integration/controller/thanos.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { createBackfill, prometheusRangeStream, type BackfillRequest, type RangeStream } from '../../../controller/signals/backfill.ts';
import { prometheusSignalOf } from '../../../controller/signals/prometheus-batch.ts';
import { isPromqlAnnotation, prometheusApi, THANOS_READ_PARAMS } from '../../../controller/signals/prometheus-demand.ts';

interface Sent {
  path: string;
  params: Record<string, string>;
}

/** A fetch that records each request and answers `body` as JSON. */
function stub(body: unknown): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    sent.push({ path: new URL(String(input)).pathname, params: Object.fromEntries(new URLSearchParams(String(init?.body))) });
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { fetch: fn, sent };
}

const vector = (warnings?: string[]): unknown => ({ status: 'success', data: { resultType: 'vector', result: [{ metric: { deployment: 'web' }, value: [1_700_000_000, '42'] }] }, ...(warnings ? { warnings } : {}) });

test('every query sends partial_response=false and dedup=true next to its own parameters', async () => {
  const s = stub(vector());
  const api = prometheusApi('http://thanos.invalid:10902/', 1000, s.fetch);
  await api.query('sum(x)', 1_700_000_000);
  await api.queryVector('sum by (deployment) (x)');
  const range = stub({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '2']] }] } });
  await prometheusApi('http://thanos.invalid:10902', 1000, range.fetch).queryRange('sum(x)', 100, 160, 30);
  assert.deepEqual(
    [...s.sent, ...range.sent],
    [
      { path: '/api/v1/query', params: { query: 'sum(x)', time: '1700000000', partial_response: 'false', dedup: 'true' } },
      { path: '/api/v1/query', params: { query: 'sum by (deployment) (x)', partial_response: 'false', dedup: 'true' } },
      { path: '/api/v1/query_range', params: { query: 'sum(x)', start: '100', end: '160', step: '30', partial_response: 'false', dedup: 'true' } },
    ],
  );
  assert.ok(Object.isFrozen(THANOS_READ_PARAMS));
});

test('a warning other than a PromQL annotation fails the read; PromQL annotations do not', async () => {
  const rows: Array<{ warnings: string[]; fails: RegExp | undefined }> = [
    { warnings: [], fails: undefined },
    { warnings: ['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "x"'], fails: undefined },
    { warnings: ['PromQL warning: encountered a mix of histograms and floats for metric name "x"'], fails: undefined },
    // What Thanos Query answers with partial response on when a store could not be read.
    { warnings: ['No StoreAPIs matched for this query'], fails: /may be missing series \(No StoreAPIs matched for this query\); not used/ },
    { warnings: ['PromQL info: metric might not be a counter', 'fetch series for {cluster="b"} 127.0.0.1:10901: rpc error: code = Unavailable'], fails: /may be missing series \(fetch series for .*Unavailable\)/ },
  ];
  for (const { warnings, fails } of rows) {
    const api = prometheusApi('http://thanos.invalid', 1000, stub(vector(warnings)).fetch);
    for (const read of [() => api.query('sum(x)'), () => api.queryVector('sum by (deployment) (x)')]) {
      if (fails) await assert.rejects(read(), fails, JSON.stringify(warnings));
      else await assert.doesNotReject(read(), JSON.stringify(warnings));
    }
  }
  const range = { status: 'success', warnings: ['No StoreAPIs matched for this query'], data: { resultType: 'matrix', result: [] } };
  await assert.rejects(prometheusApi('http://thanos.invalid', 1000, stub(range).fetch).queryRange('sum(x)', 0, 60, 30), /\/api\/v1\/query_range: the answer may be missing series/);
});

test('isPromqlAnnotation: only the prefixes PromQL writes', () => {
  assert.equal(isPromqlAnnotation('PromQL info: metric might not be a counter'), true);
  assert.equal(isPromqlAnnotation('PromQL warning: bucket label "le" is missing'), true);
  assert.equal(isPromqlAnnotation('partial response: PromQL info'), false);
  assert.equal(isPromqlAnnotation('receive series from store: rpc error'), false);
});

// The start-up backfill's streamed batch range query (controller/signals/backfill.ts) reads the same way.
const NOW_S = 1_700_000_150;
const batchReq = (target: string): BackfillRequest => ({ namespace: 'shop', name: `s-${target}`, signal: prometheusSignalOf({ batch: { query: 'sum by (namespace, deployment) (x)' } }, 'shop', target) });

function matrix(warnings: string[]): string {
  const values = Array.from({ length: 3 }, (_, k) => [NOW_S - (2 - k) * 15, '5']);
  const result = ['web', 'api'].map((d) => ({ metric: { namespace: 'shop', deployment: d }, values }));
  return JSON.stringify({ status: 'success', ...(warnings.length ? { warnings } : {}), data: { resultType: 'matrix', result } });
}

test('the batch backfill: sends partial_response=false and dedup=true; a store warning fails the shared query and each scaler falls back to its own', async () => {
  const sent: Sent[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    sent.push({ path: new URL(String(input)).pathname, params: Object.fromEntries(new URLSearchParams(String(init?.body))) });
    return new Response('{}', { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  await prometheusRangeStream('http://thanos.invalid', 1000, fetchFn)('sum(x)', 0, 60, 30);
  assert.deepEqual(sent, [{ path: '/api/v1/query_range', params: { query: 'sum(x)', start: '0', end: '60', step: '30', partial_response: 'false', dedup: 'true' } }]);

  for (const [warnings, fallsBack] of [[[], false], [['PromQL info: metric might not be a counter'], false], [['No StoreAPIs matched for this query'], true]] as const) {
    const own: string[] = [];
    const metrics = createMetricRegistry();
    const rangeStream: RangeStream = () =>
      Promise.resolve(
        (async function* () {
          yield new TextEncoder().encode(matrix([...warnings]));
        })(),
      );
    const api = {
      queryRange(expr: string): Promise<Array<[number, number]>> {
        own.push(expr);
        return Promise.resolve([[NOW_S - 30, 5], [NOW_S - 15, 5], [NOW_S, 5]]);
      },
    };
    const b = createBackfill({ api, rangeStream, now: () => NOW_S * 1000, logger: silentLogger(), metrics });
    const got = await Promise.all(['web', 'api'].map((t) => b.history(batchReq(t), 15, 2)));
    assert.deepEqual(got, [[5, 5], [5, 5]], JSON.stringify(warnings));
    assert.equal(own.length, fallsBack ? 2 : 0, JSON.stringify(warnings));
    assert.equal(/surgeguard_backfill_batch_failures_total\{code="SG_PROMETHEUS_REQUEST_FAILED"\} 1/.test((await metrics.render()).body), fallsBack, JSON.stringify(warnings));
  }
});
