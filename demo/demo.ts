import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../common/logger.ts';
import type { MetricRegistry } from '../common/metrics.ts';
import type { Forecaster, SeriesForecast } from '../inference/forecaster.ts';
import { rulesRecord, rulesText } from '../controller/reconcile/plan.ts';
import { scalingLoopMetrics } from '../controller/reconcile/tick.ts';
import { hpaTargets } from '../replay/baselines.ts';
import { asRates } from '../replay/engine.ts';
import { startFleet } from '../replay/fleet.ts';
import { defaultSurgeSettings, findSurges, type SurgeFleetParams } from '../replay/surges.ts';
import { policyStep, type PolicyMemory } from '../controller/reconcile/policy-step.ts';
import type { DecisionLog } from '../controller/reconcile/decision-log.ts';
import type { ScalingDecision } from '../controller/scaling/decide.ts';
import { DEFAULT_POLICY_SETTINGS, type ScalingPolicy } from '../controller/scaling/policy.ts';
import { createSimulatedFleet, type FleetInterval, type SimulatedFleet } from './simulated-fleet.ts';
import { createStreamScorer, type StreamScore } from './stream-score.ts';
import type { DemoHealing } from './healing.ts';

/** One recorded interval as the demo page draws it (rates in requests per recorded second). */
export interface DemoPoint {
  t: number;
  /** The recorded time of the interval. */
  at: string;
  demand: number;
  /** The forecast made one startup time earlier for this interval (what pre-scaling acted on). */
  forecastP50?: number;
  forecastP90?: number;
  /** Ready pods × what one serves. */
  capacity: number;
  target: number;
  ready: number;
  backlog: number;
  reason: string;
  /** The default Kubernetes HPA on the same stream (utilization 0.7, 300 s window), for comparison. */
  hpaTarget: number;
  hpaReady: number;
  hpaBacklog: number;
}

/** Running totals of one fleet since the trace began: what it paid and how much work waited. */
export interface FleetTotals {
  /** Pods that existed, summed over intervals (starting pods are paid for). */
  podIntervals: number;
  /** Requests waiting at the end of each interval, summed: the work that was late, and for how long. */
  waitingRequestIntervals: number;
  /** Requests waiting now. */
  waitingNow: number;
}

export interface DemoConfig {
  /** Requests per interval, oldest first, and the recorded time of each. */
  demand: readonly number[];
  timestamps: readonly number[];
  intervalSeconds: number;
  /** Requests one pod serves per interval. */
  capacity: number;
  startupSteps: number;
  minReplicas: number;
  maxReplicas: number;
  /** Intervals before this one are replayed at once (history for the model); then one per tick. */
  liveFrom: number;
  tickMs: number;
  scaler: string;
}

export interface RunningDemo {
  points(): readonly DemoPoint[];
  /** The index of the next interval, and how many there are. */
  progress(): { next: number; total: number; liveFrom: number };
  /** SurgeGuard's fleet and the default HPA's on the same stream, so far. */
  totals(): { surgeguard: FleetTotals; defaultHpa: FleetTotals };
  /**
   * The stream so far scored as `surgeguard replay` scores a trace: SurgeGuard, the default HPA and the
   * best reactive rule at no more than SurgeGuard's cost, each on the contract's fleet model.
   */
  score(): StreamScore | null;
  done: Promise<void>;
}

/**
 * The demo's loop: the controller's own forecast → policyStep → decide on a recorded trace,
 * one interval per tick, against the embedded fleet. Each decision goes to the same decision
 * log the controller serves at /api/decisions, with the same fields.
 */
export function startDemo(deps: DemoDeps, c: DemoConfig, signal: AbortSignal): RunningDemo {
  const run = demoRun(deps, c);
  const done = (async () => {
    for (let t = 0; t < run.counts.length && !signal.aborted; t++) {
      const started = Date.now();
      await step(run, deps, c, t);
      run.next = t + 1;
      if (t >= c.liveFrom) await sleep(Math.max(0, c.tickMs - (Date.now() - started)), undefined, { signal }).catch(() => undefined);
    }
  })();
  return { points: () => run.points, progress: () => ({ next: run.next, total: run.counts.length, liveFrom: c.liveFrom }), totals: () => structuredClone(run.totals), score: () => run.scorer.score(), done };
}

type DemoDeps = { forecaster: Forecaster; logger: Logger; metrics: MetricRegistry; decisions: DecisionLog; healing?: DemoHealing };

