// Item 8 of issue 15: a trace too large for memory is refused with a coded error before it is read
// (not a V8 heap crash, exit 134), and one huge demand value is capped at max replicas everywhere
// (not "Invalid array length" from a fleet that ignored --max-replicas).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SurgeGuardError } from '../../../common/errors.ts';
import { hpaTargets, mayCapBaselines, peakHoldTargets, reactivePoints } from '../../../replay/baselines.ts';
import { simulateFleet, startFleet, type FleetParams } from '../../../replay/fleet.ts';
import { DEFAULT_MAX_TRACE_MIB, readTraceFile } from '../../../replay/trace-file.ts';
import { parseTrace } from '../../../replay/trace.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-replay-mem-'));
const cli = fileURLToPath(new URL('../../../cli/surgeguard.ts', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/traces/${name}`, import.meta.url));
const MIB = 1024 * 1024;

/** A file of `mib` MiB that takes no disk space (sparse), so the test is cheap however large it is. */
function sparseFile(name: string, mib: number): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  closeSync(fd);
  spawnSync('truncate', ['-s', `${mib}M`, path]);
  return path;
}

test('a trace above --max-trace-mib (default 256) is refused before it is read, under a 48 MiB heap: coded error, exit 2', () => {
  const big = sparseFile('big.csv', DEFAULT_MAX_TRACE_MIB + 44);
  const r = spawnSync(process.execPath, ['--max-old-space-size=48', cli, 'replay', '--trace', big, '--capacity', '1'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr.slice(0, 400)}`);
  assert.equal(
    r.stderr,
    `surgeguard replay: SG_INPUT_INVALID: ${big}: the trace is 300.0 MiB, above the limit of 256.0 MiB (--max-trace-mib, default 256); replay holds every interval in memory, so cut the trace, use a larger --bucket, or pass --max-trace-mib 300 with the memory for it\n`,
  );
});

test('a pipe is counted as it is read and refused past the limit, under a 48 MiB heap', () => {
  // 12 MiB of rows through a pipe with a 4 MiB limit: refused after about 4 MiB, whatever the pipe still holds.
  const script = `{ echo timestamp,value; yes 1424990000,12345; } | head -c ${12 * MIB} | "$0" --max-old-space-size=48 "$1" replay --trace /dev/stdin --capacity 1 --max-trace-mib 4`;
  const r = spawnSync('bash', ['-c', script, process.execPath, cli], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr.slice(0, 400));
  assert.match(r.stderr, /^surgeguard replay: SG_INPUT_INVALID: \/dev\/stdin: the trace is more than 4\.\d MiB, above the limit of 4\.0 MiB \(--max-trace-mib, default 256\).*--max-trace-mib N/);
  assert.equal(r.stderr.split('\n').length, 2, 'one line');
});

test('the streamed reader gives exactly what parseTrace gives on the real fixtures, and names a directory as unreadable', async () => {
  for (const [name, o] of [
    ['Twitter_volume_AAPL_head1200.csv', {}],
    ['servegen_m-mid_client-73_rows511-540.csv', {}],
    ['prophet_example_wp_peyton_manning_head400.csv', { timeColumn: 'ds', valueColumn: 'y' }],
    ['AzureLLMInferenceTrace_code_head1500.csv', { timeColumn: 'TIMESTAMP', bucketSeconds: 15 }],
  ] as const) {
    const file = fixture(name);
    const opts = { file, timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous' as const, ...o };
    const { readFileSync } = await import('node:fs');
    assert.deepEqual(await readTraceFile({ ...opts, maxBytes: 8 * MIB }), parseTrace(readFileSync(file, 'utf8'), opts), name);
  }
  const crlf = join(dir, 'crlf.csv');
  writeFileSync(crlf, 'timestamp,value\r\n0,1\r\n60,2\r\n\r\n120,3');
  assert.deepEqual((await readTraceFile({ file: crlf, timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous', maxBytes: MIB })).demand, [1, 2, 3]);
  await assert.rejects(readTraceFile({ file: dir, timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous', maxBytes: MIB }), (err: SurgeGuardError) => {
    assert.equal(err.code, 'SG_INPUT_INVALID');
    assert.equal(err.message, `${dir}: cannot read the trace: it is a directory`);
    return true;
  });
});

const P: FleetParams = { capacity: 10, startupSteps: 1, minReplicas: 1, maxReplicas: 10_000 };

test('one demand value of 1e12: every fleet and baseline is capped at max replicas, in bounded memory', () => {
  const demand = [50, 60, 55, 1e12, 58, 52, 61, 57];
  for (const targets of [hpaTargets(demand, P, 300), peakHoldTargets(demand, P, 2, 3)]) assert.ok(Math.max(...targets) <= 10_000, String(targets));
  assert.equal(Math.max(...hpaTargets(demand, P, 300)), 10_000);
  const points = reactivePoints(demand, P, 300);
  assert.equal(points.length, 404);
  for (const pt of points) assert.ok(pt.cost <= 10_000 * demand.length, pt.name);
  assert.equal(startFleet([1e12, 1], P), 10_000);
  assert.equal(mayCapBaselines(demand, P), true);
  assert.equal(mayCapBaselines([50, 60, 55], P), false, 'a cap that never binds changes no figure');
});

test('the fleet holds 1e11 pods as one number, not an array of 1e11 (no "Invalid array length")', () => {
  const sim = simulateFleet([1e12, 1e12, 0], [1e11, 1e11, 1], { capacity: 10, startupSteps: 0, minReplicas: 1 });
  assert.deepEqual(sim.existing, [1e11, 1e11, 1e11]);
  assert.deepEqual(sim.ready, [1e11, 1e11, 1e11]);
  assert.equal(sim.unserved, 0);
});

/** The contract's fleet, one array entry per pod, as the reference scorer simulates it. */
function naiveFleet(demand: number[], targets: number[], p: FleetParams): { ready: number[]; existing: number[]; unserved: number } {
  const pods = new Array<number>(startFleet(demand, p)).fill(0);
  const ready: number[] = [];
  const existing: number[] = [];
  let unserved = 0;
  demand.forEach((d, s) => {
    const r = pods.filter((x) => x <= s).length;
    ready.push(r);
    existing.push(pods.length);
    unserved += Math.max(0, d - p.capacity * r);
    const t = targets[s] as number;
    while (pods.length < t) pods.push(s + 1 + p.startupSteps);
    pods.length = t;
  });
  return { ready, existing, unserved };
}

test('the grouped fleet equals the one-entry-per-pod fleet of the contract on random targets', () => {
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let trial = 0; trial < 300; trial++) {
    const p: FleetParams = { capacity: 1 + rand(5), startupSteps: rand(4), minReplicas: rand(2) };
    const n = 1 + rand(40);
    const demand = Array.from({ length: n }, () => rand(60));
    const targets = Array.from({ length: n }, () => rand(15));
    const got = simulateFleet(demand, targets, p);
    assert.deepEqual({ ready: got.ready, existing: got.existing, unserved: got.unserved }, naiveFleet(demand, targets, p), `trial ${trial}`);
  }
});
