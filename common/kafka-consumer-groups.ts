import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type * as PlatformaticKafka from '@platformatic/kafka';

/**
 * Groups on Kafka's new consumer protocol (KIP-848, `group.protocol=consumer`, on by default for
 * new groups in Kafka 4) are invisible to the classic DescribeGroups that kafkajs sends: the broker
 * answers "Dead" with no members while the group consumes. ConsumerGroupDescribe (API key 69)
 * describes them; kafkajs does not have it, so this one request goes through @platformatic/kafka
 * (pure JS, maintained), the client docs/dependencies.md names as kafkajs's successor. Committed
 * offsets (OffsetFetch) are read the same way for both protocols, so only state and owners come
 * from here.
 */
export interface ConsumerProtocolGroup {
  readonly groupId: string;
  /** Stable, Empty, Assigning, Reconciling, Dead, NotReady. */
  readonly state: string;
  readonly members: ReadonlyArray<{ readonly clientHost: string; readonly partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }> }>;
}

export interface ConsumerGroupsOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  readonly tls?: TlsOptions;
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
}

/**
 * @platformatic/kafka loads every API, its schema registry's validators and codecs with it: about
 * 54 MiB of RSS in a process that never talks to Kafka (the controller with Prometheus signals
 * only). So it is loaded at the first describe, once per process.
 */
let kafkaModule: Promise<typeof PlatformaticKafka> | undefined;
const platformaticKafka = (): Promise<typeof PlatformaticKafka> => (kafkaModule ??= import('@platformatic/kafka'));

/** FindCoordinator's key type for groups. */
const GROUP_KEY = 0;
/** Describes groups with ConsumerGroupDescribe; groups the broker does not know on that protocol are left out. */
export interface ConsumerGroupDescriber {
  describe(groupIds: readonly string[]): Promise<Map<string, ConsumerProtocolGroup>>;
  close(): Promise<void>;
}

export function createConsumerGroupDescriber(opts: ConsumerGroupsOptions): ConsumerGroupDescriber {
  // One connection per broker address, kept between reads (the lag reader runs every few seconds).
  const connections = new Map<string, PlatformaticKafka.Connection>();

  const connectionTo = async (host: string, port: number): Promise<PlatformaticKafka.Connection> => {
    const key = `${host}:${port}`;
    const open = connections.get(key);
    if (open) return open;
    const { Connection } = await platformaticKafka();
    const c = new Connection(opts.clientId, {
      connectTimeout: opts.requestTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.sasl ? { sasl: { mechanism: SASL[opts.sasl.mechanism], username: opts.sasl.username, password: opts.sasl.password } } : {}),
    });
    await c.connect(host, port);
    connections.set(key, c);
    return c;
  };

  const close = async (): Promise<void> => {
    const all = [...connections.values()];
    connections.clear();
    await Promise.allSettled(all.map((c) => c.close()));
  };

  return {
    async describe(groupIds) {
      const out = new Map<string, ConsumerProtocolGroup>();
      if (groupIds.length === 0) return out;
      try {
        const { consumerGroupDescribeV0, findCoordinatorV6 } = await platformaticKafka();
        const [host, port] = hostPort(opts.brokers[0] ?? '');
        const bootstrap = await connectionTo(host, port);
        const found = await findCoordinatorV6.api.async(bootstrap, GROUP_KEY, [...groupIds]);
        const byCoordinator = new Map<string, { host: string; port: number; ids: string[] }>();
        for (const c of found.coordinators) {
          if (c.errorCode !== 0) continue;
          const k = `${c.host}:${c.port}`;
          const entry = byCoordinator.get(k) ?? { host: c.host, port: c.port, ids: [] };
          entry.ids.push(c.key);
          byCoordinator.set(k, entry);
        }
        for (const { host: h, port: p, ids } of byCoordinator.values()) {
          const res = await consumerGroupDescribeV0.api.async(await connectionTo(h, p), ids, false);
          // A classic group answers GROUP_ID_NOT_FOUND here: kafkajs's describe covers it.
          for (const g of res.groups.filter((x) => x.errorCode === 0)) out.set(g.groupId, groupOf(g));
        }
        return out;
      } catch (err) {
        // A broken connection is rebuilt on the next read.
        await close();
        throw err;
      }
    },
    close,
  };
}

/** A described group in the shape the lag reader uses: members with the partitions they own. */
function groupOf(g: { groupId: string; groupState: string; members: ReadonlyArray<{ clientHost: string; assignment: { topicPartitions: ReadonlyArray<{ topicName: string; partitions: readonly number[] }> } }> }): ConsumerProtocolGroup {
  return {
    groupId: g.groupId,
    state: g.groupState,
    members: g.members.map((m) => ({ clientHost: m.clientHost, partitions: m.assignment.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topicName, partition }))) })),
  };
}

const SASL = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

function hostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}
