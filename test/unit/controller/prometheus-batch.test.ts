import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode, ErrorCode, type SurgeGuardError } from '../../../common/errors.ts';
import { groupQueries, pickSeries, prometheusSignalOf, seriesQuery, type PrometheusSignalField } from '../../../controller/signals/prometheus-batch.ts';
import { prometheusDemandSource, type PrometheusApi } from '../../../controller/signals/prometheus-demand.ts';
import type { SignalRequest } from '../../../controller/signals/signal.ts';

const BATCH = 'sum by (namespace, deployment) (rate(requests_total[1m]))';

function req(key: string, field: PrometheusSignalField, ns = 'ns', target = key): SignalRequest {
  return { key, signal: prometheusSignalOf(field, ns, target), startupSeconds: 60 };
}

test('prometheusSignalOf: a batch signal matches the scaler namespace and target name under the default or given labels', () => {
  assert.deepEqual(prometheusSignalOf({ batch: { query: BATCH } }, 'shop', 'web'), { kind: 'prometheus', query: BATCH, match: { namespace: 'shop', deployment: 'web' } });
  assert.deepEqual(prometheusSignalOf({ batch: { query: BATCH, namespaceLabel: 'exported_namespace', nameLabel: 'app' } }, 'shop', 'web').match, { exported_namespace: 'shop', app: 'web' });
  assert.deepEqual(prometheusSignalOf({ query: 'sum(up)' }, 'shop', 'web'), { kind: 'prometheus', query: 'sum(up)' });
});

test('prometheusSignalOf: each malformed spec is SG_INPUT_INVALID naming its field', () => {
  const rows: Array<[PrometheusSignalField | undefined, string]> = [
    [undefined, 'spec.signal.prometheus'],
    [{}, 'spec.signal.prometheus'],
    [{ query: 'up', batch: { query: BATCH } }, 'spec.signal.prometheus'],
    [{ query: ' ' }, 'spec.signal.prometheus.query'],
    [{ batch: { query: '' } }, 'spec.signal.prometheus.batch.query'],
    [{ batch: { query: BATCH, namespaceLabel: 'name-space' } }, 'spec.signal.prometheus.batch.namespaceLabel'],
    [{ batch: { query: BATCH, nameLabel: '1app' } }, 'spec.signal.prometheus.batch.nameLabel'],
    [{ batch: { query: BATCH, nameLabel: 'namespace' } }, 'spec.signal.prometheus.batch.nameLabel'],
  ];
  for (const [field, path] of rows) {
    assert.throws(
      () => prometheusSignalOf(field, 'ns', 't'),
      (err: unknown) => hasCode(err, ErrorCode.InputInvalid) && (err as SurgeGuardError).details.field === path && (err as Error).message.startsWith(`${path}:`),
      JSON.stringify(field),
    );
  }
});

test('groupQueries: one group per distinct query, plain and batch kept apart, invalid specs left out', () => {
  const requests: SignalRequest[] = [
    req('a', { batch: { query: BATCH } }),
    req('b', { batch: { query: BATCH } }),
    req('c', { query: 'sum(x)' }),
    req('d', { query: 'sum(x)' }),
    req('e', { query: BATCH }),
    { key: 'f', signal: { kind: 'prometheus', query: '', invalid: 'bad' }, startupSeconds: 60 },
    { key: 'k', signal: { kind: 'kafka', topic: 't', consumerGroup: 'g' }, startupSeconds: 60 },
  ];
  const groups = groupQueries(requests).map((g) => ({ query: g.query, vector: g.vector, keys: g.requests.map((r) => r.key) }));
  assert.deepEqual(groups, [
    { query: BATCH, vector: true, keys: ['a', 'b'] },
    { query: 'sum(x)', vector: false, keys: ['c', 'd'] },
    { query: BATCH, vector: false, keys: ['e'] },
  ]);
});

