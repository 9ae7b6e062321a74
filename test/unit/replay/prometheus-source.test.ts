import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SurgeGuardError } from '../../../common/errors.ts';
import { readPrometheusTrace } from '../../../replay/prometheus-source.ts';

/** A fetch that answers query_range from a function of (start, end, step), recording each URL. */
function fakeFetch(values: (start: number, end: number, step: number) => [number, string][], calls: URL[]): typeof fetch {
  return ((input: URL) => {
    calls.push(input);
    const p = input.searchParams;
    const body = { status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: values(Number(p.get('start')), Number(p.get('end')), Number.parseFloat(p.get('step') ?? '60')) }] } };
    return Promise.resolve(new Response(JSON.stringify(body), { status: 200 }));
  }) as unknown as typeof fetch;
}

test('query_range: a rate becomes requests per step; missing steps repeat the previous value', async () => {
  const calls: URL[] = [];
  const f = fakeFetch((start, end, step) => {
    const out: [number, string][] = [];
    for (let t = start; t <= end; t += step) if (t !== start + 2 * step) out.push([t, '2']);
    return out;
  }, calls);
  const trace = await readPrometheusTrace({ fetch: f, nowSeconds: () => 6000 }, { url: 'http://prom:9090', query: 'sum(rate(req[1m]))', rangeSeconds: 600, stepSeconds: 60, unit: 'rate' });
  assert.equal(trace.intervalSeconds, 60);
  assert.equal(trace.demand.length, 11);
  assert.deepEqual(new Set(trace.demand), new Set([120]));
  assert.match(trace.warnings[0] ?? '', /1 missing step filled/);
  assert.equal(calls[0]?.pathname, '/api/v1/query_range');
  assert.equal(calls[0]?.searchParams.get('query'), 'sum(rate(req[1m]))');
});

test('query_range: long ranges are read in chunks the server accepts', async () => {
  const calls: URL[] = [];
  const f = fakeFetch((start, end, step) => {
    const out: [number, string][] = [];
    for (let t = start; t <= end; t += step) out.push([t, '1']);
    return out;
  }, calls);
  const trace = await readPrometheusTrace({ fetch: f, nowSeconds: () => 30 * 86400 }, { url: 'http://prom:9090', query: 'q', rangeSeconds: 14 * 86400, stepSeconds: 60, unit: 'count' });
  assert.equal(trace.demand.length, 14 * 1440 + 1);
  assert.ok(calls.length >= 3);
  for (const c of calls) assert.ok((Number(c.searchParams.get('end')) - Number(c.searchParams.get('start'))) / 60 < 11000);
});

test('query_range: several series or an error are reported clearly', async () => {
  const many = (() => Promise.resolve(new Response(JSON.stringify({ status: 'success', data: { result: [{ metric: {}, values: [] }, { metric: {}, values: [] }] } })))) as unknown as typeof fetch;
  await assert.rejects(readPrometheusTrace({ fetch: many, nowSeconds: () => 6000 }, { url: 'http://p', query: 'q', rangeSeconds: 600, stepSeconds: 60, unit: 'rate' }), (e: unknown) => e instanceof SurgeGuardError && /wrap it in sum/.test(e.message));
  const bad = (() => Promise.resolve(new Response(JSON.stringify({ status: 'error', error: 'parse error at char 3' }), { status: 400 }))) as unknown as typeof fetch;
  await assert.rejects(readPrometheusTrace({ fetch: bad, nowSeconds: () => 6000 }, { url: 'http://p', query: 'q(', rangeSeconds: 600, stepSeconds: 60, unit: 'rate' }), (e: unknown) => e instanceof SurgeGuardError && e.code === 'SG_PROMETHEUS_REQUEST_FAILED' && /parse error/.test(e.message));
});
