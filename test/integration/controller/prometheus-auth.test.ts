// The controller's Prometheus client through a real authenticating reverse proxy (nginx with TLS
// from a CA of the test's own) in front of the real Prometheus: a bearer token file read for every
// request (rotation works), a tenant header, basic auth, the CA; and each misconfiguration answered
// with an error that says what is wrong. The client is the controller's own (prometheusApi with
// prometheusFetch, as controller.ts builds it from the loaded config).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../../common/config.ts';
import { silentLogger } from '../../../common/logger.ts';
import { controllerConfigSchema } from '../../../controller/config.ts';
import { prometheusApi, prometheusDemandSource, prometheusFetch } from '../../../controller/signals/prometheus-demand.ts';
import { startAuthProxy, type AuthProxy } from '../../helpers/infra/auth-proxy.ts';
import { startPrometheus } from '../../helpers/infra/prometheus.ts';
import { main } from '../../../cli/main.ts';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { Writable } from 'node:stream';
import { runCleanups } from '../../helpers/infra/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-prom-auth-'));
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
let proxy: AuthProxy;

before(async () => {
  const prom = await startPrometheus();
  cleanups.push({ what: 'prometheus', run: () => prom.stop() });
  proxy = await startAuthProxy(prom.url);
  cleanups.push({ what: 'auth proxy', run: () => proxy.stop() });
});
after(() => runCleanups(cleanups));

/** The client as the controller builds it from a `prometheus:` block of its config file. */
function clientFrom(yaml: string) {
  const config = loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText: `prometheus:\n${yaml}` });
  const p = config.prometheus;
  assert.ok(p);
  return prometheusApi(p.url, p.timeoutMs, prometheusFetch(p, silentLogger()));
}

test('bearer token file, tenant header and CA: the query goes through; a rotated token is read at the next request', async () => {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${proxy.token}\n`);
  const api = clientFrom(`  url: ${proxy.url}/bearer\n  bearerTokenFile: ${tokenFile}\n  headers: { X-Scope-OrgID: ${proxy.tenant} }\n  tls: { caFile: ${proxy.caFile} }\n`);
  assert.deepEqual(await api.query('vector(42)'), [42]);
  writeFileSync(tokenFile, 'an-old-token');
  await assert.rejects(api.query('vector(42)'), /HTTP 401 \(unauthorized: check prometheus\.bearerTokenFile or basicAuth\): bearer token missing or wrong/);
  writeFileSync(tokenFile, proxy.token);
  assert.deepEqual(await api.query('vector(7)'), [7]);
  // The demand signal of a PredictiveScaler reads through the same client.
  const reading = (await prometheusDemandSource(api).read([{ key: 'ns/s', signal: { kind: 'prometheus', query: 'vector(3)' }, startupSeconds: 60 }], 0)).get('ns/s');
  assert.deepEqual(reading, { ok: true, rate: 3, detail: { query: 3 } });
});

test('without the tenant header the proxy refuses, and the error says 403', async () => {
  const tokenFile = join(dir, 'token2');
  writeFileSync(tokenFile, proxy.token);
  const api = clientFrom(`  url: ${proxy.url}/bearer\n  bearerTokenFile: ${tokenFile}\n  tls: { caFile: ${proxy.caFile} }\n`);
  await assert.rejects(api.query('vector(1)'), /HTTP 403 \(forbidden\): tenant header missing or wrong/);
});

test('basic auth with a password file; a wrong password is a 401', async () => {
  const pw = join(dir, 'password');
  writeFileSync(pw, proxy.basic.password);
  const api = clientFrom(`  url: ${proxy.url}/basic\n  basicAuth: { username: ${proxy.basic.username}, passwordFile: ${pw} }\n  tls: { caFile: ${proxy.caFile} }\n`);
  assert.deepEqual(await api.queryVector('vector(5)'), [{ labels: {}, value: 5 }]);
  writeFileSync(pw, 'wrong');
  await assert.rejects(api.query('vector(5)'), /HTTP 401/);
});

test('TLS: without the CA the certificate is refused; insecureSkipVerify accepts it; a missing token file names the file', async () => {
  const tokenFile = join(dir, 'token3');
  writeFileSync(tokenFile, proxy.token);
  const noCa = clientFrom(`  url: ${proxy.url}/bearer\n  bearerTokenFile: ${tokenFile}\n  headers: { X-Scope-OrgID: ${proxy.tenant} }\n`);
  await assert.rejects(noCa.query('vector(1)'), (err: Error) => /self[- ]signed|unable to (verify|get local issuer)/i.test(`${err.message} ${String((err as { cause?: unknown }).cause)}`));
  const skip = clientFrom(`  url: ${proxy.url}/bearer\n  bearerTokenFile: ${tokenFile}\n  headers: { X-Scope-OrgID: ${proxy.tenant} }\n  tls: { insecureSkipVerify: true }\n`);
  assert.deepEqual(await skip.query('vector(2)'), [2]);
  const gone = clientFrom(`  url: ${proxy.url}/bearer\n  bearerTokenFile: ${join(dir, 'no-such-token')}\n  tls: { caFile: ${proxy.caFile} }\n`);
  await assert.rejects(gone.query('vector(1)'), /cannot read the bearer token file .*no-such-token/);
});

test('surgeguard replay --prometheus-url reads the history through the proxy with the auth flags (a path prefix kept)', async () => {
  const tokenFile = join(dir, 'token-replay');
  writeFileSync(tokenFile, proxy.token);
  const run = async (extra: string[]): Promise<{ code: number; out: string }> => {
    let out = '';
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
    const code = await main(['replay', '--prometheus-url', `${proxy.url}/bearer`, '--query', 'vector(5)', '--range', '1h', '--step', '1m', '--query-unit', 'count', '--capacity', '2', '--startup-steps', '1', '--no-compare', ...extra], { stdout: sink, stderr: sink, env: { SURGEGUARD_LOG_LEVEL: 'warn' }, cwd: dir, stopSignal: new AbortController().signal }, [replayCommand]);
    return { code, out };
  };
  const ok = await run(['--prometheus-bearer-token-file', tokenFile, '--prometheus-ca-file', proxy.caFile, '--prometheus-header', `X-Scope-OrgID: ${proxy.tenant}`]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /replayed 6\d intervals, 3\d\d requests/);
  const refused = await run(['--prometheus-ca-file', proxy.caFile, '--prometheus-header', `X-Scope-OrgID: ${proxy.tenant}`]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.out, /query_range failed: HTTP 401: bearer token missing or wrong/);
});
