// The streaming reader of Prometheus range answers (controller/signals/matrix-stream.ts) over
// bodies a real Prometheus 2.42 wrote (test/fixtures/prometheus/: query-range-input.om loaded with
// `promtool tsdb create-blocks-from openmetrics`, then /api/v1/query_range of sg_demand with
// start 1700000000, end 1700000105, step 15; the fractional one with step 7.5), split anywhere,
// and over malformed and truncated bodies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ErrorCode, hasCode, type SurgeGuardError } from '../../../common/errors.ts';
import { createMatrixParser, parseMatrix, parseSampleValue, type MatrixAnswer, type MatrixQuery } from '../../../controller/signals/matrix-stream.ts';

const fixture = (name: string): Uint8Array => readFileSync(new URL(`../../fixtures/prometheus/${name}`, import.meta.url));
const GOLDEN = fixture('query-range-matrix.json');
const CAFE = 'café "q"';

function query(names: readonly string[], over: Partial<MatrixQuery> = {}): MatrixQuery {
  return { startSeconds: 1_700_000_000, stepSeconds: 15, points: 8, labels: ['namespace', 'deployment'], wanted: new Map(names.map((n, i) => [`shop\u0000${n}`, i])), ...over };
}
const Q = query(['api', 'web', CAFE, 'missing']);

function parseChunks(chunks: readonly Uint8Array[], q: MatrixQuery): MatrixAnswer {
  const p = createMatrixParser(q);
  for (const c of chunks) p.write(c);
  return p.end();
}

/** The answer as plain values, for deepEqual (NaN compares equal to NaN there). */
function plain(a: MatrixAnswer): unknown {
  return { series: a.series.map((s) => (s ? [...s] : undefined)), duplicates: [...a.duplicates], seriesCount: a.seriesCount, unlabelled: a.unlabelled, offGrid: a.offGrid, warnings: a.warnings, bytes: a.bytes };
}

const throwsCode = (fn: () => unknown, code: ErrorCode, message: RegExp, what: string): void => {
  assert.throws(fn, (err: unknown) => hasCode(err, code) && message.test((err as Error).message), what);
};

test('a real Prometheus answer: each wanted series on the grid, NaN and +Inf as Prometheus wrote them, an escaped UTF-8 label, a series without the label counted', () => {
  const a = parseMatrix(GOLDEN, Q);
  assert.deepEqual([...(a.series[0] ?? [])], [10, 11, 11, 11, NaN, Infinity, 12, 13]);
  assert.deepEqual([...(a.series[1] ?? [])], [1, 2.5, 3, 0.1666666666666666, 5, 6, 7, 8]);
  assert.deepEqual([...(a.series[2] ?? [])], Array(8).fill(9));
  assert.equal(a.series[3], undefined, 'no series for shop/missing');
  assert.equal(a.seriesCount, 4);
  assert.equal(a.unlabelled, 1, 'sg_demand{namespace="shop"} has no deployment label');
  assert.equal(a.offGrid, 0);
  assert.equal(a.bytes, GOLDEN.length);
  assert.deepEqual(a.duplicates.size, 0);
});

test('the same answer whatever the chunks: split at every byte, and fed a byte at a time', () => {
  const whole = plain(parseMatrix(GOLDEN, Q));
  for (let s = 0; s <= GOLDEN.length; s++) assert.deepEqual(plain(parseChunks([GOLDEN.subarray(0, s), GOLDEN.subarray(s)], Q)), whole, `split at ${s}`);
  for (let s = 0; s + 7 <= GOLDEN.length; s += 3) assert.deepEqual(plain(parseChunks([GOLDEN.subarray(0, s), GOLDEN.subarray(s, s + 7), GOLDEN.subarray(s + 7)], Q)), whole, `split at ${s} and ${s + 7}`);
  assert.deepEqual(plain(parseChunks(Array.from(GOLDEN, (_, i) => GOLDEN.subarray(i, i + 1)), Q)), whole);
});

test('fractional timestamps (step 7.5: Prometheus writes 1700000007.500) land on their grid points', () => {
  const body = fixture('query-range-fractional-step.json');
  const q = query(['web'], { stepSeconds: 7.5, points: 5 });
  const whole = parseMatrix(body, q);
  assert.deepEqual([...(whole.series[0] ?? [])], [1, 1, 2.5, 2.5, 3]);
  for (let s = 0; s <= body.length; s++) assert.deepEqual(plain(parseChunks([body.subarray(0, s), body.subarray(s)], q)), plain(whole), `split at ${s}`);
});

test("Prometheus's own error answer is SG_PROMETHEUS_REQUEST_FAILED with its errorType and text", () => {
  throwsCode(() => parseMatrix(fixture('query-range-error.json'), Q), ErrorCode.PrometheusRequestFailed, /\(bad_data\): 1:14: parse error: unclosed left parenthesis/, 'error answer');
});