/** The demo loop's state: the stream, both fleets and their totals, the policy's memory, what the page draws. */
interface DemoRun {
  policy: ScalingPolicy;
  labels: { namespace: string; scaler: string };
  metrics: ReturnType<typeof scalingLoopMetrics> & { backlog: ReturnType<MetricRegistry['gauge']> };
  counts: Float64Array;
  rates: Float64Array;
  fleet: SimulatedFleet;
  /** The default HPA's targets, causal, computed once up front (replay's own baseline), and its fleet. */
  hpa: number[];
  hpaFleet: SimulatedFleet;
  scorer: ReturnType<typeof createStreamScorer>;
  totals: { surgeguard: FleetTotals; defaultHpa: FleetTotals };
  memory: PolicyMemory;
  points: DemoPoint[];
  /** Forecasts made at the end of t for t + 1 + K, kept until that interval comes. */
  pending: Map<number, { p50: number; p90: number }>;
  target: number;
  next: number;
}

function demoRun(deps: DemoDeps, c: DemoConfig): DemoRun {
  const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, capacityPerReplicaPerSecond: c.capacity / c.intervalSeconds, startupSeconds: c.startupSteps * c.intervalSeconds, minReplicas: c.minReplicas, maxReplicas: c.maxReplicas };
  // The controller's own metric names, so its dashboards read the demo too.
  const metrics = { ...scalingLoopMetrics(deps.metrics), backlog: deps.metrics.gauge('surgeguard_demo_backlog_requests', 'Requests the simulated fleet has not served yet (its consumer lag).', ['namespace', 'scaler']) };
  const counts = Float64Array.from(c.demand);
  const initial = initialReplicas(c);
  const params = { capacity: c.capacity, startupSteps: c.startupSteps, minReplicas: c.minReplicas, maxReplicas: c.maxReplicas };
  return {
    policy,
    labels: { namespace: 'demo', scaler: c.scaler },
    metrics,
    counts,
    rates: counts.map((d) => d / c.intervalSeconds),
    // With healing, SurgeGuard's pods run on the demo's GPU nodes (faults, cordons and drains act on them).
    fleet: deps.healing?.cluster.fleet ?? createSimulatedFleet({ capacity: c.capacity, startupSteps: c.startupSteps, initialReplicas: initial }),
    hpa: hpaTargets(c.demand, params, c.intervalSeconds),
    hpaFleet: createSimulatedFleet({ capacity: c.capacity, startupSteps: c.startupSteps, initialReplicas: initial }),
    // Every reactive rule of replay's frontier, advanced one interval per tick (O(404) a tick, whatever the length).
    scorer: createStreamScorer(params, c.intervalSeconds, initial),
    totals: { surgeguard: { podIntervals: 0, waitingRequestIntervals: 0, waitingNow: 0 }, defaultHpa: { podIntervals: 0, waitingRequestIntervals: 0, waitingNow: 0 } },
    memory: { recommendations: [] },
    points: [],
    pending: new Map(),
    target: initial,
    next: 0,
  };
}

function addInterval(into: FleetTotals, f: FleetInterval): void {
  into.podIntervals += f.existing;
  into.waitingRequestIntervals += f.backlog;
  into.waitingNow = f.backlog;
}

