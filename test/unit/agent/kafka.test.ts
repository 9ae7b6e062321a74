import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sample } from '../../../agent/collector.ts';
import { createKafkaCollector } from '../../../agent/collectors/kafka.ts';
import { staticPodIps } from '../../../agent/pod-ips.ts';
import { SNAPSHOT } from './agent-fixture.ts';
import { ctx, valueOf } from './helpers.ts';

const reader = { read: () => Promise.resolve(SNAPSHOT), close: () => Promise.resolve() };
const cfg = { intervalSeconds: 15, timeoutSeconds: 10 };

test('scope node reports only partitions owned by members on this node\'s pods', async () => {
  const c = createKafkaCollector({ reader, podIps: staticPodIps(['10.0.0.5']) }, { ...cfg, scope: 'node' });
  const s = (await c.collect(ctx())) as Sample[];
  const lagged = s.filter((x) => x.name === 'surgeguard_kafka_consumer_group_lag').map((x) => x.labels.partition);
  assert.deepEqual(lagged, ['0']);
  assert.equal(valueOf(s, 'surgeguard_kafka_consumer_group_lag', { partition: '0' }), 50);
  assert.equal(valueOf(s, 'surgeguard_kafka_log_end_offset', { partition: '0' }), 150);
  assert.equal(valueOf(s, 'surgeguard_kafka_consumer_group_state', { state: 'Stable' }), 1);
});

test('scope node with no pods of the group on this node reports nothing of it', async () => {
  const c = createKafkaCollector({ reader, podIps: staticPodIps(['10.1.1.1']) }, { ...cfg, scope: 'node' });
  const s = (await c.collect(ctx())) as Sample[];
  assert.deepEqual(s.map((x) => x.name), ['surgeguard_kafka_requests']);
});

test('scope cluster reports every partition, including one no live member owns', async () => {
  const c = createKafkaCollector({ reader }, { ...cfg, scope: 'cluster' });
  const s = (await c.collect(ctx())) as Sample[];
  assert.deepEqual(s.filter((x) => x.name === 'surgeguard_kafka_consumer_group_lag').map((x) => [x.labels.partition, x.value]), [['0', 50], ['1', 5], ['2', 60]]);
  assert.equal(valueOf(s, 'surgeguard_kafka_consumer_group_partitions_unowned'), 1);
  assert.equal(valueOf(s, 'surgeguard_kafka_requests'), 6);
});
