// Item 12 of issue 15 for `surgeguard demo`: a bad --listen is a usage error before anything starts;
// a port in use is one coded line and the process ends (nothing left running); a wrong HTTP method
// on the demo's server is 405 with Allow, not 404.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../../cli/main.ts';
import { demoCommand } from '../../../cli/commands/demo.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { buildDemoServer } from '../../../demo/server.ts';

const cli = fileURLToPath(new URL('../../../cli/surgeguard.ts', import.meta.url));
const fixture = fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url));

async function demo(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const sink = (add: (s: string) => void): Writable => new Writable({ write: (chunk: Buffer, _e, cb) => (add(chunk.toString()), cb()) });
  const io = { stdout: sink(() => undefined), stderr: sink((s) => (stderr += s)), env: { SURGEGUARD_LOG_LEVEL: 'warn' }, cwd: process.cwd(), stopSignal: new AbortController().signal };
  return { code: await main(['demo', ...argv], io, [demoCommand]), stderr };
}

async function busyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Runs the real CLI and returns its exit code, stderr and how long it took. */
function spawnCli(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SURGEGUARD_LOG_LEVEL: 'error' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('exit', (code) => (clearTimeout(kill), resolve({ code, stderr, ms: Date.now() - started }))));
}

test('--listen with port 99999 (and a bad --agent-listen) is a usage error naming the flag, exit 2, before the model loads', async () => {
  const r = await demo(['--listen', '127.0.0.1:99999', '--trace', fixture]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'surgeguard demo: SG_USAGE_INVALID: --listen "127.0.0.1:99999": port 99999 is not a TCP port (0 to 65535; 0 picks a free one)\n');
  const a = await demo(['--agent-listen', 'localhost', '--trace', fixture]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /^surgeguard demo: SG_USAGE_INVALID: --agent-listen must be HOST:PORT/);
});

test('the page\'s port in use: one SG_LISTEN_FAILED line naming --listen, exit 1, and the process ends by itself', async () => {
  const { server, port } = await busyPort();
  try {
    const r = await spawnCli(['demo', '--no-agent', '--listen', `127.0.0.1:${port}`, '--trace', fixture]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `surgeguard demo: SG_LISTEN_FAILED: cannot listen on 127.0.0.1:${port} (--listen): the address is already in use (another process listens there; pick another port, or 0 for any free one)\n`);
  } finally {
    server.close();
  }
});

test('the agent\'s port in use: one SG_LISTEN_FAILED line naming --agent-listen, exit 1', async () => {
  const { server, port } = await busyPort();
  try {
    const r = await spawnCli(['demo', '--agent-listen', `127.0.0.1:${port}`, '--listen', '127.0.0.1:0', '--trace', fixture]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^surgeguard demo: SG_LISTEN_FAILED: cannot listen on 127\\.0\\.0\\.1:${port} \\(--agent-listen\\): the address is already in use`));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  } finally {
    server.close();
  }
});

test('a wrong method on a demo path is 405 with Allow; an unknown path stays 404', async () => {
  const zero = { podIntervals: 0, waitingRequestIntervals: 0, waitingNow: 0 };
  const running = { points: () => [], progress: () => ({ next: 0, total: 0, liveFrom: 0 }), totals: () => ({ surgeguard: zero, defaultHpa: zero }), score: () => null, done: Promise.resolve() };
  const app = buildDemoServer({ registry: createMetricRegistry(), decisions: createDecisionLog(10), demo: running, about: 'test' });
  try {
    for (const url of ['/api/decisions', '/api/demo/state', '/metrics', '/', '/api/decisions?limit=3']) {
      const res = await app.inject({ method: 'POST', url });
      assert.equal(res.statusCode, 405, url);
      assert.equal(res.headers.allow, 'GET, HEAD', url);
      assert.equal(res.json().error, 'method_not_allowed');
    }
    assert.equal((await app.inject({ method: 'DELETE', url: '/healthz' })).statusCode, 405);
    const missing = await app.inject({ method: 'GET', url: '/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers.allow, undefined);
    assert.equal((await app.inject({ method: 'GET', url: '/api/decisions' })).statusCode, 200);
  } finally {
    await app.close();
  }
});
