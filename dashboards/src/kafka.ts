import type { Dashboard } from '@grafana/schema';
import { dashboard, labelVariable } from './lib.ts';

const group = 'consumer_group=~"$consumer_group"';

/** Kafka: consumer lag, ingress and stalled groups. */
export function kafka(): Dashboard {
  return dashboard({
    uid: 'surgeguard-kafka',
    title: 'SurgeGuard / Kafka',
    description: 'Consumer lag and ingress of the topics that feed the fleet, as the SurgeGuard agents read them.',
    variables: [labelVariable('consumer_group', 'Consumer group', 'surgeguard_kafka_consumer_group_lag'), labelVariable('topic', 'Topic', 'surgeguard_kafka_log_end_offset')],
    panels: [
      {
        title: 'Lag per consumer group',
        type: 'timeseries',
        required: true,
        description: 'Messages waiting, summed over the partitions of each group.',
        queries: [{ expr: `consumer_group:surgeguard_kafka_consumer_group_lag:sum{${group}}`, legend: '{{consumer_group}}' }],
      },
      {
        title: 'Lag in seconds',
        type: 'timeseries',
        required: true,
        unit: 's',
        description: 'Lag divided by the rate the group commits: how long the backlog takes at the current pace. Absent while a group commits nothing.',
        queries: [{ expr: `consumer_group:surgeguard_kafka_consumer_group_lag_seconds:estimate{${group}}`, legend: '{{consumer_group}}' }],
      },
      {
        title: 'Ingress per topic',
        type: 'timeseries',
        required: true,
        unit: 'ops',
        description: 'Messages per second produced to each topic (rate of the log-end offsets).',
        queries: [{ expr: 'sum by (topic) (max by (topic, partition) (rate(surgeguard_kafka_log_end_offset{topic=~"$topic"}[$__rate_interval])))', legend: '{{topic}}' }],
      },
      {
        title: 'Consume rate per group',
        type: 'timeseries',
        unit: 'ops',
        description: 'Messages per second each group commits.',
        queries: [{ expr: `sum by (consumer_group) (max by (consumer_group, topic, partition) (rate(surgeguard_kafka_consumer_group_committed_offset{${group}}[$__rate_interval])))`, legend: '{{consumer_group}}' }],
      },
      {
        title: 'Stalled groups',
        type: 'stat',
        required: true,
        width: 6,
        description: 'Groups with lag that committed nothing in the last 5 minutes.',
        queries: [{ expr: 'count(consumer_group:surgeguard_kafka_consumer_group_lag:sum > 0 and on (consumer_group) consumer_group:surgeguard_kafka_consumer_group_committed_offset:rate5m == 0) or vector(0)' }],
      },
      {
        title: 'Stalled groups firing',
        type: 'table',
        width: 18,
        description: 'Groups for which SurgeGuardKafkaConsumerStalled fires now.',
        queries: [{ expr: 'ALERTS{alertname="SurgeGuardKafkaConsumerStalled", alertstate="firing"}' }],
      },
      {
        title: 'Lag per partition',
        type: 'timeseries',
        description: 'Messages waiting per partition; one partition far ahead of the others means a hot key or a stuck member.',
        queries: [{ expr: `max by (consumer_group, topic, partition) (surgeguard_kafka_consumer_group_lag{${group}, topic=~"$topic"})`, legend: '{{consumer_group}} {{topic}}/{{partition}}' }],
      },
      {
        title: 'Group members',
        type: 'timeseries',
        description: 'Live members of each group.',
        queries: [{ expr: `max by (consumer_group) (surgeguard_kafka_consumer_group_members{${group}})`, legend: '{{consumer_group}}' }],
      },
      {
        title: 'Unowned partitions',
        type: 'timeseries',
        description: 'Partitions with committed offsets that no live member owns (reported by the cluster-scope agent).',
        queries: [{ expr: `max by (consumer_group) (surgeguard_kafka_consumer_group_partitions_unowned{${group}})`, legend: '{{consumer_group}}' }],
      },
      {
        title: 'Group state',
        type: 'table',
        description: 'Current state of each group (Stable, PreparingRebalance, Empty, ...).',
        queries: [{ expr: `max by (consumer_group, state) (surgeguard_kafka_consumer_group_state{${group}}) == 1` }],
      },
    ],
  });
}