test('pickSeries: the one matching series, and a clear error for none or two', () => {
  const series: Array<{ labels: Record<string, string>; value: number }> = [
    { labels: { namespace: 'ns', deployment: 'a' }, value: 4 },
    { labels: { namespace: 'ns', deployment: 'b' }, value: 7 },
    { labels: { namespace: 'other', deployment: 'a' }, value: 9 },
    { labels: { namespace: 'ns', deployment: 'dup', pod: '1' }, value: 1 },
    { labels: { namespace: 'ns', deployment: 'dup', pod: '2' }, value: 2 },
    { labels: { namespace: 'ns', deployment: 'neg' }, value: -1 },
  ];
  assert.deepEqual(pickSeries(series, { namespace: 'ns', deployment: 'b' }), { ok: true, rate: 7, detail: { query: 7 } });
  assert.deepEqual(pickSeries(series, { namespace: 'other', deployment: 'a' }), { ok: true, rate: 9, detail: { query: 9 } });
  const none = pickSeries(series, { namespace: 'ns', deployment: 'zzz' });
  assert.ok(!none.ok && none.error.includes('no series with {namespace="ns",deployment="zzz"}'), JSON.stringify(none));
  const two = pickSeries(series, { namespace: 'ns', deployment: 'dup' });
  assert.ok(!two.ok && two.error.includes('2 series') && two.error.includes('by (namespace, deployment)'), JSON.stringify(two));
  assert.equal(pickSeries(series, { namespace: 'ns', deployment: 'neg' }).ok, false);
});

test('prometheusDemandSource: N scalers on one batch query and two on one plain query cost two queries', async () => {
  const calls: string[] = [];
  const api: PrometheusApi = {
    query: (expr) => (calls.push(`query ${expr}`), Promise.resolve([3])),
    queryVector: (expr) => (calls.push(`vector ${expr}`), Promise.resolve(Array.from({ length: 50 }, (_, i) => ({ labels: { namespace: 'ns', deployment: `d${i}` }, value: i })))),
    queryRange: () => Promise.reject(new Error('unused')),
  };
  const requests = [...Array.from({ length: 50 }, (_, i) => req(`s${i}`, { batch: { query: BATCH } }, 'ns', `d${i}`)), req('p', { query: 'sum(x)' }), req('q', { query: 'sum(x)' }), req('gone', { batch: { query: BATCH } }, 'ns', 'missing')];
  const out = await prometheusDemandSource(api).read(requests, 0);
  assert.deepEqual(calls.sort(), ['query sum(x)', `vector ${BATCH}`]);
  for (let i = 0; i < 50; i++) assert.deepEqual(out.get(`s${i}`), { ok: true, rate: i, detail: { query: i } });
  assert.deepEqual([out.get('p'), out.get('q')], [{ ok: true, rate: 3, detail: { query: 3 } }, { ok: true, rate: 3, detail: { query: 3 } }]);
  assert.equal(out.get('gone')?.ok, false);
});

test('prometheusDemandSource: a failed batch query fails every scaler on it, and an invalid spec fails alone without a query', async () => {
  let n = 0;
  const api: PrometheusApi = {
    query: () => Promise.resolve([1]),
    queryVector: () => (n++, Promise.reject(new Error('parse error'))),
    queryRange: () => Promise.reject(new Error('unused')),
  };
  const bad: SignalRequest = { key: 'bad', signal: { kind: 'prometheus', query: '', invalid: 'SG_INPUT_INVALID spec.signal.prometheus: set exactly one of query or batch' }, startupSeconds: 60 };
  const out = await prometheusDemandSource(api).read([req('a', { batch: { query: BATCH } }), req('b', { batch: { query: BATCH } }), bad], 0);
  assert.equal(n, 1);
  assert.deepEqual([out.get('a'), out.get('b')], [{ ok: false, error: 'prometheus: parse error' }, { ok: false, error: 'prometheus: parse error' }]);
  assert.deepEqual(out.get('bad'), { ok: false, error: 'prometheus: SG_INPUT_INVALID spec.signal.prometheus: set exactly one of query or batch' });
});

test('seriesQuery: one scaler\'s series of a batch query, joined on its labels without editing the query', () => {
  assert.equal(
    seriesQuery(BATCH, { namespace: 'shop', deployment: 'we"b' }),
    `sum((${BATCH}) and on(namespace, deployment) label_replace(label_replace(vector(1), "namespace", "shop", "", ""), "deployment", "we\\"b", "", ""))`,
  );
});
