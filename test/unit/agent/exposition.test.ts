import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Agent } from '../../../agent/agent.ts';
import { textToOpenMetrics } from '../../../common/metrics.ts';
import { fixtureAgent } from './agent-fixture.ts';

const GOLDEN = new URL('../../golden/agent-exposition.prom', import.meta.url);
let agent: Agent;

before(async () => {
  agent = await fixtureAgent();
  // Twice: the gpu collector runs before gpu_allocation, so the pod holding the GPU (ranker-7d9f)
  // is on the GPU's series from the second cycle on.
  await agent.runner.runOnce();
  await agent.runner.runOnce();
});
after(() => agent.stop());

/** Masks what differs between runs: only the cycle durations. */
function mask(body: string): string {
  return body.replace(/^(surgeguard_collector_duration_seconds\{[^}]*\}) .*$/gm, '$1 <duration>');
}

test('the whole exposition equals the reviewed golden file (durations masked)', async () => {
  const res = await agent.server.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  const got = mask(res.body);
  if (process.env.SG_UPDATE_GOLDEN) writeFileSync(GOLDEN, got);
  assert.equal(got, readFileSync(GOLDEN, 'utf8'), 'run with SG_UPDATE_GOLDEN=1 to rewrite, then review the diff');
});

test('promtool check metrics finds nothing to complain about', async () => {
  const res = await agent.server.inject({ method: 'GET', url: '/metrics' });
  const r = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool must be installed (scripts/install-prometheus.sh)');
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
  assert.equal(r.status, 0);
});

test('OpenMetrics when the Accept header asks for it', async () => {
  const res = await agent.server.inject({ method: 'GET', url: '/metrics', headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.match(res.headers['content-type'] as string, /^application\/openmetrics-text/);
  assert.match(res.body, /# EOF\n$/);
  assert.match(res.body, /^surgeguard_gpu_xid_errors_total\{[^}]*xid="119"\} 5$/m);
});

test('healthz and readyz', async () => {
  assert.equal((await agent.server.inject({ url: '/healthz' })).statusCode, 200);
  const ready = await agent.server.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json<{ ready: boolean }>().ready, true);
});

test('the text exposition converts to OpenMetrics: counters lose _total on HELP and TYPE only', () => {
  const text = '# HELP process_cpu_seconds_total Total CPU.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n\n# HELP g_total A gauge named badly.\n# TYPE g_total gauge\ng_total 2\n';
  assert.equal(textToOpenMetrics(text), '# HELP process_cpu_seconds Total CPU.\n# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total 1.5\n# HELP g_total A gauge named badly.\n# TYPE g_total gauge\ng_total 2\n');
});
