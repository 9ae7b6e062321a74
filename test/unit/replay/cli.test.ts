import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { runCli } from '../../helpers/cli-run.ts';
import { bestAtCost, frontier, reactivePoints } from '../../../replay/baselines.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/traces/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sg-replay-cli-'));

function replay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['replay', ...args], [replayCommand], dir);
}

test('replay of a real trace: summary, output file with the contract columns, JSON beside it, offline report', async () => {
  const out = join(dir, 'aapl.csv');
  const html = join(dir, 'aapl.html');
  const r = await replay(['--trace', fixture('Twitter_volume_AAPL_head1200.csv'), '--capacity', '20', '--startup-steps', '1', '--out', out, '--report', html, '--no-compare', '--cpu']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /replayed 1200 intervals/);
  assert.match(r.stdout, /surgeguard\s+\d+\.\d{3}\s+\d+\.\d{3}x/);
  assert.match(r.stdout, /default HPA/);
  const rows = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(rows[0]?.split(',').slice(0, 6).join(','), 'timestamp,demand,forecast,target_replicas,ready_replicas,existing_replicas');
  assert.equal(rows.length, 1201);
  assert.match(rows[1] ?? '', /^2015-02-26T21:42:53Z,104,/);
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  for (const key of ['capacity', 'startup_steps', 'interval_seconds', 'min_replicas', 'max_replicas', 'policy', 'model_version']) assert.ok(key in meta, key);
  assert.equal(meta.interval_seconds, 300);
  assert.equal(meta.frontier_version, 2);
  const page = readFileSync(html, 'utf8');
  // Offline: uPlot is inlined and nothing is loaded from elsewhere (no src or href attributes).
  assert.match(page, /var uPlot=function/);
  assert.match(page, /<table id="comparison">/);
  assert.doesNotMatch(page, /\s(src|href)=/);
  // The best reactive rule at no more than SurgeGuard's cost: the frontier of the output's demand, at the JSON's cost.
  const summary = meta.summary as { cost: number; best_reactive_rule: { name: string; cost: number; unserved: number } | null };
  const demand = rows.slice(1).map((row) => Number(row.split(',')[1]));
  const front = frontier(reactivePoints(demand, { capacity: 20, startupSteps: 1, minReplicas: 1, maxReplicas: meta.max_replicas as number }, 300));
  const rule = bestAtCost(front, summary.cost);
  assert.ok(rule && rule.cost <= summary.cost);
  assert.deepEqual(summary.best_reactive_rule, { name: rule.name, cost: rule.cost, unserved: rule.unserved });
  assert.ok(page.includes(`<span class="rule">${rule.name}</span>`), 'the report names the rule');
});

test('replay accepts a ServeGen trace with empty cells: carried, warned with the line, demand column filled', async () => {
  const out = join(dir, 'servegen.csv');
  const r = await replay(['--trace', fixture('servegen_m-mid_client-73_rows511-540.csv'), '--capacity', 'auto', '--startup-steps', '1', '--out', out, '--no-compare', '--cpu']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*servegen_m-mid_client-73_rows511-540\.csv:14: 11 empty values \(no data\) from this row on, filled with the previous value/);
  const demand = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((row) => Number(row.split(',')[1]));
  assert.deepEqual(demand.slice(11, 24), [...new Array<number>(12).fill(42711), 2362]);
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  assert.equal(meta.frontier_version, 2);
  assert.equal(meta.interval_seconds, 600);
});

