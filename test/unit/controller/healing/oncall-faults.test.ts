// Issue 15, item 1: a receiver whose token or key file is missing must fail the start with a
// coded error naming it, and no delivery error may ever end the process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, SurgeGuardError } from '../../../../common/errors.ts';
import { silentLogger } from '../../../../common/logger.ts';
import { createMetricRegistry } from '../../../../common/metrics.ts';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import { createOnCall } from '../../../../controller/healing/oncall.ts';
import type { Finding } from '../../../../controller/healing/types.ts';

const finding: Finding = { check: 'gpu-xid', severity: 'critical', fault: 'fatal', target: { kind: 'Node', name: 'gpu-7' }, summary: 'XID 79 on GPU 3 of node gpu-7', evidence: {} };
const readFile = (f: string): string => readFileSync(f, 'utf8').trim();

function oncallConfig(receivers: unknown[]) {
  return healingConfigSchema.parse({ oncall: { receivers, initialBackoffMs: 10, attempts: 2 } }).oncall;
}

test('a missing token or key file is a coded configuration error at start, naming the key and the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-oncall-'));
  writeFileSync(join(dir, 'empty'), '\n');
  try {
    const config = oncallConfig([
      { name: 'pager', url: 'http://127.0.0.1:1/hook', bearerTokenFile: join(dir, 'missing-token') },
      { name: 'team', url: 'http://127.0.0.1:1/hook', format: 'json', hmacKeyFile: join(dir, 'empty') },
    ]);
    let err: unknown;
    try {
      createOnCall({ logger: silentLogger(), metrics: createMetricRegistry(), fetch, readSecret: readFile }, config);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof SurgeGuardError, `expected a coded error at start, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.match(err.message, /healing\.oncall\.receivers\.0\.bearerTokenFile \(receiver pager\): cannot read .*missing-token/);
    assert.match(err.message, /healing\.oncall\.receivers\.1\.hmacKeyFile \(receiver team\): .*empty is empty/);
    assert.doesNotMatch(err.message, /\n/, 'one line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a token file gone at delivery time: sent with the token read last, logged and counted, nothing thrown', async () => {
  const calls: Array<Record<string, string>> = [];
  const fakeFetch = (async (_u: string, init: RequestInit) => {
    calls.push(init.headers as Record<string, string>);
    return new Response('', { status: 200 });
  }) as typeof fetch;
  let reads = 0;
  const readSecret = (f: string): string => {
    reads++;
    if (reads > 1) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${f}'`), { code: 'ENOENT' });
    return 'tok-1';
  };
  const metrics = createMetricRegistry();
  const rejections: unknown[] = [];
  const onRejection = (r: unknown): void => void rejections.push(r);
  process.on('unhandledRejection', onRejection);
  try {
    const oc = createOnCall({ logger: silentLogger(), metrics, fetch: fakeFetch, readSecret }, oncallConfig([{ name: 'pager', url: 'http://127.0.0.1:1/hook', bearerTokenFile: '/run/secrets/token' }]));
    oc.update([{ finding, decision: 'cordoned' }], 1_000_000);
    await oc.flush(1000);
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  assert.deepEqual(rejections, []);
  assert.equal(calls[0]?.authorization, 'Bearer tok-1');
  const text = (await metrics.render(false)).body;
  assert.match(text, /surgeguard_oncall_secret_read_errors_total\{receiver="pager"\} 1/);
  assert.match(text, /surgeguard_oncall_notifications_total\{receiver="pager",kind="firing",result="ok"\} 1/);
});

test('no delivery error ends the process: a reader and a fetch that throw synchronously, in a real child process', () => {
  const oncall = resolve(import.meta.dirname, '../../../../controller/healing/oncall.ts');
  const config = JSON.stringify(oncallConfig([{ name: 'pager', url: 'http://127.0.0.1:1/hook', format: 'json', bearerTokenFile: '/t', hmacKeyFile: '/k' }]));
  const script = `
    const { createOnCall } = await import(${JSON.stringify(oncall)});
    const { createMetricRegistry } = await import(${JSON.stringify(resolve(import.meta.dirname, '../../../../common/metrics.ts'))});
    const { silentLogger } = await import(${JSON.stringify(resolve(import.meta.dirname, '../../../../common/logger.ts'))});
    let reads = 0;
    const readSecret = () => { if (++reads > 2) throw new Error('ENOENT: the Secret was deleted'); return 'k'; };
    const fetch = () => { throw new TypeError('fetch exploded'); };
    const oc = createOnCall({ logger: silentLogger(), metrics: createMetricRegistry(), fetch, readSecret }, ${config});
    const f = { check: 'gpu-xid', severity: 'critical', fault: 'fatal', target: { kind: 'Node', name: 'n' }, summary: 's', evidence: {} };
    // Evidence that cannot be serialized makes building the body throw.
    const g = { ...f, target: { kind: 'Node', name: 'm' }, evidence: { big: 1n } };
    oc.update([{ finding: f, decision: 'd' }, { finding: g, decision: 'd' }], 1000);
    oc.update([], 2000);
    // As in the controller, nothing waits on the deliveries (flush runs only at shutdown).
    await new Promise((r) => setTimeout(r, 500));
    console.log('alive');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `the process ended: ${r.stderr}`);
  assert.match(r.stdout, /alive/);
});
