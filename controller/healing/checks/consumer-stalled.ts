import type { HealingConfig } from '../config.ts';
import type { CheckContext, Finding, HealthCheck } from '../types.ts';

/**
 * The consumer-stalled check: a consumer group whose committed offsets have not moved for the
 * whole window while its lag grew. The agents read lag cluster-wide (partitions no live
 * consumer owns included), so a group whose consumers all died is seen too. Nothing to
 * repair from here (which pods?): on-call is paged.
 */
export function consumerStalledCheck(_deps: unknown, config: HealingConfig['checks']): HealthCheck {
  return {
    name: 'consumer-stalled',
    async run(ctx: CheckContext): Promise<Finding[]> {
      if (!ctx.query) return [];
      const w = `${config.consumerStalledSeconds}s`;
      const committed = 'surgeguard_kafka_consumer_group_committed_offset';
      const lag = 'surgeguard_kafka_consumer_group_lag';
      const series = await ctx.query(
        `(sum by (consumer_group) (max_over_time(${committed}[${w}]) - min_over_time(${committed}[${w}])) == 0)` +
          ` and on (consumer_group) (sum by (consumer_group) (delta(${lag}[${w}])) > 0)` +
          ` and on (consumer_group) (min by (consumer_group) (count_over_time(${lag}[${w}])) >= 3)`,
      );
      const growth = new Map((await ctx.query(`sum by (consumer_group) (delta(${lag}[${w}]))`)).map((s) => [s.labels.consumer_group ?? '', s.value]));
      return series.map((s) => {
        const group = s.labels.consumer_group ?? '';
        return {
          check: 'consumer-stalled',
          severity: 'critical',
          fault: 'notice',
          target: { kind: 'ConsumerGroup', name: group },
          summary: `consumer group ${group} committed nothing for ${w} while its lag grew by ${Math.round(growth.get(group) ?? 0)}`,
          evidence: { window: w, lagGrowth: growth.get(group) },
        };
      });
    },
  };
}