test('bad input: one line naming file and line, exit code 2, no stack trace', async () => {
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'timestamp,value\n2015-01-01 00:00:00,1\n2015-01-01 00:05:00,2\n2015-01-01 00:01:00,3\n');
  const r = await replay(['--trace', bad, '--capacity', '1']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `surgeguard replay: SG_INPUT_INVALID: ${bad}:4: row is earlier than the row before it (line 3); rows must be in time order\n`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('missing --capacity and unknown options are usage errors (exit 2)', async () => {
  const r = await replay(['--trace', fixture('Twitter_volume_AAPL_head1200.csv')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--capacity is required/);
  assert.equal((await replay(['--capacityy', '3'])).code, 2);
});

test('per-request mode with --backlog reports the queue', async () => {
  const out = join(dir, 'az.csv');
  const r = await replay(['--trace', fixture('AzureLLMInferenceTrace_code_head1500.csv'), '--per-request', '--bucket', '15s', '--time-column', 'TIMESTAMP', '--capacity', '4', '--startup-seconds', '120', '--backlog', '--out', out, '--cpu']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /backlog: max \d+/);
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  assert.equal(meta.startup_steps, 8);
  assert.equal(meta.interval_seconds, 15);
  assert.equal(meta.backlog, true);
  assert.ok(!('frontier_version' in meta), 'a backlog run is not compared with the frontier');
});

test('per-request mode in tokens: --weight-columns sums the columns per bucket, and the summary and JSON say the unit', async () => {
  const out = join(dir, 'az-tokens.csv');
  const args = ['--trace', fixture('AzureLLMInferenceTrace_code_head1500.csv'), '--per-request', '--bucket', '15s', '--time-column', 'TIMESTAMP', '--capacity', 'auto', '--startup-seconds', '120', '--no-compare', '--cpu'];
  const r = await replay([...args, '--weight-columns', 'ContextTokens,GeneratedTokens', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const [, total] = /replayed \d+ intervals, (\d+) weighted ContextTokens,GeneratedTokens;/.exec(r.stdout) ?? [];
  const rows = readFileSync(fixture('AzureLLMInferenceTrace_code_head1500.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  assert.equal(Number(total), rows.reduce((a, c) => a + Number(c[1]) + Number(c[2]), 0));
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  assert.equal(meta.demand_unit, 'weighted ContextTokens,GeneratedTokens');
  const requests = await replay(args);
  assert.match(requests.stdout, /replayed \d+ intervals, 1500 requests;/);
  const bad = await replay(['--trace', fixture('Twitter_volume_AAPL_head1200.csv'), '--capacity', '20', '--weight-columns', 'value']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--weight-columns needs --per-request/);
  const malformed = await replay([...args, '--weight-columns', 'ContextTokens*-1']);
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /--weight-columns must be column names/);
});

test('--forecaster: Holt-Winters sizes the fleet by default and the model is compared; --forecaster model swaps them; a bad name is a usage error', async () => {
  const trace = fixture('Twitter_volume_AAPL_head1200.csv');
  const def = await replay(['--trace', trace, '--capacity', '20', '--startup-steps', '1', '--cpu']);
  assert.equal(def.code, 0, def.stderr);
  assert.match(def.stdout, /forecaster holt-winters\(/);
  assert.match(def.stdout, /forecasts by: holt-winters 1200;/);
  assert.match(def.stdout, /model \(onnx\)\s+\d+\.\d{3}/);
  const model = await replay(['--trace', trace, '--capacity', '20', '--startup-steps', '1', '--cpu', '--forecaster', 'model']);
  assert.equal(model.code, 0, model.stderr);
  assert.match(model.stdout, /forecasts by: .*onnx \d+/);
  assert.match(model.stdout, /holt-winters only\s+\d+\.\d{3}/);
  const bad = await replay(['--trace', trace, '--capacity', '20', '--forecaster', 'prophet']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /SG_USAGE_INVALID: --forecaster must be one of holt-winters, model, got "prophet"/);
});

test('--actuator hpa: the decisions reach the fleet through the HPA\'s rules, the JSON says so; bad actuator flags are refused by name', async () => {
  const base = ['--trace', fixture('Twitter_volume_AAPL_head1200.csv'), '--capacity', '20', '--startup-steps', '1', '--no-compare', '--cpu'];
  const out = join(dir, 'hpa.csv');
  const direct = join(dir, 'direct.csv');
  const h = await replay([...base, '--actuator', 'hpa', '--hpa-scale-down-window', '300', '--out', out]);
  assert.equal(h.code, 0, h.stderr);
  const d = await replay([...base, '--out', direct]);
  assert.equal(d.code, 0, d.stderr);
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { actuator: string; hpa: { tolerance: number; scale_down_window_seconds: number } };
  assert.equal(meta.actuator, 'hpa');
  assert.deepEqual(meta.hpa, { tolerance: 0.1, scale_down_window_seconds: 300, sync_seconds: 15 });
  // The HPA's 300 s window keeps pods the policy would drop: the targets differ from the direct run's.
  assert.notEqual(readFileSync(out, 'utf8'), readFileSync(direct, 'utf8'));
  for (const [args, msg] of [
    [['--actuator', 'keda'], /--actuator must be direct or hpa, got "keda"/],
    [['--hpa-tolerance', '0.2'], /--hpa-tolerance and --hpa-scale-down-window need --actuator hpa/],
    [['--actuator', 'hpa', '--hpa-tolerance', '1.5'], /--hpa-tolerance must be a number in \[0, 1\), got "1.5"/],
  ] as const) {
    const r = await replay([...base, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, msg);
  }
});
