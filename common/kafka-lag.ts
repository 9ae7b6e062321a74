// The one file that knows the Kafka client. The agent (scope: node) and the controller
// (scope: cluster) read consumer lag through KafkaLagReader only, so replacing kafkajs with
// another client (docs/dependencies.md names @platformatic/kafka) changes this file alone.
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { AssignerProtocol, Kafka, logLevel, type Admin, type ISocketFactory, type SASLOptions } from 'kafkajs';
import { ErrorCode, SurgeGuardError, errorMessage } from './errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { settlesWithin } from './deadline.ts';
import { createConsumerGroupDescriber, type ConsumerGroupDescriber, type ConsumerProtocolGroup } from './kafka-consumer-groups.ts';

/** How long a disconnect may take before it is abandoned. */
const DISCONNECT_WAIT_MS = 3000;

/** One partition as a consumer group sees it. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Absent when the group never committed on this partition. */
  readonly committed: number | undefined;
  /** Absent when the partition's leader did not answer. */
  readonly logEnd: number | undefined;
  /** logEnd - committed, absent when either is. */
  readonly lag: number | undefined;
  /** The client host of the member that owns it now (an IP), or undefined when no live member does. */
  readonly ownerHost: string | undefined;
}

export interface GroupLag {
  readonly groupId: string;
  /** Stable, PreparingRebalance, CompletingRebalance, Empty, Dead or Unknown. */
  readonly state: string;
  readonly members: number;
  readonly partitions: readonly PartitionLag[];
}

export interface LagSnapshot {
  readonly groups: readonly GroupLag[];
  /** Kafka requests this read sent; grows with brokers and groups, not partitions. */
  readonly requests: number;
}

export interface KafkaLagOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Groups to read, as a regular expression on the group id. */
  readonly groupPattern: RegExp;
  readonly requestTimeoutMs: number;
  readonly tls?: ConnectionOptions;
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
}

/** Reads committed offsets, log-end offsets and group states for many groups in few requests. */
export interface KafkaLagReader {
  read(): Promise<LagSnapshot>;
  close(): Promise<void>;
}

type TopicPartitions = Map<string, Set<number>>;

/**
 * Creates the kafkajs-based reader. Per read: one ListGroups per broker, one DescribeGroups per
 * coordinator, one OffsetFetch per group, one Metadata, and one ListOffsets per partition leader
 * for all topics together; groups on the new consumer protocol (KIP-848) add one FindCoordinator
 * and one ConsumerGroupDescribe per coordinator (kafka-consumer-groups.ts).
 */
export function createKafkaLagReader(opts: KafkaLagOptions): KafkaLagReader {
  let requests = 0;
  const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    const socket = ssl ? tlsConnect({ host, port, ...(!isIP(host) ? { servername: host } : {}), ...ssl }, onConnect) : netConnect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    // kafkajs writes each request with one write call: counting them counts requests.
    const write = socket.write.bind(socket) as (...a: unknown[]) => boolean;
    socket.write = ((...a: unknown[]) => {
      requests++;
      return write(...a);
    }) as typeof socket.write;
    return socket;
  };
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(opts.requestTimeoutMs, 3000),
    requestTimeout: opts.requestTimeoutMs,
    // The caller samples on an interval; retrying inside one read only delays the failure report.
    retry: { retries: 0 },
    socketFactory,
    ...(opts.tls ? { ssl: opts.tls } : {}),
    ...(opts.sasl ? { sasl: opts.sasl as SASLOptions } : {}),
  });
  let admin: Admin | undefined;
  let cluster: InternalCluster | undefined;
  const newProtocol = createConsumerGroupDescriber(opts);

  async function connected(): Promise<{ admin: Admin; cluster: InternalCluster }> {
    if (admin && cluster) return { admin, cluster };
    const a = kafka.admin({ retry: { retries: 0 } });
    const c = internalCluster(kafka);
    try {
      await a.connect();
      await c.connect();
    } catch (err) {
      await settlesWithin(Promise.allSettled([a.disconnect(), c.disconnect()]), DISCONNECT_WAIT_MS);
      throw err;
    }
    admin = a;
    cluster = c;
    return { admin: a, cluster: c };
  }

  async function reset(): Promise<void> {
    const [a, c] = [admin, cluster];
    admin = undefined;
    cluster = undefined;
    // kafkajs can leave a disconnect pending for ever (a request queue re-arming a 1 ms timer,
    // tulios/kafkajs#1751); a caller waiting on it would stop reading lag for good.
    await settlesWithin(Promise.allSettled([a?.disconnect(), c?.disconnect(), newProtocol.close()]), DISCONNECT_WAIT_MS);
  }

  return {
    async read() {
      const before = requests;
      try {
        // One bound over the whole read: a request kafkajs never settles must not stall the
        // caller's loop; the connection is rebuilt on the next read.
        const limit = new AbortController();
        const work = (async () => {
          const { admin: a, cluster: c } = await connected();
          return readGroups(a, c, opts.groupPattern, newProtocol);
        })();
        work.catch(() => undefined);
        const timeout = sleep(opts.requestTimeoutMs * 3, undefined, { signal: limit.signal }).then(() => {
          throw new Error(`no answer within ${opts.requestTimeoutMs * 3} ms`);
        });
        timeout.catch(() => undefined);
        const groups = await Promise.race([work, timeout]).finally(() => limit.abort());
        return { groups, requests: requests - before };
      } catch (cause) {
        // A broken connection is rebuilt on the next read, so a restarted broker recovers
        // without restarting the process.
        await reset();
        throw new SurgeGuardError(ErrorCode.KafkaRequestFailed, `reading consumer lag from ${opts.brokers.join(',')}: ${errorMessage(cause)}`, { cause });
      }
    },
    close: reset,
  };
}

