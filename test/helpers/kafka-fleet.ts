import { AppsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { waitUntil } from './infra/process.ts';

/**
 * A simulated inference fleet on a real broker: a producer sends demand into a topic, and the
 * "consumers" commit offsets at `capacity` messages per second per ready replica of a real
 * Deployment, so lag grows and drains the way a Kafka-fed GPU fleet's does.
 */
export interface KafkaFleet {
  /** Messages per second the producer sends now. */
  setRate(perSecond: number): void;
  readyReplicas(): number;
  /** Total lag of the group on the topic at the last fleet step. */
  lag(): number;
  /** Largest total lag seen since start. */
  maxLag(): number;
  stop(): Promise<void>;
}

export async function createTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'sg-test', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // KRaft answers the first metadata calls after a create with UNKNOWN_TOPIC or NOT_LEADER
    // for a moment; wait until every partition has a leader rather than failing the test.
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: false });
    await waitUntil(`leaders for ${topic}`, async () => {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const parts = md.topics[0]?.partitions ?? [];
      return parts.length === partitions && parts.every((p) => p.leader >= 0) ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
  } finally {
    await admin.disconnect();
  }
}

export async function startKafkaFleet(opts: { brokers: string[]; topic: string; groupId: string; capacityPerReplica: number; kc: KubeConfig; namespace: string; deployment: string }): Promise<KafkaFleet> {
  const kafka = new Kafka({ clientId: 'sg-test-fleet', brokers: opts.brokers, logLevel: logLevel.NOTHING });
  const admin: Admin = kafka.admin();
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await Promise.all([admin.connect(), producer.connect()]);
  const apps = opts.kc.makeApiClient(AppsV1Api);
  // Start the group at the end of the log so that only demand sent from now on counts. Right
  // after the topic is created a partition may still report NOT_LEADER: retry until it settles.
  const ends0 = await waitUntil(`offsets of ${opts.topic}`, async () => {
    const ends = await admin.fetchTopicOffsets(opts.topic);
    await admin.setOffsets({ groupId: opts.groupId, topic: opts.topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.offset })) });
    return ends;
  }, { timeoutMs: 30_000, intervalMs: 300 });
  const partitions = ends0.map((p) => p.partition);
  let rate = 0;
  let ready = 0;
  let lag = 0;
  let maxLag = 0;
  let stopped = false;
  let carry = 0;
  let next = 0;

  const produceLoop = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      carry += rate * 0.25;
      const n = Math.floor(carry);
      carry -= n;
      if (n > 0) {
        const messages = Array.from({ length: n }, () => ({ partition: partitions[next++ % partitions.length], value: 'x' }));
        await producer.send({ topic: opts.topic, messages }).catch(() => undefined);
      }
      await sleep(Math.max(0, 250 - (Date.now() - t0)));
    }
  })();

  let budget = 0;
  let lastStep = Date.now();
  const fleetLoop = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      // Capacity is per second of wall time: a slow step (a busy machine) must not serve less.
      const elapsed = (t0 - lastStep) / 1000;
      lastStep = t0;
      try {
        const d = await apps.readNamespacedDeployment({ name: opts.deployment, namespace: opts.namespace });
        ready = d.status?.readyReplicas ?? 0;
        const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(opts.topic), admin.fetchOffsets({ groupId: opts.groupId, topics: [opts.topic] })]);
        const offs = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
        budget += opts.capacityPerReplica * ready * elapsed;
        const moves: { partition: number; offset: string }[] = [];
        let total = 0;
        // Spread this step's capacity over the partitions that have a backlog.
        const backlog = ends.map((e) => ({ partition: e.partition, end: Number(e.offset), at: offs.get(e.partition) ?? 0 })).filter((p) => p.end > p.at);
        for (const p of backlog) {
          const take = Math.min(p.end - p.at, Math.floor(budget / Math.max(1, backlog.length)));
          if (take > 0) moves.push({ partition: p.partition, offset: String(p.at + take) });
          total += p.end - p.at - Math.max(0, take);
        }
        if (moves.length) {
          budget -= moves.reduce((s, m) => s + (Number(m.offset) - (offs.get(m.partition) ?? 0)), 0);
          await admin.setOffsets({ groupId: opts.groupId, topic: opts.topic, partitions: moves });
        }
        // Idle capacity does not accumulate beyond a second's worth (consumers cannot bank it).
        budget = backlog.length === 0 ? 0 : Math.min(budget, opts.capacityPerReplica * ready);
        lag = total;
        maxLag = Math.max(maxLag, lag);
      } catch {
        // A step that fails (broker busy) is simply retried next step; the fleet keeps its state.
      }
      await sleep(Math.max(0, 500 - (Date.now() - t0)));
    }
  })();

  return {
    setRate: (r) => void (rate = r),
    readyReplicas: () => ready,
    lag: () => lag,
    maxLag: () => maxLag,
    async stop() {
      stopped = true;
      await Promise.all([produceLoop, fleetLoop]);
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