test('sample values: NaN, +Inf, -Inf and decimals as Go writes them; anything else is refused', () => {
  const rows: Array<[string, number | undefined]> = [
    ['NaN', NaN],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['Inf', Infinity],
    ['0', 0],
    ['12.5', 12.5],
    ['-3', -3],
    ['1e-07', 1e-7],
    ['1.5E+20', 1.5e20],
    ['0.1666666666666666', 0.1666666666666666],
    ['123456789012345678901', Number('123456789012345678901')],
    ['.5', 0.5],
    ['', undefined],
    [' 1', undefined],
    ['0x10', undefined],
    ['1,5', undefined],
    ['inf', undefined],
    ['Infinity', undefined],
    ['1.2.3', undefined],
  ];
  for (const [text, want] of rows) assert.deepEqual(parseSampleValue(text), want, JSON.stringify(text));
  // The same texts inside a body, through the fast path (one chunk) and the general one (a byte at a time).
  const good = rows.filter(([, v]) => v !== undefined);
  const body = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { namespace: 'shop', deployment: 'web' }, values: good.map(([t], k) => [1_700_000_000 + 15 * k, t]) }] } });
  const q = query(['web'], { points: good.length });
  const bytes = new TextEncoder().encode(body);
  for (const a of [parseMatrix(bytes, q), parseChunks(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)), q)]) {
    assert.deepEqual([...(a.series[0] ?? [])], good.map(([, v]) => v));
  }
  for (const [text, want] of rows) {
    if (want !== undefined) continue;
    const bad = body.replace('"NaN"', JSON.stringify(text));
    throwsCode(() => parseMatrix(bad, q), ErrorCode.PrometheusResponseInvalid, /a sample value .* that is not a number at byte \d+ \(data\.result\[0\]\.values\[0\]\)/, text);
  }
});

test('values before metric, keys in another order, unknown keys and nesting skipped, warnings kept', () => {
  const body = JSON.stringify({
    data: {
      result: [
        { histograms: [[1, { count: '1', buckets: [[0, '1', '2', '3']] }]], values: [[1_700_000_015, '4']], extra: { a: [1, true, null] }, metric: { deployment: 'web', namespace: 'shop', other: 'x' } },
        { metric: { namespace: 'shop', deployment: 'api' }, values: [[1_700_000_000, '1']] },
      ],
      resultType: 'matrix',
      stats: { timings: { evalTotalTime: 0.1 } },
    },
    warnings: ['PromQL warning: something'],
    infos: ['an info'],
    status: 'success',
  });
  const a = parseMatrix(body, Q);
  assert.deepEqual([...(a.series[1] ?? [])], [NaN, 4, NaN, NaN, NaN, NaN, NaN, NaN]);
  assert.deepEqual([...(a.series[0] ?? [])], [1, NaN, NaN, NaN, NaN, NaN, NaN, NaN]);
  assert.deepEqual(a.warnings, ['PromQL warning: something', 'an info']);
});

test('two series with the same labels mark the scaler a duplicate (no series); series missing a label are counted; off-grid samples dropped', () => {
  const s = (labels: Record<string, string>, values: Array<[number, string]>): unknown => ({ metric: labels, values });
  const body = JSON.stringify({
    status: 'success',
    data: {
      resultType: 'matrix',
      result: [
        s({ namespace: 'shop', deployment: 'api', pod: 'a' }, [[1_700_000_000, '1']]),
        s({ namespace: 'shop', deployment: 'api', pod: 'b' }, [[1_700_000_000, '2']]),
        s({ deployment: 'web' }, [[1_700_000_000, '3']]),
        s({ namespace: 'shop', deployment: 'web' }, [[1_700_000_007, '5'], [1_699_999_985, '6'], [1_700_000_120, '7'], [1_700_000_015, '8']]),
      ],
    },
  });
  const a = parseMatrix(body, Q);
  assert.equal(a.series[0], undefined);
  assert.deepEqual([...a.duplicates], [0]);
  assert.equal(a.unlabelled, 1);
  assert.equal(a.offGrid, 3);
  assert.deepEqual([...(a.series[1] ?? [])], [NaN, 8, NaN, NaN, NaN, NaN, NaN, NaN]);
});

test('every truncation of a real answer is refused as truncated, never read as a shorter answer', () => {
  throwsCode(() => parseMatrix(new Uint8Array(0), Q), ErrorCode.PrometheusResponseInvalid, /empty body at byte 0/, 'empty');
  for (let s = 1; s < GOLDEN.length; s++) {
    throwsCode(() => parseMatrix(GOLDEN.subarray(0, s), Q), ErrorCode.PrometheusResponseInvalid, new RegExp(`truncated: the body ended inside (the JSON|a string) at byte ${s}`), `prefix of ${s}`);
  }
  // Only whitespace may follow the end.
  const tail = `${new TextDecoder().decode(GOLDEN)} \n`;
  assert.equal(parseMatrix(tail, Q).seriesCount, 4);
});

