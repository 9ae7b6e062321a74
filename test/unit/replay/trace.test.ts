import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseTrace, parseWeights, type TraceOptions } from '../../../replay/trace.ts';
import { parseTimestamp } from '../../../replay/timestamp.ts';
import { thrownError } from '../../helpers/thrown.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/traces/${name}`, import.meta.url));
const opts = (o: Partial<TraceOptions> = {}): TraceOptions => ({ file: 't.csv', timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous', ...o });


const cases: { name: string; csv: string; o?: Partial<TraceOptions>; demand?: number[]; interval?: number; warn?: RegExp; warnings?: RegExp[]; error?: RegExp }[] = [
  { name: 'plain rows', csv: 'timestamp,value\n2015-02-26 21:40:00,1\n2015-02-26 21:45:00,2\n2015-02-26 21:50:00,3\n', demand: [1, 2, 3], interval: 300 },
  { name: 'duplicate timestamps are summed', csv: 'timestamp,value\n0,1\n60,2\n60,5\n120,3\n', demand: [1, 7, 3], interval: 60 },
  { name: 'a gap is filled with the previous value and warned with its line', csv: 'timestamp,value\n0,4\n60,5\n240,9\n300,1\n', demand: [4, 5, 5, 5, 9, 1], warn: /^t\.csv:4: gap of 2 intervals/ },
  { name: '--fill zero', csv: 'timestamp,value\n0,4\n60,5\n240,9\n300,1\n', o: { fill: 'zero' }, demand: [4, 5, 0, 0, 9, 1] },
  { name: 'row out of order names file and line', csv: 'timestamp,value\n0,1\n60,1\n30,1\n', error: /^t\.csv:4: row is earlier than the row before it \(line 3\)/ },
  { name: 'quoted header and values', csv: '"ds","y"\n"2007-12-10","10"\n"2007-12-11","11"\n', o: { timeColumn: 'ds', valueColumn: 'y' }, demand: [10, 11], interval: 86400 },
  { name: 'missing column lists the header', csv: 'time,value\n0,1\n', error: /^t\.csv:1: no column "timestamp" \(--time-column\); the header has: "time", "value"/ },
  { name: 'a bad value names its line', csv: 'timestamp,value\n0,1\n60,abc\n', error: /^t\.csv:3: value "abc" is not a non-negative number/ },
  { name: 'a bad timestamp names its line', csv: 'timestamp,value\n0,1\nyesterday,1\n', error: /^t\.csv:3: cannot read timestamp "yesterday"/ },
  { name: 'blank lines keep line numbers', csv: 'timestamp,value\n\n0,1\n\n60,2\n30,1\n', error: /^t\.csv:6:/ },
  { name: 'CRLF line ends', csv: 'timestamp,value\r\n0,1\r\n60,2\r\n', demand: [1, 2] },
  { name: 'empty file', csv: '', error: /^t\.csv:1: the file is empty/ },
  // An empty value cell is a gap (no data recorded), read as the reference scorer's read_values reads it.
  { name: 'empty value in the first row: 0 (nothing to carry)', csv: 'timestamp,value\n0,\n60,5\n120,6\n', demand: [0, 5, 6], interval: 60, warn: /^t\.csv:2: 1 empty value \(no data\) from this row on, filled with the previous value$/ },
  { name: 'a run of empty values carries the previous value, one warning naming its first line', csv: 'timestamp,value\n0,4\n60,\n120,\n180,7\n', demand: [4, 4, 4, 7], warn: /^t\.csv:3: 2 empty values \(no data\) from this row on, filled with the previous value$/ },
  { name: 'empty values with --fill zero', csv: 'timestamp,value\n0,4\n60,\n120,\n180,7\n', o: { fill: 'zero' }, demand: [4, 0, 0, 7], warn: /^t\.csv:3: 2 empty values \(no data\) from this row on, filled with 0$/ },
  { name: 'empty values at the end of the file', csv: 'timestamp,value\n0,4\n60,5\n120,\n', demand: [4, 5, 5], warn: /^t\.csv:4: 1 empty value/ },
  { name: 'quoted empty value and a row that ends before the value column', csv: 'timestamp,value\n0,3\n60,""\n120\n180,1\n', demand: [3, 3, 3, 1], warn: /^t\.csv:3: 2 empty values/ },
  { name: 'an empty value and a value at the same timestamp: the value', csv: 'timestamp,value\n0,4\n60,\n60,3\n120,1\n', demand: [4, 3, 1], warnings: [] },
  {
    name: 'two runs of empty values and a missing-row gap: warnings in file order',
    csv: 'timestamp,value\n0,1\n60,\n120,2\n300,\n360,3\n',
    demand: [1, 1, 2, 2, 2, 2, 3],
    warnings: [/^t\.csv:3: 1 empty value/, /^t\.csv:5: gap of 2 intervals before this row/, /^t\.csv:5: 1 empty value/],
  },
  { name: 'a negative value is still rejected with its line', csv: 'timestamp,value\n0,1\n60,\n120,-3\n', error: /^t\.csv:4: value "-3" is not a non-negative number/ },
  { name: 'a non-numeric value after empty ones is still rejected with its line', csv: 'timestamp,value\n0,\n60,\n120,n/a\n', error: /^t\.csv:4: value "n\/a" is not a non-negative number/ },
  { name: 'per-request: buckets from the first timestamp, empty buckets are 0', csv: 'TIMESTAMP,x\n2023-11-16 18:17:03.5,1\n2023-11-16 18:17:04,1\n2023-11-16 18:17:40,1\n', o: { timeColumn: 'TIMESTAMP', bucketSeconds: 15 }, demand: [2, 0, 1], interval: 15 },
];

for (const c of cases) {
  test(`parseTrace: ${c.name}`, () => {
    if (c.error) {
      const err = thrownError(() => parseTrace(c.csv, opts(c.o)));
      assert.equal(err.code, 'SG_INPUT_INVALID');
      assert.match(err.message, c.error);
      return;
    }
    const t = parseTrace(c.csv, opts(c.o));
    if (c.demand) assert.deepEqual(t.demand, c.demand);
    if (c.interval) assert.equal(t.intervalSeconds, c.interval);
    if (c.warn) {
      assert.equal(t.warnings.length, 1, t.warnings.join('\n'));
      assert.match(t.warnings[0] ?? '', c.warn);
    }
    if (c.warnings) {
      assert.equal(t.warnings.length, c.warnings.length, t.warnings.join('\n'));
      c.warnings.forEach((re, i) => assert.match(t.warnings[i] ?? '', re));
    }
  });
}

test('timestamps without a zone are UTC; zones and epoch seconds are honoured', () => {
  assert.equal(parseTimestamp('2015-02-26 21:42:53'), Date.UTC(2015, 1, 26, 21, 42, 53) / 1000);
  assert.equal(parseTimestamp('2015-02-26T21:42:53Z'), Date.UTC(2015, 1, 26, 21, 42, 53) / 1000);
  assert.equal(parseTimestamp('2015-02-26T21:42:53+01:00'), Date.UTC(2015, 1, 26, 20, 42, 53) / 1000);
  assert.equal(parseTimestamp('2015-02-26'), Date.UTC(2015, 1, 26) / 1000);
  assert.equal(parseTimestamp('1424986973'), 1424986973);
  assert.ok(Math.abs((parseTimestamp('2023-11-16 18:17:03.9799600') ?? 0) - (Date.UTC(2023, 10, 16, 18, 17, 3) / 1000 + 0.97996)) < 1e-6);
  assert.equal(parseTimestamp('2015-02-30 00:00:00'), undefined);
});

test('real NAB rows: 5-minute interval, no gaps', () => {
  const t = parseTrace(readFileSync(fixture('Twitter_volume_AAPL_head1200.csv'), 'utf8'), opts({ file: 'aapl.csv' }));
  assert.equal(t.intervalSeconds, 300);
  assert.equal(t.demand.length, 1200);
  assert.equal(t.demand[0], 104);
});

test('real daily page views: quoted header, gaps filled and warned with their lines', () => {
  const t = parseTrace(readFileSync(fixture('prophet_example_wp_peyton_manning_head400.csv'), 'utf8'), opts({ file: 'wp.csv', timeColumn: 'ds', valueColumn: 'y' }));
  assert.equal(t.intervalSeconds, 86400);
  // 2008-01-30 -> 2008-02-01 misses one day, on file line 53.
  assert.match(t.warnings[0] ?? '', /^wp\.csv:\d+: gap of 1 interval before this row/);
  const days = (t.timestamps[t.timestamps.length - 1]! - t.timestamps[0]!) / 86400 + 1;
  assert.equal(t.demand.length, days);
});

test('real ServeGen rows with a collection gap: empty cells carry the last value, one warning', () => {
  // Data rows 511-540 of m-mid client-73: 12 windows, 11 empty ones (file lines 14-24), then 7 more.
  const t = parseTrace(readFileSync(fixture('servegen_m-mid_client-73_rows511-540.csv'), 'utf8'), opts({ file: 'sg.csv' }));
  assert.equal(t.intervalSeconds, 600);
  assert.equal(t.demand.length, 30);
  assert.deepEqual(t.demand.slice(11, 24), [...new Array<number>(12).fill(42711), 2362]);
  assert.deepEqual(t.warnings, ['sg.csv:14: 11 empty values (no data) from this row on, filled with the previous value']);
  const zero = parseTrace(readFileSync(fixture('servegen_m-mid_client-73_rows511-540.csv'), 'utf8'), opts({ file: 'sg.csv', fill: 'zero' }));
  assert.deepEqual(zero.demand.slice(11, 24), [42711, ...new Array<number>(11).fill(0), 2362]);
});

test('real per-request rows: 15 s buckets sum to the row count', () => {
  const text = readFileSync(fixture('AzureLLMInferenceTrace_code_head1500.csv'), 'utf8');
  const t = parseTrace(text, opts({ file: 'az.csv', timeColumn: 'TIMESTAMP', bucketSeconds: 15 }));
  assert.equal(t.intervalSeconds, 15);
  assert.equal(t.demand.reduce((a, b) => a + b, 0), 1500);
});

test('per-request weights: each request adds the weighted sum of its columns to its bucket', () => {
  const csv = 'TIMESTAMP,ContextTokens,GeneratedTokens\n0,100,10\n5,50,20\n20,0,0\n47,1000,1\n';
  const w = parseWeights('ContextTokens,GeneratedTokens');
  const t = parseTrace(csv, opts({ timeColumn: 'TIMESTAMP', bucketSeconds: 15, weights: w }));
  assert.deepEqual(t.demand, [180, 0, 0, 1001]);
  const decode = parseTrace(csv, opts({ timeColumn: 'TIMESTAMP', bucketSeconds: 15, weights: parseWeights('ContextTokens*0.1, GeneratedTokens') }));
  assert.deepEqual(decode.demand.map((x) => Math.round(x * 1e6) / 1e6), [45, 0, 0, 101]);
  assert.equal(t.changes?.emptyBuckets, 2, 'a bucket whose requests weigh 0 counts as empty too');
});

test('per-request weights on real rows: the buckets sum to the columns\' total', () => {
  const text = readFileSync(fixture('AzureLLMInferenceTrace_code_head1500.csv'), 'utf8');
  const rows = text.trim().split('\n').slice(1).map((l) => l.split(','));
  const total = rows.reduce((a, r) => a + Number(r[1]) + Number(r[2]), 0);
  const t = parseTrace(text, opts({ file: 'az.csv', timeColumn: 'TIMESTAMP', bucketSeconds: 15, weights: parseWeights('ContextTokens,GeneratedTokens') }));
  assert.equal(t.demand.reduce((a, b) => a + b, 0), total);
  assert.ok(total > 1500 * 100, 'tokens, not requests');
});

for (const [name, csv, w, error] of [
  ['a weight cell that is not a number', 'T,ContextTokens,GeneratedTokens\n0,100,10\n5,lots,20\n', 'ContextTokens,GeneratedTokens', /^t\.csv:3: ContextTokens "lots" is not a non-negative number \(--weight-columns\)/],
  ['an empty weight cell', 'T,ContextTokens,GeneratedTokens\n0,100,\n', 'ContextTokens,GeneratedTokens', /^t\.csv:2: GeneratedTokens "" is not a non-negative number/],
  ['a negative weight cell', 'T,ContextTokens\n0,-4\n', 'ContextTokens', /^t\.csv:2: ContextTokens "-4"/],
  ['a missing weight column', 'T,ContextTokens\n0,4\n', 'ContextTokens,Tokens', /^t\.csv:1: no column "Tokens" \(--weight-columns\); the header has: "T", "ContextTokens"/],
] as const) {
  test(`per-request weights: ${name} is an error naming file and line`, () => {
    const err = thrownError(() => parseTrace(csv, opts({ timeColumn: 'T', bucketSeconds: 15, weights: parseWeights(w) })));
    assert.match(err.message, error);
  });
}

test('--weight-columns lists: names with optional factors; anything else is refused', () => {
  assert.deepEqual(parseWeights('A'), [{ column: 'A', factor: 1 }]);
  assert.deepEqual(parseWeights('Context Tokens*0.25,B*2'), [{ column: 'Context Tokens', factor: 0.25 }, { column: 'B', factor: 2 }]);
  for (const bad of ['', 'A,', 'A*0', 'A*-1', 'A*x', '*2', 'A**2']) assert.equal(parseWeights(bad), undefined, bad);
});

test('the same results under TZ=America/New_York as under UTC', () => {
  const script = `
    import { readFileSync } from 'node:fs';
    import { parseTrace } from ${JSON.stringify(fileURLToPath(new URL('../../../replay/trace.ts', import.meta.url)))};
    const out = [];
    for (const [f, o] of [['Twitter_volume_AAPL_head1200.csv', {}], ['prophet_example_wp_peyton_manning_head400.csv', { timeColumn: 'ds', valueColumn: 'y' }], ['AzureLLMInferenceTrace_code_head1500.csv', { timeColumn: 'TIMESTAMP', bucketSeconds: 15 }]]) {
      const p = ${JSON.stringify(fileURLToPath(new URL('../../fixtures/traces/', import.meta.url)))} + f;
      out.push(parseTrace(readFileSync(p, 'utf8'), { file: f, timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous', ...o }));
    }
    process.stdout.write(JSON.stringify(out));`;
  const run = (tz: string): string => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const utc = run('UTC');
  assert.equal(run('America/New_York'), utc);
  assert.ok(utc.length > 1000);
});
