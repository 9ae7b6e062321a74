import { forecastNeedGpus } from '../controller/capacity/placeholders.ts';
import type { Forecaster, SeriesForecast } from '../inference/forecaster.ts';
import type { ReplayParams } from './engine.ts';

/** Windows forecast per batched call, as the engine batches them. */
const BATCH = 512;

/**
 * Replicas the policy's forecaster says are needed from the pod lead K + 1 to the node horizon
 * N + K + 1, per interval, and at least what the policy asked for then: what the placeholders of
 * replay/nodes.ts are sized from. Sized as `decide` sizes (the policy's quantile times headroom, in
 * whole replicas within the bounds), from the uncalibrated forecast: the band's calibration is
 * learned at the pod lead only. Causal: at the end of t it sees d_0..d_t.
 */
export async function nodeHorizonNeed(forecaster: Forecaster, demand: readonly number[], x: { params: ReplayParams; nodeLeadSteps: number; targets: readonly number[] }): Promise<number[]> {
  const p = x.params;
  const counts = Float64Array.from(demand);
  const lead = p.startupSteps + 1;
  const out: number[] = [];
  for (let start = 0; start < demand.length; start += BATCH) {
    const end = Math.min(demand.length, start + BATCH);
    const histories: Float64Array[] = [];
    for (let t = start; t < end; t++) histories.push(counts.subarray(0, t + 1));
    const batch = await forecaster.forecast({ histories, intervalSeconds: p.intervalSeconds, horizonSteps: lead + x.nodeLeadSteps });
    for (let t = start; t < end; t++) {
      const f = batch.forecasts[t - start] as SeriesForecast;
      const q = p.settings.quantile === 'p50' ? f.p50 : f.p90;
      const need = forecastNeedGpus(q, { fromStep: lead - 1, toStep: lead + x.nodeLeadSteps - 1, perReplicaCapacity: p.capacity, headroom: p.settings.headroom, minReplicas: p.minReplicas, maxReplicas: p.maxReplicas, gpusPerReplica: 1 });
      out.push(Math.max(need, x.targets[t] ?? 0));
    }
  }
  return out;
}
