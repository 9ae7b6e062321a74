// Consumer groups on Kafka 4's new consumer protocol (KIP-848, group.protocol=consumer) next to a
// classic one, each joined by a real Java consumer (the official client; kafkajs cannot speak the
// new protocol) on the real broker: the agent reports both groups' state, members, owners and lag.
// kafkajs's classic DescribeGroups calls the new group Dead with no members; ConsumerGroupDescribe
// (common/kafka-consumer-groups.ts) describes it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createAgent, type Agent } from '../../../agent/agent.ts';
import { agentConfigSchema } from '../../../agent/config.ts';
import { loadConfig } from '../../../common/config.ts';
import { createKafkaLagReader } from '../../../common/kafka-lag.ts';
import { silentLogger } from '../../../common/logger.ts';
import { sharedKafka, type KafkaInfo } from '../../helpers/infra/kafka.ts';
import { REPO_ROOT, run, runCleanups, waitUntil } from '../../helpers/infra/process.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const topic = `kip848-${process.pid}`;
const groups = { consumer: `kip848-new-${process.pid}`, classic: `kip848-classic-${process.pid}` };
let broker: KafkaInfo;
const javas: ChildProcess[] = [];
let agent: Agent | undefined;

before(async () => {
  broker = await sharedKafka();
  const kafka = new Kafka({ clientId: 'kip848-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  // N = 10 messages on each partition.
  for (const partition of [0, 1]) await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition, value: `m${i}` })) });
  await producer.disconnect();
  const lib = (await run('bash', [join(REPO_ROOT, 'scripts/install-kafka.sh')])).trim();
  const classes = (await run('bash', [join(REPO_ROOT, 'scripts/build-java-consumer.sh')])).trim();
  // Each group consumes and commits M = 8 of the 20 messages, then stays in the group.
  await Promise.all(
    Object.entries(groups).map(async ([protocol, group]) => {
      const java = spawn('java', ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${lib}/*:${classes}`, 'ConsumeAndHold', broker.brokers[0] ?? '', topic, group, protocol, '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
      javas.push(java);
      let out = '';
      java.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      java.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      await waitUntil(`the ${protocol} consumer committed 8`, async () => (out.includes('consumed 8') ? true : java.exitCode !== null ? (() => { throw new Error(`java consumer exited: ${out.slice(-2000)}`); })() : undefined), { timeoutMs: 90_000, intervalMs: 250 });
    }),
  );
});

after(() =>
  runCleanups([
    { what: 'agent', run: async () => agent?.stop() },
    { what: 'java consumers', run: async () => Promise.all(javas.map((j) => (j.exitCode === null ? (j.kill('SIGKILL'), new Promise((r) => j.once('exit', r))) : undefined))) },
  ]),
);

test('the lag reader sees the new-protocol group as it is: Stable, one member owning both partitions, lag 12', async () => {
  const reader = createKafkaLagReader({ brokers: broker.brokers, clientId: 'kip848-reader', groupPattern: new RegExp(`^kip848-.*-${process.pid}$`), requestTimeoutMs: 5000 });
  try {
    const snap = await waitUntil('both groups stable', async () => {
      const s = await reader.read();
      return s.groups.length === 2 && s.groups.every((g) => g.state === 'Stable' && g.members === 1) ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    for (const [protocol, id] of Object.entries(groups)) {
      const g = snap.groups.find((x) => x.groupId === id);
      assert.ok(g, `${protocol} group listed`);
      assert.equal(g.partitions.length, 2, protocol);
      assert.equal(g.partitions.reduce((s, p) => s + (p.lag ?? 0), 0), 12, `${protocol}: 20 - 8`);
      assert.ok(g.partitions.every((p) => p.ownerHost === '127.0.0.1'), `${protocol}: owners ${JSON.stringify(g.partitions)}`);
    }
  } finally {
    await reader.close();
  }
});

test('the agent exports the new-protocol group like a classic one', async () => {
  const config = loadConfig(agentConfigSchema, {
    fileText: `nodeName: kip848-node
collectors:
  gpu: { enabled: false }
  xid: { enabled: false }
  podResources: { enabled: false }
  kafka: { enabled: true, brokers: ${JSON.stringify(broker.brokers)}, scope: cluster, intervalSeconds: 0.5, timeoutSeconds: 4, groupPattern: "^kip848-new-${process.pid}$" }
`,
  });
  agent = await createAgent(config, silentLogger(), { processMetrics: false });
  agent.runner.start();
  const a = agent;
  const text = await waitUntil('the group on /metrics', async () => {
    const t = (await a.server.inject({ url: '/metrics' })).body;
    return t.includes(`surgeguard_kafka_consumer_group_state{consumer_group="${groups.consumer}",state="Stable"} 1`) ? t : undefined;
  }, { timeoutMs: 30_000, intervalMs: 250 });
  assert.match(text, new RegExp(`surgeguard_kafka_consumer_group_members\\{consumer_group="${groups.consumer}"\\} 1`));
  assert.match(text, new RegExp(`surgeguard_kafka_consumer_group_partitions_unowned\\{consumer_group="${groups.consumer}"\\} 0`));
  const lags = [...text.matchAll(new RegExp(`surgeguard_kafka_consumer_group_lag\\{[^}]*consumer_group="${groups.consumer}"[^}]*\\} (\\d+)`, 'g'))].map((m) => Number(m[1]));
  assert.deepEqual([lags.length, lags.reduce((s, x) => s + x, 0)], [2, 12]);
});