test('malformed bodies: SG_PROMETHEUS_RESPONSE_INVALID naming what is wrong, the byte and the path', () => {
  const ok = (result: string): string => `{"status":"success","data":{"resultType":"matrix","result":${result}}}`;
  const web = (values: string): string => ok(`[{"metric":{"namespace":"shop","deployment":"web"},"values":${values}}]`);
  const rows: Array<[string, RegExp]> = [
    ['<html>502 Bad Gateway</html>', /expected a JSON object, got '<' at byte 0$/],
    ['[]', /expected a JSON object, got '\[' at byte 0/],
    [`${ok('[]')}x`, /unexpected 'x' after the end of the JSON at byte \d+/],
    [`${ok('[]')}{}`, /unexpected '\{' after the end of the JSON/],
    ['{"status":"success","data":{"resultType":"matrix","result":[]},}', /expected a key, got '\}' at byte 63/],
    ['{"status" "success"}', /expected ':', got '"' at byte 10/],
    ['{"status":"success" "data":1}', /expected ',' or '\}', got '"'/],
    ['{"status":"success","data":{"resultType":"matrix","result":[,]}}', /expected a value, got ',' at byte 60 \(data\.result\)/],
    ['{"status":"success","data":{"resultType":"vector","result":[]}}', /data\.resultType is "vector", expected "matrix"/],
    ['{"status":"success","data":{"resultType":"matrix"}}', /no data\.result/],
    ['{"data":{"resultType":"matrix","result":[]}}', /no "status"/],
    ['{"status":"success","data":[]}', /expected an object or null, got an array at byte 27$/],
    ['{"status":1,"data":{}}', /expected a string, got a number at byte 11$/],
    [ok('{}'), /expected an array, got an object at byte 59 \(data\)/],
    [ok('["x"]'), /expected an object, got a string at byte 62 \(data\.result\)/],
    [ok('[{"metric":[],"values":[]}]'), /expected an object, got an array at byte 70 \(data\.result\[0\]\)/],
    [ok('[{"metric":{"namespace":1},"values":[]}]'), /expected a string, got a number .*\(data\.result\[0\]\.metric\)/],
    [web('"x"'), /expected an array, got a string .*\(data\.result\[0\]\)/],
    [web('[1]'), /expected an array, got a number .*\(data\.result\[0\]\.values\)/],
    [web('[[1700000000,"1","2"]]'), /expected the end of the \[time, "value"\] pair, got a string .*\(data\.result\[0\]\.values\[0\]\)/],
    [web('[[1700000000]]'), /a sample of 1 element, expected \[time, "value"\] .*\(data\.result\[0\]\.values\[0\]\)/],
    [web('[[1700000000,1]]'), /expected a string, got a number .*values\[0\]/],
    [web('[["1700000000","1"]]'), /expected a number, got a string .*values\[0\]/],
    [web('[[1700000000,"1"],[1700000015,null]]'), /expected a string, got null .*values\[1\]/],
    [web('[[01,"1"]]'), /bad number "01"/],
    [web('[[1.,"1"]]'), /bad number "1\."/],
    [web('[[1700000000,"1\\x"]]'), /bad escape in a string: 'x'/],
    [web('[[1700000000,"1\\u12G4"]]'), /bad escape in a string: 'G'/],
    [web('[[1700000000,"1\n"]]'), /control byte 0x0a inside a string/],
    ['{"status":"success","x":tru}', /bad literal "tru"/],
    [`{"status":"success","x":${'['.repeat(70)}`, /nested deeper than 64/],
  ];
  for (const [body, message] of rows) throwsCode(() => parseMatrix(body, Q), ErrorCode.PrometheusResponseInvalid, message, body.slice(0, 80));
  // Bytes that are not UTF-8 inside a label value that is read.
  const latin1 = new Uint8Array([...new TextEncoder().encode(ok('[{"metric":{"namespace":"shop","deployment":"')), 0xff, ...new TextEncoder().encode('"},"values":[]}]}}')]);
  throwsCode(() => parseMatrix(latin1, Q), ErrorCode.PrometheusResponseInvalid, /a string that is not UTF-8 at byte \d+ \(data\.result\[0\]\.metric\)/, 'latin1');
  // An error status without JSON problems is Prometheus's refusal, not a malformed body.
  throwsCode(() => parseMatrix('{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation","data":null}', Q), ErrorCode.PrometheusRequestFailed, /\(timeout\): query timed out/, 'timeout');
});

test('the matched series are all that is allocated: series nobody asked for are not kept', () => {
  const a = parseMatrix(GOLDEN, query(['web']));
  assert.equal(a.series.length, 1);
  assert.deepEqual([...(a.series[0] ?? [])], [1, 2.5, 3, 0.1666666666666666, 5, 6, 7, 8]);
  const none = parseMatrix(GOLDEN, query([]));
  assert.deepEqual(none.series, []);
  assert.equal(none.seriesCount, 4);
  const err = ((): SurgeGuardError | undefined => {
    try {
      parseMatrix(GOLDEN, query(['web'], { stepSeconds: 0 }));
    } catch (e) {
      return e as SurgeGuardError;
    }
    return undefined;
  })();
  assert.equal(err?.code, ErrorCode.Internal);
});
