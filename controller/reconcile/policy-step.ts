import type { SeriesForecast } from '../../inference/forecaster.ts';
import { decide, type Recommendation, type ScalingDecision } from '../scaling/decide.ts';
import type { ScalingPolicy } from '../scaling/policy.ts';

/** What one scaler remembers between ticks: the raw recommendations and the last forecast. */
export interface PolicyMemory {
  recommendations: Recommendation[];
  previous?: SeriesForecast;
}

/**
 * One step of the live policy for one scaler: the forecast (in requests per second) and the
 * demand history go through the same `decide` that replay runs; the band the previous tick
 * forecast for now lets `decide` notice a surge the model did not see.
 */
export function policyStep(
  memory: PolicyMemory,
  input: { intervalSeconds: number; demandRates: ArrayLike<number>; currentReplicas: number; forecast: SeriesForecast; source: string; reactiveOnly?: boolean },
  policy: ScalingPolicy,
  nowSeconds: number,
): ScalingDecision {
  memory.recommendations = memory.recommendations.filter((r) => r.atSeconds > nowSeconds - policy.scaleDownStabilizationSeconds);
  // Reactive-only runs (for comparison) get no band, so no surge rule either.
  const prev = input.reactiveOnly ? undefined : memory.previous;
  const decision = decide(
    { intervalSeconds: input.intervalSeconds, demandRates: input.demandRates, currentReplicas: input.currentReplicas, recentRecommendations: memory.recommendations },
    {
      p50: input.forecast.p50,
      p90: input.forecast.p90,
      bandNow: prev ? { p50: prev.p50[0] ?? 0, p90: prev.p90[0] ?? 0 } : undefined,
      source: input.source,
    },
    policy,
    nowSeconds,
  );
  memory.recommendations.push(decision.recommendation);
  memory.previous = input.forecast;
  return decision;
}
