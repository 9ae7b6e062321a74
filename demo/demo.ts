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
import { createSimulatedFleet, type FleetInterval } from './simulated-fleet.ts';
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
export function startDemo(deps: { forecaster: Forecaster; logger: Logger; metrics: MetricRegistry; decisions: DecisionLog; healing?: DemoHealing }, c: DemoConfig, signal: AbortSignal): RunningDemo {
  const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, capacityPerReplicaPerSecond: c.capacity / c.intervalSeconds, startupSeconds: c.startupSteps * c.intervalSeconds, minReplicas: c.minReplicas, maxReplicas: c.maxReplicas };
  const labels = { namespace: 'demo', scaler: c.scaler };
  // The controller's own metric names, so its dashboards read the demo too.
  const m = scalingLoopMetrics(deps.metrics);
  const backlogGauge = deps.metrics.gauge('surgeguard_demo_backlog_requests', 'Requests the simulated fleet has not served yet (its consumer lag).', ['namespace', 'scaler']);
  const counts = Float64Array.from(c.demand);
  const rates = counts.map((d) => d / c.intervalSeconds);
  const initial = initialReplicas(c);
  // With healing, SurgeGuard's pods run on the demo's GPU nodes (faults, cordons and drains act on them).
  const fleet = deps.healing?.cluster.fleet ?? createSimulatedFleet({ capacity: c.capacity, startupSteps: c.startupSteps, initialReplicas: initial });
  // The default HPA on the same stream: its targets are causal, so they are computed once up front
  // (replay's own baseline) and applied one interval at a time to a fleet of its own.
  const params = { capacity: c.capacity, startupSteps: c.startupSteps, minReplicas: c.minReplicas, maxReplicas: c.maxReplicas };
  const hpa = hpaTargets(c.demand, params, c.intervalSeconds);
  const hpaFleet = createSimulatedFleet({ capacity: c.capacity, startupSteps: c.startupSteps, initialReplicas: initial });
  // Every reactive rule of replay's frontier, advanced one interval per tick (O(404) a tick, whatever the length).
  const scorer = createStreamScorer(params, c.intervalSeconds, initial);
  const totals = { surgeguard: { podIntervals: 0, waitingRequestIntervals: 0, waitingNow: 0 }, defaultHpa: { podIntervals: 0, waitingRequestIntervals: 0, waitingNow: 0 } };
  const add = (into: FleetTotals, f: FleetInterval): void => {
    into.podIntervals += f.existing;
    into.waitingRequestIntervals += f.backlog;
    into.waitingNow = f.backlog;
  };
  const memory: PolicyMemory = { recommendations: [] };
  const points: DemoPoint[] = [];
  // Forecasts made at the end of t for t + 1 + K, kept until that interval comes.
  const pending = new Map<number, { p50: number; p90: number }>();
  let target = initial;
  let next = 0;
  // A replica floor the healing loop raised for a make-before-break drain binds like the controller's.
  const policyNow = (): ScalingPolicy => {
    const floor = deps.healing?.floor();
    return floor ? { ...policy, floor } : policy;
  };

  // The healing loop starts a quarter of an hour (recorded) before the live part: faults come only
  // in the live part, and no check looks further back (the XID window is 900 s), so the backfill
  // before that would only cost start-up time.
  const heal = async (t: number): Promise<void> => {
    if (deps.healing && t >= c.liveFrom - Math.ceil(900 / c.intervalSeconds)) await deps.healing.step(t, (c.timestamps[t] ?? t * c.intervalSeconds) * 1000);
  };
  const step = async (t: number): Promise<void> => {
    const served: FleetInterval = fleet.serve(counts[t] ?? 0, t);
    const hpaServed = hpaFleet.serve(counts[t] ?? 0, t);
    hpaFleet.scaleTo(hpa[t] ?? 0, t);
    add(totals.surgeguard, served);
    add(totals.defaultHpa, hpaServed);
    const lead = c.startupSteps + 1;
    const batch = await deps.forecaster.forecast({ histories: [counts.subarray(0, t + 1)], intervalSeconds: c.intervalSeconds, horizonSteps: lead });
    const f = batch.forecasts[0] as SeriesForecast;
    const source = batch.sources[0] ?? deps.forecaster.name;
    const perSecond = asRates(f, c.intervalSeconds);
    const d: ScalingDecision = policyStep(memory, { intervalSeconds: c.intervalSeconds, demandRates: rates.subarray(0, t + 1), currentReplicas: target, forecast: perSecond, source }, policyNow(), (c.timestamps[t] ?? t * c.intervalSeconds));
    const prior = pending.get(t);
    pending.delete(t);
    pending.set(t + lead, { p50: perSecond.p50[lead - 1] ?? 0, p90: perSecond.p90[lead - 1] ?? 0 });
    const at = new Date((c.timestamps[t] ?? 0) * 1000).toISOString();
    points.push({ t, at, demand: rates[t] ?? 0, forecastP50: prior?.p50, forecastP90: prior?.p90, capacity: (served.ready * c.capacity) / c.intervalSeconds, target: d.replicas, ready: served.ready, backlog: served.backlog, reason: d.reason, hpaTarget: hpa[t] ?? 0, hpaReady: hpaServed.ready, hpaBacklog: hpaServed.backlog });
    const decision = d.replicas > target ? 'scale_up' : d.replicas < target ? 'scale_down' : 'hold';
    const message = `${decision === 'hold' ? `holding at ${target}` : `${target} -> ${d.replicas}`} replicas (${d.reason}; ${rulesText(d)}; demand ${(rates[t] ?? 0).toFixed(2)}/s)`;
    deps.decisions.add({
      time: at, scaler: c.scaler, target: 'SimulatedFleet/demo', decision, reason: d.reason, message, leader: true, applied: true,
      currentReplicas: target, desiredReplicas: d.replicas, demandPerSecond: rates[t] ?? 0,
      forecast: { p50: perSecond.p50[lead - 1] ?? 0, p90: perSecond.p90[lead - 1] ?? 0, horizonSeconds: lead * c.intervalSeconds, source },
      startupSeconds: policy.startupSeconds, ...rulesRecord(d),
    });
    m.decisions.inc({ decision, reason: d.reason });
    m.demand.set(labels, rates[t] ?? 0);
    m.forecast.set({ ...labels, quantile: 'p50' }, perSecond.p50[lead - 1] ?? 0);
    m.forecast.set({ ...labels, quantile: 'p90' }, perSecond.p90[lead - 1] ?? 0);
    m.desired.set(labels, d.replicas);
    m.current.set(labels, target);
    m.ready.set(labels, served.ready);
    m.minReplicas.set(labels, c.minReplicas);
    m.maxReplicas.set(labels, c.maxReplicas);
    backlogGauge.set(labels, served.backlog);
    if (t >= c.liveFrom && decision !== 'hold') deps.logger.info({ t, at, decision, reason: d.reason, replicas: d.replicas }, message);
    fleet.scaleTo(d.replicas, t);
    scorer.push(counts[t] ?? 0, d.replicas, at);
    target = d.replicas;
    await heal(t);
  };

  const done = (async () => {
    for (let t = 0; t < counts.length && !signal.aborted; t++) {
      const started = Date.now();
      await step(t);
      next = t + 1;
      if (t >= c.liveFrom) await sleep(Math.max(0, c.tickMs - (Date.now() - started)), undefined, { signal }).catch(() => undefined);
    }
  })();
  return { points: () => points, progress: () => ({ next, total: counts.length, liveFrom: c.liveFrom }), totals: () => structuredClone(totals), score: () => scorer.score(), done };
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
