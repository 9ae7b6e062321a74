// Item 14 of issue 15: the contract's input rules (sum rows with a repeated timestamp, fill gaps and
// empty values) are counted, and a gap longer than --max-gap-intervals is refused instead of being
// filled with invented demand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SurgeGuardError } from '../../../common/errors.ts';
import { DEFAULT_MAX_GAP_INTERVALS, parseTrace, type TraceOptions } from '../../../replay/trace.ts';
import { readPrometheusTrace } from '../../../replay/prometheus-source.ts';
import { inputChangesText } from '../../../replay/summary-text.ts';
import { thrownError } from '../../helpers/thrown.ts';

const opts = (o: Partial<TraceOptions> = {}): TraceOptions => ({ file: 't.csv', timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous', ...o });


const rows = (n: number, from = 0, step = 60): string => Array.from({ length: n }, (_, i) => `${from + i * step},${i + 1}`).join('\n');

test('every rule that changed the data is counted: rows summed, gaps and their intervals, empty values, the longest gap', () => {
  const csv = 'timestamp,value\n0,1\n60,2\n60,5\n60,1\n120,3\n360,4\n420,\n480,\n540,6\n';
  const t = parseTrace(csv, opts());
  assert.deepEqual(t.demand, [1, 8, 3, 3, 3, 3, 4, 4, 4, 6]);
  assert.deepEqual(t.changes, { duplicateRowsSummed: 2, gapsFilled: 1, gapIntervalsFilled: 3, emptyValuesFilled: 2, longestGapIntervals: 3, emptyBuckets: 0, fill: 'previous' });
  assert.equal(inputChangesText(t.changes!), 'input: 2 rows with a repeated timestamp summed into the row before; 3 missing intervals in 1 gap filled with the previous value; 2 empty values filled with the previous value; longest gap 3 intervals');
});

test('a clean trace says so; per-request mode counts the empty buckets it reads as 0', () => {
  const clean = parseTrace(`timestamp,value\n${rows(5)}\n`, opts());
  assert.equal(inputChangesText(clean.changes!), 'input: no rows summed, no gaps or empty values filled');
  const perRequest = parseTrace('ts\n0\n1\n50\n', opts({ timeColumn: 'ts', bucketSeconds: 10 }));
  assert.deepEqual(perRequest.demand, [2, 0, 0, 0, 0, 1]);
  assert.equal(perRequest.changes?.emptyBuckets, 4);
});

test('a gap of 100,000 intervals is refused by default: coded error naming file, line, gap length and the flag', () => {
  const csv = `timestamp,value\n${rows(10)}\n${9 * 60 + 100_001 * 60},7\n`;
  const err = thrownError(() => parseTrace(csv, opts()));
  assert.equal(err.code, 'SG_INPUT_INVALID');
  assert.match(err.message, /^t\.csv:12: gap of 100000 intervals of 60s before this row \(no rows since 1970-01-01T00:09:00\.000Z\), longer than 288;/);
  assert.match(err.message, /pass --max-gap-intervals 100000 to fill it anyway/);
  assert.deepEqual({ ...err.details }, { file: 't.csv', line: 12, gapIntervals: 100_000, maxGapIntervals: DEFAULT_MAX_GAP_INTERVALS });
});

test('asked with maxGapIntervals, the same gap is filled, per the contract, and counted', () => {
  const csv = `timestamp,value\n${rows(10)}\n${9 * 60 + 100_001 * 60},7\n`;
  const t = parseTrace(csv, opts({ maxGapIntervals: 100_000 }));
  assert.equal(t.demand.length, 100_011);
  assert.equal(t.demand[50_000], 10);
  assert.equal(t.changes?.gapIntervalsFilled, 100_000);
  assert.equal(t.changes?.longestGapIntervals, 100_000);
});

test('the limit is inclusive, and a run of empty values is the same kind of gap: refused naming its first line', () => {
  const at = (gap: number): string => `timestamp,value\n${rows(10)}\n${9 * 60 + (gap + 1) * 60},7\n`;
  assert.equal(parseTrace(at(288), opts()).changes?.gapIntervalsFilled, 288);
  assert.match(thrownError(() => parseTrace(at(289), opts())).message, /^t\.csv:12: gap of 289 intervals/);
  const empties = `timestamp,value\n${rows(10)}\n${Array.from({ length: 6 }, (_, i) => `${(10 + i) * 60},`).join('\n')}\n${16 * 60},3\n`;
  assert.equal(parseTrace(empties, opts({ maxGapIntervals: 6 })).changes?.emptyValuesFilled, 6);
  const err = thrownError(() => parseTrace(empties, opts({ maxGapIntervals: 5 })));
  assert.match(err.message, /^t\.csv:12: a run of empty values \(no data\) longer than 5 intervals starts at this row;.*--max-gap-intervals/);
});

test('Prometheus: missing steps are counted, and a run longer than the limit is refused naming the query and where it starts', async () => {
  const step = 60;
  const now = 1_000_000 * step;
  const answer = (present: (i: number) => boolean) => async (): Promise<Response> => {
    const values: [number, string][] = [];
    for (let i = 0; i <= 500; i++) if (present(i)) values.push([now - (500 - i) * step, '1']);
    return new Response(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values }] } }));
  };
  const config = { url: 'http://prom:9090', query: 'sum(rate(x[1m]))', rangeSeconds: 500 * step, stepSeconds: step, unit: 'count' as const };
  const ok = await readPrometheusTrace({ fetch: answer((i) => i < 100 || i > 110) as typeof fetch, nowSeconds: () => now }, config);
  assert.deepEqual([ok.changes?.gapsFilled, ok.changes?.gapIntervalsFilled, ok.changes?.longestGapIntervals], [1, 11, 11]);
  await assert.rejects(readPrometheusTrace({ fetch: answer((i) => i < 100 || i > 400) as typeof fetch, nowSeconds: () => now }, config), (err: SurgeGuardError) => {
    assert.equal(err.code, 'SG_INPUT_INVALID');
    assert.match(err.message, /^http:\/\/prom:9090: query "sum\(rate\(x\[1m\]\)\)" has no samples for 301 steps of 60s from .*longer than --max-gap-intervals 288/);
    return true;
  });
});
