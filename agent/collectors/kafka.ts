import type { KafkaLagReader } from '../../common/kafka-lag.ts';
import { family, type Collector, type Sample } from '../collector.ts';
import type { PodIpSource } from '../pod-ips.ts';

export interface KafkaCollectorConfig {
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly scope: 'node' | 'cluster';
}

export interface KafkaCollectorDeps {
  readonly reader: KafkaLagReader;
  /** Needed for `scope: node`. */
  readonly podIps?: PodIpSource;
}

const P = ['consumer_group', 'topic', 'partition'] as const;

export const KAFKA_FAMILIES = [
  family('surgeguard_kafka_consumer_group_committed_offset', 'gauge', 'Offset the consumer group committed on the partition.', P),
  family('surgeguard_kafka_consumer_group_lag', 'gauge', 'Messages between the committed offset and the log end (log-end - committed).', P),
  family('surgeguard_kafka_log_end_offset', 'gauge', 'Log-end offset of the partition; its rate is the ingress rate.', ['topic', 'partition']),
  family('surgeguard_kafka_consumer_group_state', 'gauge', 'The group state: 1 for the current one.', ['consumer_group', 'state']),
  family('surgeguard_kafka_consumer_group_members', 'gauge', 'Live members of the group.', ['consumer_group']),
  family('surgeguard_kafka_consumer_group_partitions_unowned', 'gauge', 'Partitions with committed offsets that no live member owns (scope cluster only).', ['consumer_group']),
  family('surgeguard_kafka_requests', 'gauge', 'Kafka requests the last cycle sent.', []),
] as const;

/**
 * The kafka collector. `scope: cluster` reports every partition of every group once,
 * including those no live member owns; `scope: node` (the DaemonSet) reports only the
 * partitions whose owner's client host is a pod IP on this node, so the fleet's agents
 * together report each owned partition once.
 */
export function createKafkaCollector(deps: KafkaCollectorDeps, config: KafkaCollectorConfig): Collector {
  return {
    name: 'kafka',
    intervalMs: config.intervalSeconds * 1000,
    timeoutMs: config.timeoutSeconds * 1000,
    families: KAFKA_FAMILIES,
    async collect() {
      const snap = await deps.reader.read();
      const local = config.scope === 'node' ? deps.podIps?.ips() : undefined;
      const samples: Sample[] = [{ name: 'surgeguard_kafka_requests', labels: {}, value: snap.requests }];
      const ends = new Map<string, Sample>();
      for (const g of snap.groups) {
        const parts = config.scope === 'cluster' ? g.partitions : g.partitions.filter((p) => p.ownerHost !== undefined && local?.has(p.ownerHost));
        if (config.scope === 'node' && parts.length === 0) continue;
        samples.push({ name: 'surgeguard_kafka_consumer_group_state', labels: { consumer_group: g.groupId, state: g.state }, value: 1 });
        samples.push({ name: 'surgeguard_kafka_consumer_group_members', labels: { consumer_group: g.groupId }, value: g.members });
        if (config.scope === 'cluster') {
          samples.push({ name: 'surgeguard_kafka_consumer_group_partitions_unowned', labels: { consumer_group: g.groupId }, value: parts.filter((p) => p.ownerHost === undefined && p.committed !== undefined).length });
        }
        for (const p of parts) {
          const labels = { consumer_group: g.groupId, topic: p.topic, partition: String(p.partition) };
          if (p.committed !== undefined) samples.push({ name: 'surgeguard_kafka_consumer_group_committed_offset', labels, value: p.committed });
          if (p.lag !== undefined) samples.push({ name: 'surgeguard_kafka_consumer_group_lag', labels, value: p.lag });
          if (p.logEnd !== undefined) ends.set(`${p.topic}/${p.partition}`, { name: 'surgeguard_kafka_log_end_offset', labels: { topic: p.topic, partition: String(p.partition) }, value: p.logEnd });
        }
      }
      samples.push(...ends.values());
      return samples;
    },
    close: () => deps.reader.close(),
  };
}
