import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { buildControllerServer } from '../../../controller/server.ts';

const decisions = createDecisionLog(3);
for (const n of [1, 2, 3, 4]) decisions.add({ time: `t${n}`, scaler: n % 2 ? 'a/x' : 'b/y', target: 'Deployment/x', decision: 'hold', reason: 'Forecast', message: '', leader: true, applied: false });

test('/api/decisions needs the bearer token; health and metrics do not', async () => {
  const app = await buildControllerServer({ registry: createMetricRegistry(), decisions, token: 's3cret', ready: () => true, leader: () => true });
  assert.equal((await app.inject({ url: '/api/decisions' })).statusCode, 401);
  assert.equal((await app.inject({ url: '/api/decisions', headers: { authorization: 'Bearer wrong!' } })).statusCode, 401);
  const ok = await app.inject({ url: '/api/decisions?scaler=a/x', headers: { authorization: 'Bearer s3cret' } });
  assert.equal(ok.statusCode, 200);
  // The ring kept the last three; two of them belong to a/x.
  assert.deepEqual((ok.json() as { decisions: { time: string }[] }).decisions.map((d) => d.time), ['t3']);
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  assert.equal((await app.inject({ url: '/metrics' })).statusCode, 200);
  await app.close();
});

test('a bad limit on /api/decisions is a 400 that names it; a good one caps the answer', async () => {
  const app = await buildControllerServer({ registry: createMetricRegistry(), decisions, token: 't', ready: () => true, leader: () => true });
  const get = (q: string) => app.inject({ url: `/api/decisions${q}`, headers: { authorization: 'Bearer t' } });
  for (const bad of ['abc', '0', '-3', '2.5', '10001', '1e3']) {
    const res = await get(`?limit=${bad}`);
    assert.equal(res.statusCode, 400, bad);
    assert.match((res.json() as { message: string }).message, new RegExp(`limit must be a whole number from 1 to 10000, got "${bad.replace('.', '\\.')}"`));
  }
  assert.equal(((await get('?limit=2')).json() as { decisions: unknown[] }).decisions.length, 2);
  assert.equal(((await get('')).json() as { decisions: unknown[] }).decisions.length, 3, 'no limit: the default (100) holds all three');
  await app.close();
});

test('without a configured token every /api request is refused', async () => {
  const app = await buildControllerServer({ registry: createMetricRegistry(), decisions, token: undefined, ready: () => false, leader: () => false });
  assert.equal((await app.inject({ url: '/api/decisions', headers: { authorization: 'Bearer ' } })).statusCode, 401);
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 503);
  await app.close();
});

test('serves TLS from certificate files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  const app = await buildControllerServer({ registry: createMetricRegistry(), decisions, token: 't', ready: () => true, leader: () => true, https: { cert, key: readFileSync(join(dir, 'key.pem')) } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  assert.match(url, /^https:/);
  const status = await new Promise<number>((resolve, reject) => {
    request(`${url}/healthz`, { ca: cert }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(status, 200);
  await app.close();
});

test('while the event loop lags, /api answers 503 but /healthz and /metrics still answer (a slow controller is not restarted by its liveness probe)', async () => {
  const app = await buildControllerServer({
    registry: createMetricRegistry(), decisions, token: 't', ready: () => true, leader: () => true,
    pressure: { maxEventLoopDelayMs: 20, sampleIntervalMs: 300 },
  });
  const api = () => app.inject({ url: '/api/decisions', headers: { authorization: 'Bearer t' } });
  assert.equal((await api()).statusCode, 200);
  // Stall the loop well past the limit, then wait for the sampler to see it.
  let underPressure = false;
  for (let attempt = 0; attempt < 5 && !underPressure; attempt++) {
    const until = Date.now() + 1500;
    while (Date.now() < until) { /* busy: the lag under test */ }
    for (let i = 0; i < 40 && !underPressure; i++) {
      if ((await api()).statusCode === 503) underPressure = true;
      else await new Promise((r) => setTimeout(r, 10));
    }
  }
  assert.ok(underPressure, 'the stall never put the server under pressure');
  const [health, metrics, again] = await Promise.all([app.inject({ url: '/healthz' }), app.inject({ url: '/metrics' }), api()]);
  assert.equal(again.statusCode, 503, 'still under pressure while the probes were answered');
  assert.equal(health.statusCode, 200);
  assert.equal(metrics.statusCode, 200);
  await app.close();
});
