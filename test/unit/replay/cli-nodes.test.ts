import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { runCli } from '../../helpers/cli-run.ts';

const fixture = fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sg-replay-nodes-'));

function replay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['replay', ...args], [replayCommand], dir);
}

test('replay --node-lead-time: the summary and the JSON show Pending time, unserved demand and GPU-node-hours without and with placeholders', async () => {
  const out = join(dir, 'nodes.csv');
  const r = await replay(['--trace', fixture, '--capacity', '20', '--startup-steps', '1', '--no-compare', '--cpu', '--node-lead-time', '10m', '--gpus-per-node', '4', '--placeholder-cap-gpus', '8', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /on GPU nodes: new nodes Ready 2 interval\(s\) after their request; 0 GPUs free at the start; 4 per node, 1 per replica/);
  assert.match(r.stdout, /autoscaler alone\s+\d\.\d{6}\s+\d+\s+\d+\s+\d+\s+\d+\.\d{2}/);
  assert.match(r.stdout, /with placeholders\s+\d\.\d{6}\s+\d+\s+\d+\s+\d+\s+\d+\.\d{2}/);
  const nodes = JSON.parse(readFileSync(`${out}.json`, 'utf8')).nodes;
  assert.equal(nodes.node_lead_steps, 2);
  assert.equal(nodes.placeholder_cap_gpus, 8);
  for (const k of ['without_placeholders', 'with_placeholders']) {
    for (const f of ['pending_pod_intervals', 'mean_pending_seconds', 'p95_pending_seconds', 'unserved_fraction', 'gpu_node_hours']) assert.equal(typeof nodes[k][f], 'number', `${k}.${f}`);
  }
  // The contract's figures are unchanged by the node model: same targets, same output rows.
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1201);
});

test('replay: node flags without --node-lead-time, or a bad one, are usage errors naming the flag', async () => {
  const a = await replay(['--trace', fixture, '--capacity', '20', '--gpus-free', '4']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--gpus-free needs --node-lead-time/);
  const b = await replay(['--trace', fixture, '--capacity', '20', '--node-lead-time', 'soon']);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--node-lead-time must be a duration above 0 such as 5m, got "soon"/);
  const c = await replay(['--trace', fixture, '--capacity', '20', '--node-lead-time', '5m', '--gpus-per-node', '1', '--gpu-per-replica', '2']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--gpus-per-node must be an integer >= --gpu-per-replica \(2\)/);
});
