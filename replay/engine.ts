import type { Forecaster, SeriesForecast } from '../inference/forecaster.ts';
import type { DecisionReason, ScalingDecision } from '../controller/scaling/decide.ts';
import { chooseForecast, policyStep, type Candidate, type PolicyMemory } from '../controller/reconcile/policy-step.ts';
import type { CampaignWindow } from '../controller/scaling/campaign.ts';
import type { PolicySettings, ScalingPolicy } from '../controller/scaling/policy.ts';
import { startFleet } from './fleet.ts';
import { panicGuard } from './panic-guard.ts';
import type { HpaActuatorSettings } from './hpa-actuator.ts';

/** The fleet and policy a replay runs with. */
export interface ReplayParams {
  readonly intervalSeconds: number;
  /** Requests one serving replica handles per interval. */
  readonly capacity: number;
  readonly startupSteps: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly settings: PolicySettings;
  /** Set: the decisions reach the fleet through an HPA (replay/hpa-actuator.ts), not a direct write. */
  readonly hpaActuator?: HpaActuatorSettings;
  /** Set: a demand-per-replica guard (replay/panic-guard.ts) gives `decide` the live panic window. */
  readonly panic?: boolean;
  /** Campaign windows on replay's clock (replay/schedule-file.ts onReplayClock), as the live loop reads spec.schedule. */
  readonly campaigns?: readonly CampaignWindow[];
}

export interface ReplayEngineDeps {
  readonly forecaster: Forecaster;
  /** Forecasters run in shadow beside it; each interval uses the one doing best on this trace so far (causal). */
  readonly shadows?: readonly Forecaster[];
  /** Called after each batch with the intervals done so far. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** What the policy did on a trace, interval by interval. */
export interface PolicyRun {
  /** What the fleet was asked for, interval by interval (through the HPA's rules with the Hpa actuator). */
  readonly targets: number[];
  /** With the Hpa actuator: what the policy decided, before the HPA acted on it. */
  readonly decided?: number[];
  /** p50 forecast of demand for interval t+1+K, made at the end of t. */
  readonly forecast: (number | undefined)[];
  readonly forecastP10: (number | undefined)[];
  readonly forecastP90: (number | undefined)[];
  readonly reasons: Partial<Record<DecisionReason, number>>;
  /** The rule that bound each interval's target. */
  readonly reasonPerInterval: DecisionReason[];
  /** Intervals forecast by each source (the model, or the fallback that answered). */
  readonly sources: Record<string, number>;
  surges: number;
}

/** Windows forecast per batched call: large enough to amortize a model run, small enough for progress. */
const BATCH = 512;

/**
 * Runs the live controller's forecast → decide loop over a demand series. At the end of interval t it
 * sees d_0..d_t only (each window is a view that ends at t), forecasts, and calls the same `decide`.
 * Forecasts are batched across intervals: they do not depend on decisions, so this changes nothing.
 */
export async function runPolicy(deps: ReplayEngineDeps, demand: readonly number[], p: ReplayParams): Promise<PolicyRun> {
  const n = demand.length;
  const counts = Float64Array.from(demand);
  const rates = counts.map((d) => d / p.intervalSeconds);
  const policy: ScalingPolicy = {
    ...p.settings,
    capacityPerReplicaPerSecond: p.capacity / p.intervalSeconds,
    startupSeconds: p.startupSteps * p.intervalSeconds,
    minReplicas: p.minReplicas,
    maxReplicas: p.maxReplicas,
  };
  const lead = p.startupSteps + 1;
  const run: PolicyRun = { targets: [], forecast: [], forecastP10: [], forecastP90: [], reasons: {}, reasonPerInterval: [], sources: {}, surges: 0 };
  let existing = startFleet(demand, p);
  // The same per-interval step the live controller runs (stabilization memory and surge band).
  const memory: PolicyMemory = { recommendations: [] };
  const forecasters = [deps.forecaster, ...(deps.shadows ?? [])];
  for (let start = 0; start < n; start += BATCH) {
    if (deps.signal?.aborted) throw deps.signal.reason instanceof Error ? deps.signal.reason : new Error('replay stopped');
    const end = Math.min(n, start + BATCH);
    const histories: Float64Array[] = [];
    for (let t = start; t < end; t++) histories.push(counts.subarray(0, t + 1));
    const request = { histories, intervalSeconds: p.intervalSeconds, horizonSteps: lead };
    const batches = await Promise.all(forecasters.map((f) => f.forecast(request)));
    for (let t = start; t < end; t++) {
      const candidates: Candidate[] = batches.map((b, c) => ({ forecast: b.forecasts[t - start] as SeriesForecast, source: b.sources[t - start] ?? (forecasters[c] as Forecaster).name }));
      const { forecast: f, source: src } = chooseForecast(memory, { demand: counts[t] ?? 0, candidates, lead });
      run.sources[src] = (run.sources[src] ?? 0) + 1;
      const d = policyStep(memory, { intervalSeconds: p.intervalSeconds, demandRates: rates.subarray(0, t + 1), currentReplicas: existing, forecast: asRates(f, p.intervalSeconds), source: src, ...(p.panic ? { guards: [panicGuard(rates[t] ?? 0, existing, policy.capacityPerReplicaPerSecond)] } : {}), ...(p.campaigns ? { campaigns: p.campaigns } : {}) }, policy, t * p.intervalSeconds);
      record(run, d, f, lead);
      existing = d.replicas;
    }
    deps.onProgress?.(end, n);
  }
  return run;
}

/** A forecast of counts per interval as rates per second, the unit `decide` works in. */
export function asRates(f: SeriesForecast, intervalSeconds: number): SeriesForecast {
  return { p10: f.p10.map((v) => v / intervalSeconds), p50: f.p50.map((v) => v / intervalSeconds), p90: f.p90.map((v) => v / intervalSeconds) };
}

/** Appends one interval's decision and the forecast for t+1+K to the run. */
function record(run: PolicyRun, d: ScalingDecision, f: SeriesForecast, lead: number): void {
  run.targets.push(d.replicas);
  run.reasons[d.reason] = (run.reasons[d.reason] ?? 0) + 1;
  run.reasonPerInterval.push(d.reason);
  if (d.surge) run.surges++;
  run.forecast.push(f.p50[lead - 1]);
  run.forecastP10.push(f.p10[lead - 1]);
  run.forecastP90.push(f.p90[lead - 1]);
}
