// The kafka collector on a real broker of the test's own: lag N - M per partition, the
// broker stopped (kafka fails, the other collectors go on) and started again (recovery
// without restarting the agent), and scope node attributing partitions by member host.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { createAgent, type Agent } from '../../../agent/agent.ts';
import { agentConfigSchema } from '../../../agent/config.ts';
import { staticPodIps } from '../../../agent/pod-ips.ts';
import { loadConfig } from '../../../common/config.ts';
import { silentLogger } from '../../../common/logger.ts';
import { startKafka, type KafkaHandle } from '../../helpers/infra/kafka.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const topic = `agent-lag-${process.pid}`;
const group = `agent-group-${process.pid}`;
let broker: KafkaHandle;
let kafka: Kafka;
let admin: Admin;
const agents: Agent[] = [];
const consumers: Consumer[] = [];
let release: () => void = () => undefined;
const held = new Promise<void>((r) => (release = r));

before(async () => {
  broker = await startKafka();
  kafka = new Kafka({ clientId: 'agent-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  // N = 10 messages on each partition.
  for (const partition of [0, 1]) await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition, value: `m${i}` })) });
  await producer.disconnect();
  // M = 4 consumed and committed on partition 0, 7 on partition 1, by a real consumer of the group.
  const want = new Map([[0, 4], [1, 7]]);
  const seen = new Map([[0, 0], [1, 0]]);
  const consumer = kafka.consumer({ groupId: group });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('did not consume M messages within 60 s')), 60_000);
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if ((seen.get(partition) ?? 0) >= (want.get(partition) ?? 0)) return;
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
          seen.set(partition, (seen.get(partition) ?? 0) + 1);
          if ([...want].every(([p, m]) => seen.get(p) === m)) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
});
after(() => {
  release();
  return runCleanups([
    { what: 'own broker', run: async () => broker?.stop() },
    { what: 'admin client', run: async () => admin?.disconnect() },
    { what: 'agents', run: () => Promise.allSettled(agents.map((a) => a.stop())) },
    { what: 'consumers', run: () => Promise.allSettled(consumers.map((c) => c.disconnect())) },
  ]);
});

async function agentWith(scope: 'node' | 'cluster', podIps?: string[]): Promise<Agent> {
  const config = loadConfig(agentConfigSchema, {
    fileText: `nodeName: kafka-node
collectors:
  gpu: { enabled: false }
  xid: { enabled: false }
  podResources: { enabled: false }
  network: { intervalSeconds: 0.5 }
  kafka: { enabled: true, brokers: ${JSON.stringify(broker.brokers)}, scope: ${scope}, intervalSeconds: 0.5, timeoutSeconds: 4, groupPattern: "^${group}$" }
`,
  });
  const agent = await createAgent(config, silentLogger(), { processMetrics: false, ...(podIps ? { podIps: () => staticPodIps(podIps) } : {}) });
  agents.push(agent);
  agent.runner.start();
  return agent;
}

async function scrape(agent: Agent): Promise<string> {
  return (await agent.server.inject({ url: '/metrics' })).body;
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function until(agent: Agent, what: string, check: (t: string) => boolean, timeoutMs = 30_000): Promise<string> {
  return waitUntil(what, async () => {
    const t = await scrape(agent);
    return check(t) ? t : undefined;
  }, { timeoutMs, intervalMs: 250 });
}

test('lag is N - M per partition; a stopped broker fails only kafka; a restarted one recovers', async () => {
  const agent = await agentWith('cluster');
  let t = await until(agent, 'lag', (x) => value(x, 'surgeguard_kafka_consumer_group_lag', { partition: '1' }) !== undefined);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_lag', { consumer_group: group, topic, partition: '0' }), 6);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_lag', { consumer_group: group, topic, partition: '1' }), 3);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_committed_offset', { partition: '0' }), 4);
  assert.equal(value(t, 'surgeguard_kafka_log_end_offset', { topic, partition: '0' }), 10);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_state', { consumer_group: group, state: 'Empty' }), 1);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_partitions_unowned', { consumer_group: group }), 2, 'no live member owns them: scope cluster still reports them');
  assert.equal(value(t, 'surgeguard_collector_success', { collector: 'kafka' }), 1);

  await broker.stop();
  t = await until(agent, 'kafka failing', (x) => value(x, 'surgeguard_collector_success', { collector: 'kafka' }) === 0);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_lag', { partition: '0' }), undefined);
  const net = value(t, 'surgeguard_collector_last_success_timestamp_seconds', { collector: 'network' }) ?? 0;
  t = await until(agent, 'network still sampling', (x) => (value(x, 'surgeguard_collector_last_success_timestamp_seconds', { collector: 'network' }) ?? 0) > net);
  assert.equal(value(t, 'surgeguard_collector_success', { collector: 'network' }), 1);

  await broker.start();
  t = await until(agent, 'kafka recovered', (x) => value(x, 'surgeguard_collector_success', { collector: 'kafka' }) === 1 && value(x, 'surgeguard_kafka_consumer_group_lag', { partition: '0' }) === 6, 90_000);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_lag', { partition: '1' }), 3);
});

test('scope node attributes partitions whose owner runs in a pod on this node', async () => {
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic });
  // The member holds its assignment and the first message until the end, committing nothing,
  // so the committed offsets stay.
  await consumer.run({ autoCommit: false, eachMessage: () => held });
  await waitUntil('the group to be stable', async () => ((await admin.describeGroups([group])).groups[0]?.state === 'Stable' ? true : undefined), { timeoutMs: 30_000 });
  const here = await agentWith('node', ['127.0.0.1']);
  const elsewhere = await agentWith('node', ['10.9.9.9']);
  const t = await until(here, 'attributed lag', (x) => value(x, 'surgeguard_kafka_consumer_group_lag', { partition: '1' }) !== undefined);
  assert.ok((value(t, 'surgeguard_kafka_consumer_group_lag', { partition: '0' }) ?? -1) >= 0);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_state', { state: 'Stable' }), 1);
  assert.equal(value(t, 'surgeguard_kafka_consumer_group_members', { consumer_group: group }), 1);
  const other = await until(elsewhere, 'a cycle on the other node', (x) => value(x, 'surgeguard_collector_success', { collector: 'kafka' }) === 1);
  assert.equal(value(other, 'surgeguard_kafka_consumer_group_lag', { partition: '0' }), undefined, 'no pod of the group on that node');
});