/** One interval: both fleets serve it, SurgeGuard forecasts and decides, the decision is recorded and applied, healing runs. */
async function step(run: DemoRun, deps: DemoDeps, c: DemoConfig, t: number): Promise<void> {
  const served: FleetInterval = run.fleet.serve(run.counts[t] ?? 0, t);
  const hpaServed = run.hpaFleet.serve(run.counts[t] ?? 0, t);
  run.hpaFleet.scaleTo(run.hpa[t] ?? 0, t);
  addInterval(run.totals.surgeguard, served);
  addInterval(run.totals.defaultHpa, hpaServed);
  const lead = c.startupSteps + 1;
  const batch = await deps.forecaster.forecast({ histories: [run.counts.subarray(0, t + 1)], intervalSeconds: c.intervalSeconds, horizonSteps: lead });
  const source = batch.sources[0] ?? deps.forecaster.name;
  const perSecond = asRates(batch.forecasts[0] as SeriesForecast, c.intervalSeconds);
  // A replica floor the healing loop raised for a make-before-break drain binds like the controller's.
  const floor = deps.healing?.floor();
  const policy = floor ? { ...run.policy, floor } : run.policy;
  const d: ScalingDecision = policyStep(run.memory, { intervalSeconds: c.intervalSeconds, demandRates: run.rates.subarray(0, t + 1), currentReplicas: run.target, forecast: perSecond, source }, policy, c.timestamps[t] ?? t * c.intervalSeconds);
  const prior = run.pending.get(t);
  run.pending.delete(t);
  const ahead = { p50: perSecond.p50[lead - 1] ?? 0, p90: perSecond.p90[lead - 1] ?? 0 };
  run.pending.set(t + lead, ahead);
  const at = new Date((c.timestamps[t] ?? 0) * 1000).toISOString();
  run.points.push({ t, at, demand: run.rates[t] ?? 0, forecastP50: prior?.p50, forecastP90: prior?.p90, capacity: (served.ready * c.capacity) / c.intervalSeconds, target: d.replicas, ready: served.ready, backlog: served.backlog, reason: d.reason, hpaTarget: run.hpa[t] ?? 0, hpaReady: hpaServed.ready, hpaBacklog: hpaServed.backlog });
  recordDecision(run, deps, c, { t, at, d, served, ahead, lead, source });
  run.fleet.scaleTo(d.replicas, t);
  run.scorer.push(run.counts[t] ?? 0, d.replicas, at);
  run.target = d.replicas;
  // The healing loop starts a quarter of an hour (recorded) before the live part: faults come only
  // in the live part, and no check looks further back (the XID window is 900 s), so the backfill
  // before that would only cost start-up time.
  if (deps.healing && t >= c.liveFrom - Math.ceil(900 / c.intervalSeconds)) await deps.healing.step(t, (c.timestamps[t] ?? t * c.intervalSeconds) * 1000);
}

/** The decision as the controller records it: the decision log (/api/decisions), its metrics, and a log line in the live part. */
function recordDecision(run: DemoRun, deps: DemoDeps, c: DemoConfig, x: { t: number; at: string; d: ScalingDecision; served: FleetInterval; ahead: { p50: number; p90: number }; lead: number; source: string }): void {
  const { t, at, d, served, ahead } = x;
  const { labels, target } = run;
  const m = run.metrics;
  const demand = run.rates[t] ?? 0;
  const decision = d.replicas > target ? 'scale_up' : d.replicas < target ? 'scale_down' : 'hold';
  const message = `${decision === 'hold' ? `holding at ${target}` : `${target} -> ${d.replicas}`} replicas (${d.reason}; ${rulesText(d)}; demand ${demand.toFixed(2)}/s)`;
  deps.decisions.add({
    time: at, scaler: c.scaler, target: 'SimulatedFleet/demo', decision, reason: d.reason, message, leader: true, applied: true,
    currentReplicas: target, desiredReplicas: d.replicas, demandPerSecond: demand,
    forecast: { p50: ahead.p50, p90: ahead.p90, horizonSeconds: x.lead * c.intervalSeconds, source: x.source },
    startupSeconds: run.policy.startupSeconds, ...rulesRecord(d),
  });
  m.decisions.inc({ decision, reason: d.reason });
  m.demand.set(labels, demand);
  m.forecast.set({ ...labels, quantile: 'p50' }, ahead.p50);
  m.forecast.set({ ...labels, quantile: 'p90' }, ahead.p90);
  m.desired.set(labels, d.replicas);
  m.current.set(labels, target);
  m.ready.set(labels, served.ready);
  m.minReplicas.set(labels, c.minReplicas);
  m.maxReplicas.set(labels, c.maxReplicas);
  m.backlog.set(labels, served.backlog);
  if (t >= c.liveFrom && decision !== 'hold') deps.logger.info({ t, at, decision, reason: d.reason, replicas: d.replicas }, message);
}

/**
 * The replicas the fleets start with: the replay contract's starting fleet (enough for the first K + 1
 * intervals, within the bounds), so SurgeGuard, the default HPA and the reactive rules start alike.
 */
export function initialReplicas(c: Pick<DemoConfig, 'demand' | 'capacity' | 'startupSteps' | 'minReplicas' | 'maxReplicas'>): number {
  // Capped like every fleet: one huge first value must not ask for more pods than max replicas.
  return startFleet(c.demand, c);
}

/**
 * Where the live part starts: `lead` intervals before the first surge after the model's history
 * window, found as the replay report finds surges (replay/surges.ts: demand above twice the median
 * of the 48 intervals before it, and above one pod's capacity), so the surge the report would
 * name arrives `lead` ticks after the page opens. No surge: the live part starts after the history.
 */
export function liveStart(demand: readonly number[], history: number, lead: number, fleet: SurgeFleetParams): number {
  const first = findSurges(demand, defaultSurgeSettings(fleet)).find((s) => s.onset >= history);
  return first ? Math.max(history, first.onset - lead) : history;
}
