import type { Forecaster } from '../inference/forecaster.ts';
import { simulateFleet, startFleet, type FleetParams, type FleetResult } from './fleet.ts';
import { runPolicy, type PolicyRun, type ReplayParams } from './engine.ts';
import { actuateThroughHpa } from './hpa-actuator.ts';
import { mayCapBaselines } from './baselines.ts';
import { computeBaselines, scoreTargets, type Score } from './summary.ts';
import { nodeHorizonNeed } from './node-need.ts';
import { simulateNodes, type NodeRunResult, type NodeSettings } from './nodes.ts';

export interface ReplayDeps {
  /** The policy's forecaster, as the live controller runs it (Holt-Winters by default, or the model with its fallback). */
  readonly forecaster: Forecaster;
  /** Forecasters run in shadow beside the policy's (replay/engine.ts); none by default. */
  readonly shadows?: readonly Forecaster[];
  /** Other forecasters to run the same policy with, for comparison (seasonal-naive, and the forecaster not chosen). */
  readonly comparisons: readonly Forecaster[];
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** One policy run scored against the reactive baselines. */
export interface ScoredRun {
  readonly name: string;
  readonly run: PolicyRun;
  readonly score: Score;
}

/** A whole replay: the policy's run and fleet, and (without a backlog) its score and the comparisons'. */
export interface ReplayResult {
  readonly run: PolicyRun;
  readonly fleet: FleetResult;
  readonly score?: Score;
  readonly comparisons: ScoredRun[];
  /**
   * True when demand was high enough for max replicas to cap a fleet the contract does not cap (the
   * reactive baselines, or the starting fleet): the reference scorer may then differ from this run.
   */
  readonly maxReplicasCapped: boolean;
  /** With node settings: the policy's targets on GPU nodes, without and with forecast-sized placeholders (replay/nodes.ts). */
  readonly nodes?: NodeRuns;
}

/** The same targets on GPU nodes: the cluster autoscaler alone, and with SurgeGuard's placeholders. */
export interface NodeRuns {
  readonly settings: NodeSettings;
  readonly without: NodeRunResult;
  readonly with: NodeRunResult;
}

/** Runs the policy's targets on the node model twice: without placeholders, and with them sized at the node horizon. */
export async function replayOnNodes(forecaster: Forecaster, demand: readonly number[], x: { params: ReplayParams; fleet: FleetParams; run: PolicyRun; nodes: NodeSettings }): Promise<NodeRuns> {
  const { placeholders, ...plain } = x.nodes;
  const input = { demand, targets: x.run.targets, intervalSeconds: x.params.intervalSeconds };
  const without = simulateNodes(input, { ...x.fleet, ...plain });
  if (!placeholders) return { settings: x.nodes, without, with: without };
  const need = await nodeHorizonNeed(forecaster, demand, { params: x.params, nodeLeadSteps: x.nodes.nodeLeadSteps, targets: x.run.targets });
  return { settings: x.nodes, without, with: simulateNodes({ ...input, need }, { ...x.fleet, ...x.nodes }) };
}

/** Replays a demand series with the policy, simulates the fleet, and scores it and the comparisons. */
export async function replayDemand(deps: ReplayDeps, demand: readonly number[], params: ReplayParams & { readonly nodes?: NodeSettings }, backlog: boolean): Promise<ReplayResult> {
  const total = demand.length * (1 + (backlog ? 0 : deps.comparisons.length));
  let offset = 0;
  const progress = (done: number): void => deps.onProgress?.(offset + done, total);
  const fleetParams = { capacity: params.capacity, startupSteps: params.startupSteps, minReplicas: params.minReplicas, maxReplicas: params.maxReplicas };
  const run = actuated(await runPolicy({ forecaster: deps.forecaster, ...(deps.shadows ? { shadows: deps.shadows } : {}), onProgress: progress, signal: deps.signal }, demand, params), demand, fleetParams, params);
  const fleet = simulateFleet(demand, run.targets, fleetParams, backlog);
  const maxReplicasCapped = mayCapBaselines(demand, fleetParams);
  const nodes = params.nodes ? { nodes: await replayOnNodes(deps.forecaster, demand, { params, fleet: fleetParams, run, nodes: params.nodes }) } : {};
  // With a backlog the contract asks for queue figures only: the baselines drop work instead.
  if (backlog) return { run, fleet, comparisons: [], maxReplicasCapped, ...nodes };
  const baselines = computeBaselines(demand, fleetParams, params.intervalSeconds);
  const score = scoreTargets(demand, run.targets, fleetParams, baselines);
  const comparisons: ScoredRun[] = [];
  for (const f of deps.comparisons) {
    offset += demand.length;
    const other = actuated(await runPolicy({ forecaster: f, onProgress: progress, signal: deps.signal }, demand, params), demand, fleetParams, params);
    comparisons.push({ name: f.name, run: other, score: scoreTargets(demand, other.targets, fleetParams, baselines) });
  }
  return { run, fleet, score, comparisons, maxReplicasCapped, ...nodes };
}

/**
 * The run as the fleet receives it: unchanged with the direct actuator; through the HPA's rules
 * with `hpaActuator` (the policy decided `decided`, the HPA set `targets`).
 */
function actuated(run: PolicyRun, demand: readonly number[], fleet: FleetParams, params: ReplayParams): PolicyRun {
  if (!params.hpaActuator) return run;
  return { ...run, decided: run.targets, targets: actuateThroughHpa(run.targets, startFleet(demand, fleet), fleet, params.intervalSeconds, params.hpaActuator) };
}
