// Proves Alertmanager is real: an alert posted to its API is delivered to a local webhook.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { addReceiver, sharedAlertmanager } from '../../helpers/infra/alertmanager.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.ts';

let hook: WebhookReceiver | undefined;
after(() => hook?.close());

test('an alert posted to the real Alertmanager reaches a local webhook receiver', async () => {
  hook = await startWebhookReceiver();
  const am = await sharedAlertmanager();
  const receiver = `smoke-${process.pid}`;
  await addReceiver(am, receiver, hook.url);
  const res = await fetch(`${am.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels: { alertname: 'SmokeTest', severity: 'info', sg_receiver: receiver }, annotations: { summary: 'posted by the smoke test' }, startsAt: new Date().toISOString() }]),
  });
  assert.equal(res.status, 200);
  const body = (await hook.waitFor((b) => (b as { alerts?: { labels: { alertname: string } }[] }).alerts?.some((a) => a.labels.alertname === 'SmokeTest') ?? false)) as {
    version: string;
    status: string;
    receiver: string;
    alerts: { labels: Record<string, string>; annotations: Record<string, string> }[];
  };
  assert.equal(body.version, '4');
  assert.equal(body.status, 'firing');
  assert.equal(body.receiver, receiver);
  assert.equal(body.alerts[0]?.annotations.summary, 'posted by the smoke test');
});
