// Proves the broker is real: messages go through it and the group's lag is read back
// through the admin API, the same way the agent's kafka collector will.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { sharedKafka, type KafkaInfo } from '../../helpers/infra/kafka.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
let info: KafkaInfo;
let admin: Admin;
let kafka: Kafka;

before(async () => {
  info = await sharedKafka();
  kafka = new Kafka({ clientId: 'smoke', brokers: info.brokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});
after(async () => {
  await admin?.disconnect();
});

test('messages produced to the real broker are consumed, and the group lag is read through the admin API', async () => {
  const topic = `smoke-${process.pid}`;
  const groupId = `smoke-group-${process.pid}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  // 5 messages to partition 0 and 3 to partition 1.
  await producer.send({ topic, messages: [0, 1, 2, 3, 4].map((i) => ({ partition: 0, value: `p0-${i}` })) });
  await producer.send({ topic, messages: [0, 1, 2].map((i) => ({ partition: 1, value: `p1-${i}` })) });
  await producer.disconnect();

  // Consume exactly two messages of partition 0, commit, and stop: lag must be 3 + 3.
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('did not consume within 30 s')), 30_000);
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (partition !== 0 || seen.length >= 2) return;
          seen.push(String(message.value));
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
          if (seen.length === 2) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  assert.deepEqual(seen, ['p0-0', 'p0-1']);

  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const lag = new Map<number, number>();
  for (const p of committed[0]?.partitions ?? []) {
    const end = Number(ends.find((e) => e.partition === p.partition)?.offset);
    const off = Number(p.offset) < 0 ? 0 : Number(p.offset);
    lag.set(p.partition, end - off);
  }
  assert.equal(lag.get(0), 3);
  assert.equal(lag.get(1), 3);
});
