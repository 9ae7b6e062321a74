// Issue 15, item 5: a standby must not take Alertmanager's alerts (it would answer 200 and drop
// them); it answers 503 with Connection: close so the retry reaches the leader. And the zero
// endsAt Alertmanager sends for firing alerts means "firing, no end".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetricRegistry } from '../../../../common/metrics.ts';
import { silentLogger } from '../../../../common/logger.ts';
import { alertmanagerWebhookSchema, createAlertIntake, NotLeaderError } from '../../../../controller/healing/alert-intake.ts';
import { createRemediationAudit } from '../../../../controller/healing/audit.ts';
import { createDecisionLog } from '../../../../controller/reconcile/decision-log.ts';
import { buildControllerServer } from '../../../../controller/server.ts';

const body = (endsAt: string, fingerprint = 'fp1') => ({
  version: '4', groupKey: '{}:{alertname="SurgeGuardGpuXidCritical"}', truncatedAlerts: 0, status: 'firing', receiver: 'surgeguard', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am',
  alerts: [{ status: 'firing', labels: { alertname: 'SurgeGuardGpuXidCritical', severity: 'critical', node: 'gpu-7' }, annotations: { summary: 'XID 79 on gpu-7' }, startsAt: '2026-11-29T10:00:00.123456789Z', endsAt, generatorURL: '', fingerprint }],
});
const run = (intake: ReturnType<typeof createAlertIntake>, nowMs: number) => intake.check().run({ nowMs, nodes: [], pods: [] });

test('a standby answers 503 with Connection: close and keeps nothing; the leader answers 200 and keeps the alert', async () => {
  let leading = false;
  const metrics = createMetricRegistry();
  const intake = createAlertIntake({ now: Date.now, isLeader: () => leading, metrics, logger: silentLogger() });
  const audit = createRemediationAudit({ logger: silentLogger(), metrics, writer: { patchScalerStatus: async () => undefined, event: async () => undefined }, eventNamespace: 'surgeguard' }, 10);
  const app = await buildControllerServer({ registry: metrics, decisions: createDecisionLog(10), token: 't0k', ready: () => true, leader: () => leading, healing: { audit, acceptAlerts: (b) => intake.accept(b, Date.now()) } });
  const post = () => app.inject({ method: 'POST', url: '/api/v1/alerts', headers: { authorization: 'Bearer t0k' }, payload: body('0001-01-01T00:00:00Z') });

  const refused = await post();
  assert.equal(refused.statusCode, 503, 'a standby took the alert (Alertmanager counts it delivered and never retries)');
  assert.equal(refused.headers.connection, 'close');
  assert.equal(refused.headers['retry-after'], '1');
  assert.match(refused.body, /standby/);
  assert.deepEqual(await run(intake, Date.now()), []);
  assert.match((await metrics.render(false)).body, /surgeguard_alerts_refused_total\{reason="not_leader"\} 1/);

  leading = true;
  const taken = await post();
  assert.equal(taken.statusCode, 200);
  assert.equal((await run(intake, Date.now())).length, 1);
  await app.close();
});

test('NotLeaderError carries what Fastify needs for the answer', () => {
  const e = new NotLeaderError();
  assert.equal(e.statusCode, 503);
  assert.equal(e.headers.connection, 'close');
});

test('endsAt 0001-01-01T00:00:00Z is "firing, no end"; a real endsAt expires the alert; one already past expires at once', async () => {
  const t0 = Date.parse('2026-11-29T10:00:30Z');
  const intake = createAlertIntake({ now: () => t0 });
  intake.accept(alertmanagerWebhookSchema.parse(body('0001-01-01T00:00:00Z', 'zero')), t0);
  intake.accept(alertmanagerWebhookSchema.parse(body('2026-11-29T10:05:00Z', 'later')), t0);
  intake.accept(alertmanagerWebhookSchema.parse(body('2026-11-29T09:00:00Z', 'past')), t0);
  assert.deepEqual((await run(intake, t0)).map((f) => f.evidence.fingerprint).sort(), ['later', 'zero']);
  const in10years = createAlertIntake({ now: () => t0 + 10 * 365 * 86_400_000 });
  in10years.accept(alertmanagerWebhookSchema.parse(body('0001-01-01T00:00:00Z', 'zero')), t0);
  assert.equal((await run(in10years, 0)).length, 1, 'the zero time was taken as a time that passed');
});
