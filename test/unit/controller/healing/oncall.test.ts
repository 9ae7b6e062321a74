import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { silentLogger } from '../../../../common/logger.ts';
import { createMetricRegistry } from '../../../../common/metrics.ts';
import { alertmanagerWebhookSchema } from '../../../../controller/healing/alert-intake.ts';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import { createOnCall, sign, SIGNATURE_HEADER } from '../../../../controller/healing/oncall.ts';
import type { Finding } from '../../../../controller/healing/types.ts';

const finding: Finding = { check: 'gpu-xid', severity: 'critical', fault: 'fatal', target: { kind: 'Node', name: 'gpu-7' }, summary: 'XID 79 (GPU has fallen off the bus) on GPU 3 of node gpu-7', evidence: { xid: '79' } };

function recorder(statuses: number[] = []): { fetch: typeof fetch; calls: Array<{ url: string; headers: Record<string, string>; body: string }> } {
  const calls: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  return {
    calls,
    fetch: (async (url: string, init: RequestInit) => {
      calls.push({ url, headers: init.headers as Record<string, string>, body: String(init.body) });
      return new Response('', { status: statuses.shift() ?? 200 });
    }) as typeof fetch,
  };
}

function onCall(f: typeof fetch, receivers: unknown[], extra: Record<string, unknown> = {}): ReturnType<typeof createOnCall> {
  const config = healingConfigSchema.parse({ oncall: { receivers, initialBackoffMs: 10, ...extra } }).oncall;
  return createOnCall({ logger: silentLogger(), metrics: createMetricRegistry(), fetch: f, readSecret: () => 's3cret' }, config);
}

test('the Alertmanager-format body is a valid version 4 webhook body (our own intake accepts it), firing then resolved', async () => {
  const r = recorder();
  const oc = onCall(r.fetch, [{ name: 'pager', url: 'http://127.0.0.1:1/hook', format: 'alertmanager' }]);
  oc.update([{ finding, decision: 'cordoned' }], 1_000_000);
  oc.update([{ finding, decision: 'cordoned' }], 1_005_000);
  oc.update([], 1_010_000);
  await oc.flush(1000);
  assert.equal(r.calls.length, 2, 'one firing (the second tick is a duplicate) and one resolved');
  const [firing, resolved] = r.calls.map((c) => alertmanagerWebhookSchema.parse(JSON.parse(c.body)));
  assert.equal(firing?.status, 'firing');
  assert.equal(firing?.alerts[0]?.labels.node, 'gpu-7');
  assert.equal(firing?.alerts[0]?.labels.alertname, 'SurgeGuardGpuXid');
  assert.equal(resolved?.status, 'resolved');
  assert.equal(resolved?.alerts[0]?.fingerprint, firing?.alerts[0]?.fingerprint);
});

test('the JSON body is signed: HMAC-SHA256 over "<t>.<body>" with the receiver key', async () => {
  const r = recorder();
  const oc = onCall(r.fetch, [{ name: 'team', url: 'http://127.0.0.1:1/hook', format: 'json', severities: ['critical', 'warning'], hmacKeyFile: '/k' }]);
  oc.update([{ finding, decision: 'cordoned' }], 1_000_000);
  await oc.flush(1000);
  const c = r.calls[0];
  assert.ok(c);
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(c.headers[SIGNATURE_HEADER] ?? '');
  assert.ok(m, c.headers[SIGNATURE_HEADER]);
  assert.equal(m[2], createHmac('sha256', 's3cret').update(`${m[1]}.${c.body}`).digest('hex'));
  assert.equal(sign('s3cret', c.body, Number(m[1])), c.headers[SIGNATURE_HEADER]);
  assert.equal(JSON.parse(c.body).key, 'gpu-xid/Node/gpu-7');
});

test('delivery retries 5xx with backoff, gives up on a 4xx, and routes by severity', async () => {
  const r = recorder([503, 502, 200]);
  const oc = onCall(r.fetch, [{ name: 'pager', url: 'http://127.0.0.1:1/a', format: 'json' }, { name: 'chat', url: 'http://127.0.0.1:1/b', format: 'json', severities: ['warning'] }]);
  oc.update([{ finding, decision: 'x' }], 0);
  await oc.flush(2000);
  assert.deepEqual(r.calls.map((c) => c.url), ['http://127.0.0.1:1/a', 'http://127.0.0.1:1/a', 'http://127.0.0.1:1/a'], 'critical goes to the pager only, tried three times');
  const r2 = recorder([400, 200]);
  const oc2 = onCall(r2.fetch, [{ name: 'pager', url: 'http://127.0.0.1:1/a', format: 'json' }]);
  oc2.update([{ finding, decision: 'x' }], 0);
  await oc2.flush(2000);
  assert.equal(r2.calls.length, 1, 'a 400 is not retried');
});