async function readGroups(admin: Admin, cluster: InternalCluster, pattern: RegExp, newProtocol: ConsumerGroupDescriber): Promise<GroupLag[]> {
  const listed = await admin.listGroups();
  const ids = listed.groups.filter((g) => (g.protocolType === 'consumer' || g.protocolType === '') && pattern.test(g.groupId)).map((g) => g.groupId).sort();
  if (ids.length === 0) return [];
  const classic = await admin.describeGroups(ids);
  // A group ListGroups shows as a consumer group that the classic describe calls Dead with no
  // protocol is on the new consumer protocol (KIP-848): describe it with ConsumerGroupDescribe.
  const suspect = ids.filter((id) => {
    const d = classic.groups.find((g) => g.groupId === id);
    return !d || (d.state === 'Dead' && d.protocolType === '' && listed.groups.some((g) => g.groupId === id && g.protocolType === 'consumer'));
  });
  const [modern, committedByGroup] = await Promise.all([newProtocol.describe(suspect), Promise.all(ids.map((groupId) => admin.fetchOffsets({ groupId })))]);
  const described = { groups: classic.groups.map((g) => modern.get(g.groupId) ?? { groupId: g.groupId, state: g.state, members: g.members.map(classicMember) }) };
  const wanted: TopicPartitions = new Map();
  const add = (topic: string, partition: number): void => {
    if (!wanted.has(topic)) wanted.set(topic, new Set());
    wanted.get(topic)?.add(partition);
  };
  const owners = ids.map((_, i) => ownersOf(described.groups.find((g) => g.groupId === ids[i])?.members ?? []));
  committedByGroup.forEach((topics, i) => {
    for (const t of topics) for (const p of t.partitions) add(t.topic, p.partition);
    for (const key of owners[i]?.keys() ?? []) add(...splitKey(key));
  });
  const ends = await logEnds(cluster, wanted);
  return ids.map((groupId, i) => {
    const d = described.groups.find((g) => g.groupId === groupId);
    const own = owners[i] ?? new Map<string, string>();
    const committed = new Map<string, number>();
    for (const t of committedByGroup[i] ?? []) for (const p of t.partitions) if (Number(p.offset) >= 0) committed.set(key(t.topic, p.partition), Number(p.offset));
    const keys = new Set([...committed.keys(), ...own.keys()]);
    const partitions = [...keys].sort().map((k) => {
      const [topic, partition] = splitKey(k);
      const c = committed.get(k);
      const e = ends.get(k);
      return { topic, partition, committed: c, logEnd: e, lag: c !== undefined && e !== undefined ? Math.max(0, e - c) : undefined, ownerHost: own.get(k) };
    });
    return { groupId, state: d?.state ?? 'Unknown', members: d?.members.length ?? 0, partitions };
  });
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function splitKey(k: string): [string, number] {
  const i = k.lastIndexOf('\u0000');
  return [k.slice(0, i), Number(k.slice(i + 1))];
}

/** A classic group's member with its assignment decoded, in the shape the new protocol's describe gives. */
function classicMember(m: { clientHost: string; memberAssignment: Buffer }): ConsumerProtocolGroup['members'][number] {
  if (!m.memberAssignment || m.memberAssignment.length === 0) return { clientHost: m.clientHost, partitions: [] };
  const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
  return { clientHost: m.clientHost, partitions: Object.entries(decoded?.assignment ?? {}).flatMap(([topic, parts]) => parts.map((partition) => ({ topic, partition }))) };
}

/** Partition -> client host of its owner, from the members' assignments. */
function ownersOf(members: ConsumerProtocolGroup['members']): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of members) {
    // The broker prints the host as "/10.0.0.5".
    const host = m.clientHost.replace(/^\//, '');
    for (const p of m.partitions) out.set(key(p.topic, p.partition), host);
  }
  return out;
}

/** kafkajs's cluster object, which batches ListOffsets by leader; not in its public types. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number }>;
  fetchTopicsOffset(topics: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

function internalCluster(kafka: Kafka): InternalCluster {
  // kafkajs's admin.fetchTopicOffsets sends two ListOffsets per topic; its cluster sends one per
  // leader for all topics. The factory is a symbol-keyed member of the Kafka instance.
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = sym ? (kafka as unknown as Record<symbol, unknown>)[sym] : undefined;
  if (typeof factory !== 'function') throw new SurgeGuardError(ErrorCode.Internal, 'this kafkajs version has no cluster factory; update common/kafka-lag.ts');
  return (factory as (o: object) => InternalCluster)({ allowAutoTopicCreation: false, instrumentationEmitter: undefined });
}

async function logEnds(cluster: InternalCluster, wanted: TopicPartitions): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (wanted.size === 0) return out;
  await cluster.addMultipleTargetTopics([...wanted.keys()]);
  await cluster.refreshMetadataIfNecessary();
  const topics = [...wanted.keys()].map((topic) => ({
    topic,
    fromBeginning: false,
    partitions: cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId })),
  }));
  for (const t of await cluster.fetchTopicsOffset(topics.filter((t) => t.partitions.length > 0))) {
    for (const p of t.partitions) out.set(key(t.topic, p.partition), Number(p.offset));
  }
  return out;
}
