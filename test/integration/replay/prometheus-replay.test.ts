// Replays a user's own history from a real Prometheus: the test serves a demand gauge, Prometheus
// scrapes it every second, and `surgeguard replay --prometheus-url` reads it back with query_range.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { main } from '../../../cli/main.ts';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { waitUntil } from '../../helpers/infra/process.ts';
import { addScrapeTarget, promQuery, sharedPrometheus } from '../../helpers/infra/prometheus.ts';

const server = createServer((req, res) => {
  if (req.url !== '/demand') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
  // Demand that changes every second, so the replayed series is not constant.
  res.end(`# TYPE replay_demand gauge\nreplay_demand ${10 + (Math.floor(Date.now() / 1000) % 7)}\n`);
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('replay --prometheus-url reads a real Prometheus history and completes', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const prom = await sharedPrometheus();
  const name = `replay-${process.pid}`;
  addScrapeTarget(prom, name, `127.0.0.1:${port}`, { __metrics_path__: '/demand' });
  const query = `sum(replay_demand{sg_target="${name}"})`;
  await waitUntil('the first demand sample', async () => ((await promQuery(prom.url, query)).length > 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  // Twelve more seconds of history at a 1 s scrape.
  await new Promise((r) => setTimeout(r, 12_000));
  const out = join(mkdtempSync(join(tmpdir(), 'sg-prom-replay-')), 'run.csv');
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: new Writable({ write: (c: Buffer, _e, cb) => ((stdout += c.toString()), cb()) }),
    stderr: new Writable({ write: (c: Buffer, _e, cb) => ((stderr += c.toString()), cb()) }),
    env: {},
    cwd: process.cwd(),
    stopSignal: new AbortController().signal,
  };
  const args = ['replay', '--prometheus-url', prom.url, '--query', query, '--range', '10s', '--step', '1s', '--query-unit', 'count', '--capacity', '5', '--startup-steps', '2', '--no-compare', '--cpu', '--out', out];
  const code = await main(args, io, [replayCommand]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /replayed \d+ intervals/);
  const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1);
  assert.ok(rows.length >= 8, `${rows.length} rows`);
  for (const r of rows) {
    const demand = Number(r.split(',')[1]);
    assert.ok(demand >= 10 && demand <= 16, r);
  }
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  assert.equal(meta.interval_seconds, 1);
  assert.equal(meta.mode, 'prometheus');
});
