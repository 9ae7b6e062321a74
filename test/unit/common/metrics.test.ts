import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetricRegistry } from '../../../common/metrics.ts';

test('an OpenMetrics render does not rename counters in later text renders', async () => {
  const r = createMetricRegistry();
  r.counter('surgeguard_test_events_total', 'Events.').inc(3);
  const om = await r.render(true);
  assert.match(om.contentType, /application\/openmetrics-text/);
  assert.match(om.body, /^# TYPE surgeguard_test_events counter$/m);
  assert.match(om.body, /^surgeguard_test_events_total 3$/m);
  assert.ok(om.body.endsWith('# EOF\n'));
  const text = await r.render(false);
  assert.match(text.body, /^# TYPE surgeguard_test_events_total counter$/m);
  assert.match(text.body, /^surgeguard_test_events_total 3$/m);
});

test('metric names must carry the prefix, and counters end in _total', () => {
  const r = createMetricRegistry();
  assert.throws(() => r.gauge('gpu_temp', 'x'), /must be a valid name starting with surgeguard_/);
  assert.throws(() => r.counter('surgeguard_events', 'x'), /must end in _total/);
});
