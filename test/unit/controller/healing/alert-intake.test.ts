import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetricRegistry } from '../../../../common/metrics.ts';
import { createAlertIntake, findingOfAlert, alertmanagerWebhookSchema } from '../../../../controller/healing/alert-intake.ts';
import { createRemediationAudit } from '../../../../controller/healing/audit.ts';
import { createDecisionLog } from '../../../../controller/reconcile/decision-log.ts';
import { buildControllerServer } from '../../../../controller/server.ts';
import { silentLogger } from '../../../../common/logger.ts';

const alert = (labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing', fp = 'abc123'): Record<string, unknown> => ({
  status, labels: { alertname: 'SurgeGuardGpuXidCritical', severity: 'critical', ...labels }, annotations: { summary: 'XID 79 on gpu-7' },
  startsAt: '2026-11-29T10:00:00Z', endsAt: status === 'resolved' ? '2026-11-29T10:05:00Z' : '0001-01-01T00:00:00Z', generatorURL: 'http://prom/graph', fingerprint: fp,
});
const body = (alerts: unknown[], status = 'firing'): Record<string, unknown> => ({ version: '4', groupKey: '{}:{alertname="x"}', truncatedAlerts: 0, status, receiver: 'surgeguard', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', alerts });

test('alerts map to findings by their labels: node, pod, consumer group, or fleet-wide', () => {
  const p = (labels: Record<string, string>): string => {
    const f = findingOfAlert(alertmanagerWebhookSchema.parse(body([alert(labels)])).alerts[0] as never);
    return `${f.target.kind}/${f.target.name}/${f.fault}`;
  };
  assert.equal(p({ node: 'gpu-7' }), 'Node/gpu-7/fatal');
  assert.equal(p({ node: 'gpu-7', alertname: 'SurgeGuardGpuThermalSlowdown' }), 'Node/gpu-7/degraded');
  assert.equal(p({ node: 'gpu-7', alertname: 'Custom', surgeguard_fault: 'degraded' }), 'Node/gpu-7/degraded');
  assert.equal(p({ pod: 'p', namespace: 'ml', alertname: 'Custom', surgeguard_fault: 'fatal' }), 'Pod/p/stuck');
  assert.equal(p({ consumer_group: 'ranker', alertname: 'SurgeGuardKafkaConsumerStalled', surgeguard_fault: 'fatal' }), 'ConsumerGroup/ranker/notice');
  assert.equal(p({ alertname: 'SurgeGuardWatchdog' }), 'Fleet/SurgeGuardWatchdog/notice');
});

test('the same alert delivered twice is one finding; resolved removes it', async () => {
  let now = Date.parse('2026-11-29T10:00:30Z');
  const intake = createAlertIntake({ now: () => now });
  const b = alertmanagerWebhookSchema.parse(body([alert({ node: 'gpu-7' })]));
  intake.accept(b, now);
  intake.accept(b, now);
  assert.equal((await intake.check().run({ nowMs: now, nodes: [], pods: [] })).length, 1);
  intake.accept(alertmanagerWebhookSchema.parse(body([alert({ node: 'gpu-7' }, 'resolved')], 'resolved')), now);
  assert.equal((await intake.check().run({ nowMs: now, nodes: [], pods: [] })).length, 0);
  // A firing alert whose endsAt passed (no resolved ever came) expires on its own.
  intake.accept(alertmanagerWebhookSchema.parse(body([{ ...alert({ node: 'gpu-8' }, 'firing', 'f2'), endsAt: '2026-11-29T10:04:00Z' }])), now);
  now = Date.parse('2026-11-29T10:04:01Z');
  assert.equal((await intake.check().run({ nowMs: now, nodes: [], pods: [] })).length, 0);
});

test('POST /api/v1/alerts: 401 without the token, 400 naming what is wrong, 200 for a good body', async () => {
  const intake = createAlertIntake({ now: Date.now });
  const audit = createRemediationAudit({ logger: silentLogger(), metrics: createMetricRegistry(), writer: { patchScalerStatus: async () => undefined, event: async () => undefined }, eventNamespace: 'surgeguard' }, 10);
  const app = await buildControllerServer({ registry: createMetricRegistry(), decisions: createDecisionLog(10), token: 't0k', ready: () => true, leader: () => true, healing: { audit, acceptAlerts: (b) => intake.accept(b, Date.now()) } });
  const auth = { authorization: 'Bearer t0k' };
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/alerts', payload: body([alert({ node: 'n' })]) })).statusCode, 401);
  const cases: Array<[unknown, RegExp]> = [
    [{ ...body([alert({ node: 'n' })]), version: '3' }, /version/],
    [body([]), /alerts/],
    [body([{ ...alert({ node: 'n' }), labels: { node: 'n' } }]), /alertname/],
    [body([{ ...alert({ node: 'n' }), status: 'burning' }]), /alerts\.0\.status/],
    [{ hello: 'world' }, /version/],
  ];
  for (const [payload, reason] of cases) {
    const r = await app.inject({ method: 'POST', url: '/api/v1/alerts', headers: auth, payload: payload as object });
    assert.equal(r.statusCode, 400, JSON.stringify(payload));
    assert.match((r.json() as { message: string }).message, reason);
  }
  const bad = await app.inject({ method: 'POST', url: '/api/v1/alerts', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"version": "4", ' });
  assert.equal(bad.statusCode, 400, 'malformed JSON');
  assert.equal((await intake.check().run({ nowMs: Date.now(), nodes: [], pods: [] })).length, 0, 'nothing of a refused body was taken');
  const ok = await app.inject({ method: 'POST', url: '/api/v1/alerts', headers: auth, payload: body([alert({ node: 'n' })]) });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { status: 'accepted', firing: 1, resolved: 0 });
  assert.equal((await app.inject({ url: '/api/remediations', headers: auth })).statusCode, 200);
  await app.close();
});
