// Items 8, 12 and 14 of issue 15 as a user meets them in `surgeguard replay`: one coded line and a
// stated exit code for bad input, checked before the run where it can be; a huge value is capped and
// said so; what the input rules changed is counted in the summary and the JSON.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { runCli } from '../../helpers/cli-run.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/traces/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sg-replay-faults-'));

function replay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['replay', ...args], [replayCommand], dir);
}

/** `n` rows of 5-minute demand around 100, with `extra` rows appended. */
function trace(name: string, n: number, extra = ''): string {
  const rows = Array.from({ length: n }, (_, i) => `${1_424_990_000 + i * 300},${100 + ((i * 37) % 41)}`);
  const file = join(dir, name);
  writeFileSync(file, `timestamp,value\n${rows.join('\n')}\n${extra}`);
  return file;
}

test('one demand value of 1e12: a result, not "Invalid array length"; every fleet capped at --max-replicas, and the summary says so', async () => {
  const file = trace('huge.csv', 80);
  const text = readFileSync(file, 'utf8').replace(/^(\d+),\d+$/m, '$1,100').split('\n');
  text[40] = `${1_424_990_000 + 39 * 300},1e12`;
  writeFileSync(file, text.join('\n'));
  const out = join(dir, 'huge-out.csv');
  const r = await replay(['--trace', file, '--capacity', '10', '--startup-steps', '1', '--no-compare', '--cpu', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /RangeError|Invalid array length/);
  assert.match(r.stdout, /note: demand is high enough for --max-replicas 10000 to cap the starting fleet or the reactive baselines/);
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  assert.equal(meta.max_replicas_capped, true);
  const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((row) => row.split(','));
  for (const row of rows) assert.ok(Number(row[3]) <= 10_000 && Number(row[5]) <= 10_000, row.join(','));
});

test('the summary and the JSON count what each input rule changed: rows summed, gaps and empty values filled', async () => {
  const file = trace('changes.csv', 60, `${1_424_990_000 + 59 * 300},5\n${1_424_990_000 + 63 * 300},7\n${1_424_990_000 + 64 * 300},\n${1_424_990_000 + 65 * 300},9\n`);
  const out = join(dir, 'changes-out.csv');
  const r = await replay(['--trace', file, '--capacity', 'auto', '--startup-steps', '1', '--no-compare', '--cpu', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^input: 1 row with a repeated timestamp summed into the row before; 3 missing intervals in 1 gap filled with the previous value; 1 empty value filled with the previous value; longest gap 3 intervals$/m);
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { input_changes: Record<string, unknown>; max_replicas_capped: boolean };
  assert.deepEqual(meta.input_changes, { duplicate_rows_summed: 1, gaps_filled: 1, gap_intervals_filled: 3, empty_values_filled: 1, longest_gap_intervals: 3, empty_buckets: 0, fill: 'previous', max_gap_intervals: 288 });
  assert.equal(meta.max_replicas_capped, false);
});

test('a 100,000-interval gap is refused, one coded line naming file, line and length, exit 2; --max-gap-intervals lets a long gap through', async () => {
  const file = trace('gap.csv', 30, `${1_424_990_000 + (29 + 100_001) * 300},5\n`);
  const r = await replay(['--trace', file, '--capacity', '10', '--cpu']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^surgeguard replay: SG_INPUT_INVALID: ${file.replace(/[.]/g, '\\.')}:32: gap of 100000 intervals of 300s before this row .*pass --max-gap-intervals 100000 to fill it anyway, or cut the trace\\n$`));
  assert.equal(r.stdout, '');
  const longer = trace('gap300.csv', 30, `${1_424_990_000 + (29 + 301) * 300},5\n`);
  assert.equal((await replay(['--trace', longer, '--capacity', '10', '--cpu', '--no-compare'])).code, 2);
  const allowed = await replay(['--trace', longer, '--capacity', '10', '--cpu', '--no-compare', '--max-gap-intervals', '300']);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stdout, /replayed 331 intervals/);
  assert.match(allowed.stdout, /300 missing intervals in 1 gap filled with the previous value/);
});

test('--out into a missing directory fails before the run: one coded line, exit 2, nothing replayed', async () => {
  const started = Date.now();
  const missing = join(dir, 'no-such-dir', 'out.csv');
  const r = await replay(['--trace', fixture('Twitter_volume_AAPL_head1200.csv'), '--capacity', '20', '--cpu', '--out', missing]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `surgeguard replay: SG_USAGE_INVALID: --out ${missing}: the directory ${join(dir, 'no-such-dir')} does not exist (create it first); nothing was run\n`);
  assert.equal(r.stdout, '');
  assert.ok(Date.now() - started < 2000, 'checked before the replay, not after it');
  const report = await replay(['--trace', fixture('Twitter_volume_AAPL_head1200.csv'), '--capacity', '20', '--report', dir]);
  assert.equal(report.code, 2);
  assert.match(report.stderr, /^surgeguard replay: SG_USAGE_INVALID: --report .*: .* is a directory; nothing was run\n$/);
});

test('a bad --prometheus-url is a usage error (exit 2) before any request, not a bare TypeError', async () => {
  for (const url of ['not a url', 'ftp://prometheus:9090']) {
    const r = await replay(['--prometheus-url', url, '--query', 'sum(rate(x[1m]))', '--capacity', '1']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^surgeguard replay: SG_USAGE_INVALID: --prometheus-url must be an http\(s\) URL such as http:\/\/prometheus:9090, got "/);
  }
});

test('bad limit flags name themselves; the help lists the limits and the exit codes', async () => {
  assert.match((await replay(['--max-trace-mib', '0', '--capacity', '1'])).stderr, /SG_USAGE_INVALID: --max-trace-mib must be a positive number of MiB, got "0"/);
  assert.match((await replay(['--max-gap-intervals=-1', '--capacity', '1'])).stderr, /SG_USAGE_INVALID: --max-gap-intervals must be a whole number of intervals >= 0, got "-1"/);
  const help = (await replay(['--help'])).stdout;
  assert.match(help, /--max-trace-mib N/);
  assert.match(help, /--max-gap-intervals N/);
  assert.match(help, /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 +bad usage, configuration or input/);
});
