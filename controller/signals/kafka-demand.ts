import type { KafkaLagReader, LagSnapshot } from '../../common/kafka-lag.ts';
import { errorMessage } from '../../common/errors.ts';
import type { SignalReading, SignalRequest, SignalSource } from './signal.ts';

interface TopicEnds {
  atMs: number;
  sum: number;
}

/**
 * Demand from Kafka: the ingress rate (log-end offsets over time) plus the rate that drains the
 * current lag within a pod's startup time. Lag is cluster-wide, so partitions that no live
 * consumer owns count too. The first read of a topic has no rate yet and reports nothing.
 */
export function kafkaDemandSource(deps: { reader: (groups: readonly string[]) => KafkaLagReader }): SignalSource {
  let reader: KafkaLagReader | undefined;
  let readerGroups = '';
  const ends = new Map<string, TopicEnds>();

  const readerFor = async (groups: readonly string[]): Promise<KafkaLagReader> => {
    const key = [...new Set(groups)].sort().join('\n');
    if (reader && key === readerGroups) return reader;
    await reader?.close();
    reader = deps.reader([...new Set(groups)].sort());
    readerGroups = key;
    return reader;
  };

  return {
    async read(requests, nowMs) {
      const out = new Map<string, SignalReading>();
      const kafka = requests.filter((r): r is SignalRequest & { signal: { kind: 'kafka'; topic: string; consumerGroup: string } } => r.signal.kind === 'kafka');
      if (kafka.length === 0) return out;
      let snapshot: LagSnapshot;
      try {
        snapshot = await (await readerFor(kafka.map((r) => r.signal.consumerGroup))).read();
      } catch (err) {
        for (const r of kafka) out.set(r.key, { ok: false, error: `kafka: ${errorMessage(err)}` });
        return out;
      }
      for (const r of kafka) out.set(r.key, demandOf(snapshot, r, nowMs, ends));
      return out;
    },
    async close() {
      await reader?.close();
      reader = undefined;
    },
  };
}

function demandOf(snapshot: LagSnapshot, r: SignalRequest & { signal: { kind: 'kafka'; topic: string; consumerGroup: string } }, nowMs: number, ends: Map<string, TopicEnds>): SignalReading {
  const group = snapshot.groups.find((g) => g.groupId === r.signal.consumerGroup);
  const parts = group?.partitions.filter((p) => p.topic === r.signal.topic) ?? [];
  if (parts.length === 0) return { ok: false, error: `kafka: group ${r.signal.consumerGroup} has no partitions of topic ${r.signal.topic}` };
  if (parts.some((p) => p.logEnd === undefined)) return { ok: false, error: `kafka: no log-end offset for some partitions of ${r.signal.topic}` };
  const sum = parts.reduce((s, p) => s + (p.logEnd ?? 0), 0);
  // Lag of a partition the group never committed on is its whole log: nothing of it was consumed.
  const lag = parts.reduce((s, p) => s + (p.lag ?? p.logEnd ?? 0), 0);
  const key = `${r.signal.consumerGroup}\n${r.signal.topic}`;
  const prev = ends.get(key);
  ends.set(key, { atMs: nowMs, sum });
  if (!prev || nowMs <= prev.atMs) return { ok: false, error: 'kafka: first reading of this topic; the ingress rate needs two' };
  const ingress = Math.max(0, (sum - prev.sum) / ((nowMs - prev.atMs) / 1000));
  const drain = lag / Math.max(1, r.startupSeconds);
  return { ok: true, rate: ingress + drain, detail: { ingressPerSecond: ingress, lag, drainPerSecond: drain }, partitions: parts.length };
}
