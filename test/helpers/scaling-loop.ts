// The scaling tick with in-memory stand-ins for what it reads and writes (pure-logic unit tests of
// the tick: the real API server is covered by test/integration/controller). Each tick advances a
// fake clock by one 15 s interval.
import { silentLogger, type Logger } from '../../common/logger.ts';
import { createMetricRegistry, type MetricRegistry } from '../../common/metrics.ts';
import type { PredictiveScaler } from '../../controller/crd/predictive-scaler.ts';
import type { ClusterReader, ClusterWriter } from '../../controller/kube/cluster.ts';
import type { ScaleClient } from '../../controller/kube/scale-target.ts';
import { createDecisionLog, type DecisionLog } from '../../controller/reconcile/decision-log.ts';
import { createScalingLoop, type TickDeps, type TickReport } from '../../controller/reconcile/tick.ts';
import type { SignalSource } from '../../controller/signals/signal.ts';
import { createHoltWintersForecaster } from '../../inference/holt-winters.ts';

/** A scale subresource per target name, held in a map the test can read. */
export function memoryScale(replicas: Map<string, number>): ScaleClient {
  return {
    read: async (ref) => ({ replicas: replicas.get(ref.name) ?? 1, currentReplicas: replicas.get(ref.name) ?? 1, selector: `app=${ref.name}`, resourceVersion: '1' }),
    writerOf: async () => undefined,
    setReplicas: async (ref, n) => (replicas.set(ref.name, n), { replicas: n, currentReplicas: n, selector: '', resourceVersion: '2' }),
  };
}

export function standInLoop(x: { scalers: () => readonly PredictiveScaler[]; signal: SignalSource; scale: ScaleClient; writer?: ClusterWriter; logger?: Logger; gpuCluster?: TickDeps['gpuCluster'] }): { metrics: MetricRegistry; decisions: DecisionLog; tick(): Promise<TickReport> } {
  const reader: ClusterReader = { hpaTargets: async () => new Map(), paused: async () => false, podStats: async () => ({ unschedulable: 0, ready: 1 }) };
  const writer: ClusterWriter = x.writer ?? { patchScalerStatus: async () => undefined, event: async () => undefined };
  const metrics = createMetricRegistry();
  const decisions = createDecisionLog(200);
  let clock = 1_000_000;
  const loop = createScalingLoop(
    {
      scalers: x.scalers,
      signals: [x.signal],
      forecaster: createHoltWintersForecaster(),
      scale: x.scale,
      reader,
      writer,
      isLeader: () => true,
      now: () => clock,
      logger: x.logger ?? silentLogger(),
      metrics,
      decisions,
      ...(x.gpuCluster ? { gpuCluster: x.gpuCluster } : {}),
    },
    { intervalSeconds: 15, historyIntervals: 100, pauseFlag: false, pauseConfigMap: { namespace: 'x', name: 'y' }, podStatsEveryTicks: 4, forecasting: true, forecastTimeScale: 1 },
  );
  return {
    metrics,
    decisions,
    tick: () => ((clock += 15_000), loop.tick()),
  };
}
