import { trace, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { ErrorCode, errorMessage, hasCode } from '../../common/errors.ts';
import type { Forecaster, SeriesForecast } from '../../inference/forecaster.ts';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { PredictiveScaler, PredictiveScalerStatus } from '../crd/predictive-scaler.ts';
import type { ClusterReader, ClusterWriter, HpaInfo, PodStats } from '../kube/cluster.ts';
import type { ScaleClient, ScaleState, TargetRef } from '../kube/scale-target.ts';
import { startupSteps, type ScalingDecision } from '../scaling/decide.ts';
import type { ScalingPolicy } from '../scaling/policy.ts';
import { guardNeed, resolveGuard, type GuardNeed } from '../signals/guards.ts';
import { prometheusSignalOf } from '../signals/prometheus-batch.ts';
import type { SignalReading, SignalRequest, SignalSource, SignalSpec } from '../signals/signal.ts';
import type { DecisionLog } from './decision-log.ts';
import { plan, rulesRecord, type ScalerPlan } from './plan.ts';
import { applyGpuBudget, repairReservations, type BudgetMember } from '../capacity/apply.ts';
import type { ComingClaim } from '../capacity/replacement.ts';
import { createLeadTimeLearner, leadTimeText, type StalledPending } from '../capacity/lead-time.ts';
import type { PlaceholderMember, PlaceholderStage } from '../capacity/placeholder-stage.ts';
import { policyStep, type PolicyMemory } from './policy-step.ts';
import { campaignsOf, policyFor } from './scaler-policy.ts';

export interface TickDeps {
  scalers: () => readonly PredictiveScaler[];
  signals: readonly SignalSource[];
  forecaster: Forecaster;
  scale: ScaleClient;
  reader: ClusterReader;
  writer: ClusterWriter;
  isLeader: () => boolean;
  now: () => number;
  logger: Logger;
  metrics: MetricRegistry;
  decisions: DecisionLog;
  /** Demand history from Prometheus for a scaler seen for the first time (rates per interval, oldest first). */
  backfill?: (scaler: PredictiveScaler, intervalSeconds: number, intervals: number) => Promise<number[]>;
  /**
   * The cluster's nodes and pods for the GPU budget (controller/capacity/), from the watch caches;
   * undefined while they have not synced, and absent without them: scalers then have no budget.
   */
  gpuCluster?: () => { nodes: readonly V1Node[]; pods: readonly V1Pod[]; claims?: readonly ComingClaim[] } | undefined;
  /** Forecast-sized placeholder pods (capacity/placeholder-stage.ts); absent unless configured on. */
  placeholders?: PlaceholderStage;
}

export interface TickConfig {
  intervalSeconds: number;
  historyIntervals: number;
  pauseFlag: boolean;
  pauseConfigMap: { namespace: string; name: string };
  /** Pod statistics are re-read every this many ticks per scaler (they change slowly). */
  podStatsEveryTicks: number;
  /** False runs the loop reactively (no forecast, no surge band), to compare against. */
  forecasting: boolean;
  /** Recorded seconds per wall second (see ControllerConfig.forecastTimeScale). */
  forecastTimeScale: number;
  /**
   * Seconds after which an unchanged status is written again to keep its demand and forecast
   * current (600 when absent); a scaler whose value an HPA or KEDA reads is refreshed every 60 s.
   */
  statusRefreshSeconds?: number;
}

/** Seconds each phase of the last tick took, for the benchmark and the tick histogram. */
export interface TickReport {
  scalers: number;
  patched: number;
  phases: { signals: number; targets: number; forecast: number; decide: number; act: number };
  plans: ScalerPlan[];
}

interface ScalerRuntime {
  history: number[];
  memory: PolicyMemory;
  stats?: PodStats;
  statsTick: number;
  lastStatusAt: number;
  lastStatusKey: string;
  /** The grant of the GPU budget cut last told in an Event, so a cut that lasts is told once. */
  budgetToldAt?: number;
}

const tracer = trace.getTracer('surgeguard-controller');

/**
 * The scaling loop's tick: read every scaler's signal, forecast all of them in one batched
 * call, decide with the same `decide` replay uses, and, on the leader only, apply the plans:
 * patch the scale of targets whose replicas change, update statuses, and emit Events when
 * something changed. Every decision is logged, counted and kept for /api/decisions.
 */
export function createScalingLoop(deps: TickDeps, config: TickConfig): { tick(): Promise<TickReport> } {
  const runtimes = new Map<string, ScalerRuntime>();
  let budgetUnavailableLogged = false;
  // A window whose start does not parse is left out each tick and told once per scaler and window.
  const badWindowsTold = new Set<string>();
  const tellBadWindow = (scaler: string, window: string, why: string): void => {
    const key = `${scaler}#${window}`;
    if (badWindowsTold.has(key)) return;
    badWindowsTold.add(key);
    deps.logger.warn({ scaler, window }, `spec.schedule window ${window}: ${why}; the window is left out, the others apply`);
  };
  let placeholdersUnavailableLogged = false;
  const m = scalingLoopMetrics(deps.metrics);
  // The GPU resources whose node lead time is learned: the default and whatever the budget shares.
  let gpuResources: readonly string[] = ['nvidia.com/gpu'];
  const leadTimes = createLeadTimeLearner({ resources: () => gpuResources });
  let stalledTold = new Set<string>();
  let tickNo = 0;

  const runtimeFor = async (s: PredictiveScaler, key: string): Promise<ScalerRuntime> => {
    let rt = runtimes.get(key);
    if (rt) return rt;
    rt = { history: [], memory: { recommendations: [] }, statsTick: -Infinity, lastStatusAt: 0, lastStatusKey: '' };
    runtimes.set(key, rt);
    if (deps.backfill) {
      try {
        rt.history = (await deps.backfill(s, config.intervalSeconds, config.historyIntervals)).slice(-config.historyIntervals);
        deps.logger.info({ scaler: key, intervals: rt.history.length }, 'backfilled demand history from Prometheus');
      } catch (err) {
        deps.logger.warn({ scaler: key, err: errorMessage(err) }, 'could not backfill demand history; starting empty');
      }
    }
    return rt;
  };

  return {
    async tick() {
      return tracer.startActiveSpan('scaling.tick', async (span) => {
        try {
          return await tickOnce(span);
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
          throw err;
        } finally {
          span.end();
        }
      });
    },
  };

  /**
   * One tick, in the order a reader follows it: read signals, read targets, forecast, decide, act.
   * Each stage is a function below; the tick only times them and passes their results on.
   */
  async function tickOnce(span: Span): Promise<TickReport> {
    tickNo++;
    const nowMs = deps.now();
    const leader = deps.isLeader();
    const scalers = deps.scalers();
    forgetDeleted(new Set(scalers.map(keyOf)));
    const rts = await Promise.all(scalers.map((s) => runtimeFor(s, keyOf(s))));
    const { phases, timed } = phaseTimer();

    const readings = await timed('signals', () => readSignals(scalers, rts, nowMs));
    const { targets, hpas, paused, hold } = await timed('targets', () => readTargets(scalers, rts));
    if (paused !== undefined) m.paused.set(paused ? 1 : 0);
    const fresh = recordReadings(scalers, rts, readings);
    const forecasts = await timed('forecast', () => forecastFresh(scalers, rts, fresh));
    const plans = await timed('decide', async () => decideAll({ scalers, rts, readings, targets, forecasts, hpas, paused, hold, nowSeconds: nowMs / 1000 }));
    // One GPU budget for the scalers that share a GPU resource (pure, over the watch caches).
    budget(scalers, targets, plans);
    const patched = await timed('act', () => act({ scalers, rts, plans, readings, leader, nowMs }));
    // Placeholders for the GPUs the forecasts need at the node lead time, after the real pods' own writes.
    // Paused (or a pause that cannot be read) holds them as they are, like every other write.
    if (deps.placeholders) await holdAhead(deps.placeholders, { scalers, targets, plans, rts, nowMs, act: leader && paused === false });
    span.setAttributes({ scalers: scalers.length, patched, leader });
    return { scalers: scalers.length, patched, phases, plans: plans.map((x) => x.p) };
  }

  /** Seconds per phase of this tick, each phase a span and a histogram observation. */
  function phaseTimer(): { phases: TickReport['phases']; timed: <T>(phase: keyof TickReport['phases'], fn: () => Promise<T>) => Promise<T> } {
    const phases = { signals: 0, targets: 0, forecast: 0, decide: 0, act: 0 };
    const timed = async <T>(phase: keyof typeof phases, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await tracer.startActiveSpan(`scaling.${phase}`, async (s) => {
          try {
            return await fn();
          } finally {
            s.end();
          }
        });
      } finally {
        phases[phase] = (performance.now() - t0) / 1000;
        m.phase.observe({ phase }, phases[phase]);
      }
    };
    return { phases, timed };
  }

  /** 1. Signals: every scaler's demand (and guards) in one pass per source. */
  async function readSignals(scalers: readonly PredictiveScaler[], rts: readonly ScalerRuntime[], nowMs: number): Promise<Map<string, SignalReading>> {
    const requests: SignalRequest[] = scalers.flatMap((s, i) => {
      const startupSeconds = policyFor(s, rts[i]?.stats?.startupP90Seconds).startupSeconds;
      return [{ key: keyOf(s), signal: signalOf(s), startupSeconds }, ...guardRequests(s, keyOf(s), startupSeconds)];
    });
    const merged = new Map<string, SignalReading>();
    for (const source of deps.signals) for (const [k, v] of await source.read(requests, nowMs)) merged.set(k, v);
    return merged;
  }

  /** 2. Targets, HPAs, pause, pod statistics. */
  async function readTargets(scalers: readonly PredictiveScaler[], rts: readonly ScalerRuntime[]): Promise<Awaited<ReturnType<typeof readSafety>> & { targets: TargetResult[] }> {
    const [safety, targets] = await Promise.all([readSafety(), mapLimit(scalers, 32, async (s, i) => readTarget(s, rts[i] as ScalerRuntime))]);
    return { targets, ...safety };
  }

  /** Appends each fresh reading to its scaler's history; the indices of the scalers that have one. */
  function recordReadings(scalers: readonly PredictiveScaler[], rts: readonly ScalerRuntime[], readings: ReadonlyMap<string, SignalReading>): number[] {
    const fresh: number[] = [];
    scalers.forEach((s, i) => {
      const r = readings.get(keyOf(s));
      const rt = rts[i] as ScalerRuntime;
      if (r?.ok) {
        rt.history.push(r.rate);
        if (rt.history.length > config.historyIntervals) rt.history.splice(0, rt.history.length - config.historyIntervals);
        fresh.push(i);
      } else {
        m.signalErrors.inc({ signal: signalOf(s).kind });
      }
    });
    return fresh;
  }

  /** 3. One batched forecast for every scaler with a fresh reading. */
  async function forecastFresh(scalers: readonly PredictiveScaler[], rts: readonly ScalerRuntime[], fresh: readonly number[]): Promise<Map<number, { f: SeriesForecast; source: string }>> {
    if (fresh.length === 0) return new Map();
    if (!config.forecasting) return new Map(fresh.map((i) => [i, { f: flat((rts[i] as ScalerRuntime).history), source: 'reactive' }]));
    const horizon = Math.max(...fresh.map((i) => startupSteps(policyFor(scalers[i] as PredictiveScaler, rts[i]?.stats?.startupP90Seconds), config.intervalSeconds) + 1));
    const batch = await deps.forecaster.forecast({ histories: fresh.map((i) => Float64Array.from((rts[i] as ScalerRuntime).history)), intervalSeconds: config.intervalSeconds * config.forecastTimeScale, horizonSteps: horizon });
    return new Map(fresh.map((i, j) => [i, { f: batch.forecasts[j] as SeriesForecast, source: batch.sources[j] ?? deps.forecaster.name }]));
  }

  /** 4. Decide and plan every scaler (pure: the policy step shared with replay, then the plan). */
  function decideAll(x: {
    scalers: readonly PredictiveScaler[];
    rts: readonly ScalerRuntime[];
    readings: ReadonlyMap<string, SignalReading>;
    targets: readonly TargetResult[];
    forecasts: ReadonlyMap<number, { f: SeriesForecast; source: string }>;
    hpas: Awaited<ReturnType<typeof readSafety>>['hpas'];
    paused: boolean | undefined;
    hold: Awaited<ReturnType<typeof readSafety>>['hold'];
    nowSeconds: number;
  }): TickPlan[] {
    return x.scalers.map((s, i) => {
      const rt = x.rts[i] as ScalerRuntime;
      const target = x.targets[i] as TargetResult;
      const fc = x.forecasts.get(i);
      const policy = policyFor(s, rt.stats?.startupP90Seconds);
      let decision: ScalingDecision | undefined;
      if (fc && target.ok) {
        const guards = readGuards(s, keyOf(s), x.readings, target.state.replicas);
        const campaigns = campaignsOf(s, (window, why) => tellBadWindow(keyOf(s), window, why));
        decision = policyStep(rt.memory, { intervalSeconds: config.intervalSeconds, demandIntervalSeconds: config.intervalSeconds * config.forecastTimeScale, demandRates: rt.history, currentReplicas: target.state.replicas, forecast: fc.f, source: fc.source, reactiveOnly: !config.forecasting, guards, campaigns }, policy, x.nowSeconds);
      }
      const ref = s.spec.targetRef;
      const p = plan({ scaler: s, reading: x.readings.get(keyOf(s)), decision, target, hpa: x.hpas.get(`${s.metadata.namespace}/${ref.kind}/${ref.name}`), paused: x.paused ?? false, ...(x.hold ? { hold: x.hold } : {}), unschedulablePods: rt.stats?.unschedulable ?? 0 });
      return { p, decision, fc, policy };
    });
  }

  /** 5. Act (leader only): the scale patch, then the status; every decision explained. The count of targets patched. */
  async function act(x: { scalers: readonly PredictiveScaler[]; rts: readonly ScalerRuntime[]; plans: readonly TickPlan[]; readings: ReadonlyMap<string, SignalReading>; leader: boolean; nowMs: number }): Promise<number> {
    let patched = 0;
    await mapLimit(x.scalers, 16, async (s, i) => {
      const { p, decision, fc, policy } = x.plans[i] as TickPlan;
      const rt = x.rts[i] as ScalerRuntime;
      const reading = x.readings.get(keyOf(s));
      let applied = false;
      if (x.leader && p.patch) {
        applied = await applyPatch(s, p);
        if (applied) patched++;
      }
      if (x.leader) await writeStatus(s, rt, p, { leader: x.leader, applied, decision, fc, policy, nowMs: x.nowMs, reading });
      explain(s, p, { leader: x.leader, applied, decision, fc, policy, reading, nowMs: x.nowMs, unschedulable: rt.stats?.unschedulable ?? 0, ready: rt.stats?.ready });
    });
    return patched;
  }

  /**
   * Cuts the plans of scalers with `spec.gpu` to what the cluster's GPUs allow (capacity/apply.ts),
   * in place, and exports each budget. Without the node and pod caches there is no budget: said
   * once in the log, not every tick.
   */
  function budget(scalers: readonly PredictiveScaler[], targets: readonly TargetResult[], plans: Array<{ p: ScalerPlan }>): void {
    const members: BudgetMember[] = [];
    scalers.forEach((s, i) => {
      const t = targets[i];
      const plan = plans[i];
      if (!s.spec.gpu || !t?.ok || !plan) return;
      members.push({ plan: plan.p, namespace: s.metadata.namespace, selector: t.state.selector, minReplicas: s.spec.minReplicas, gpu: { resource: s.spec.gpu.resource ?? 'nvidia.com/gpu', perReplica: s.spec.gpu.perReplica, priority: s.spec.gpu.priority ?? 0, weight: s.spec.gpu.weight ?? 1 } });
    });
    const cluster = deps.gpuCluster?.();
    if (cluster) learnLeadTimes(cluster, members);
    if (members.length === 0) return;
    if (!cluster) {
      if (!budgetUnavailableLogged) deps.logger.warn({ scalers: members.length }, 'scalers have spec.gpu but the node and pod caches are not available (healing.enabled: false, or not synced yet); no GPU budget is applied');
      budgetUnavailableLogged = true;
      return;
    }
    budgetUnavailableLogged = false;
    const pools = leadTimes.pools();
    const withRepairs = withReservations(members, repairReservations(cluster.nodes));
    const { plans: cut, reports } = applyGpuBudget(withRepairs, cluster, { leadTime: (resource) => leadTimeText(pools.filter((p) => p.resources.includes(resource))) });
    plans.forEach((x) => {
      const c = cut.get(x.p.key);
      if (c) x.p = c;
    });
    for (const r of reports) {
      for (const [kind, v] of [['allocatable', r.allocatable], ['coming', r.coming], ['held_by_others', r.heldByOthers], ['asked', r.asked], ['granted', r.granted]] as const) m.gpuBudget.set({ resource: r.resource, kind }, v);
      if (r.cuts.length > 0) deps.logger.info({ resource: r.resource, allocatable: r.allocatable, heldByOthers: r.heldByOthers, cuts: r.cuts }, 'the GPU budget cut scalers that asked for more than the cluster has');
    }
    for (const mem of members) {
      const [namespace = '', scaler = ''] = mem.plan.key.split('/');
      const c = reports.flatMap((r) => r.cuts).find((x) => x.key === mem.plan.key);
      m.gpuBudgetCut.set({ namespace, scaler }, c ? c.asked - c.granted : 0);
    }
  }

  /** The members with the replicas node repairs reserved for them (capacity/apply.ts). */
  function withReservations(members: readonly BudgetMember[], reserved: ReadonlyMap<string, number>): BudgetMember[] {
    return members.map((mem) => (reserved.has(mem.plan.key) ? { ...mem, reservedReplicas: reserved.get(mem.plan.key) } : mem));
  }

  /**
   * Runs the placeholder stage over the scalers with `spec.gpu`. It needs the node and pod caches;
   * without them (not synced yet) nothing changes, said once in the log.
   */
  async function holdAhead(stage: PlaceholderStage, x: { scalers: readonly PredictiveScaler[]; targets: readonly TargetResult[]; plans: ReadonlyArray<{ p: ScalerPlan; policy: ReturnType<typeof policyFor> }>; rts: readonly ScalerRuntime[]; nowMs: number; act: boolean }): Promise<void> {
    const cluster = deps.gpuCluster?.();
    if (!cluster) {
      if (!placeholdersUnavailableLogged) deps.logger.warn('placeholders are on but the node and pod caches have not synced; no placeholder changes until they have');
      placeholdersUnavailableLogged = true;
      return;
    }
    placeholdersUnavailableLogged = false;
    const members: PlaceholderMember[] = [];
    x.scalers.forEach((s, i) => {
      const t = x.targets[i];
      const pl = x.plans[i];
      if (!s.spec.gpu || !t?.ok || !pl) return;
      members.push({ key: pl.p.key, namespace: s.metadata.namespace, selector: t.state.selector, gpu: { resource: s.spec.gpu.resource ?? 'nvidia.com/gpu', perReplica: s.spec.gpu.perReplica }, policy: pl.policy, history: (x.rts[i] as ScalerRuntime).history, desiredReplicas: pl.p.desiredReplicas ?? pl.p.currentReplicas });
    });
    await stage.run({ members, cluster, leadTimes: leadTimes.pools(), act: x.act, nowMs: x.nowMs, intervalSeconds: config.intervalSeconds, forecastTimeScale: config.forecastTimeScale });
  }

  /**
   * Learns each node pool's lead time from the caches (capacity/lead-time.ts) and exports it, and
   * says when GPU pods wait past twice that with no node coming: a pool no autoscaler feeds.
   */
  function learnLeadTimes(cluster: { nodes: readonly V1Node[]; pods: readonly V1Pod[] }, members: readonly BudgetMember[]): void {
    gpuResources = [...new Set(['nvidia.com/gpu', ...members.map((x) => x.gpu.resource)])].sort();
    leadTimes.observe(cluster.nodes, cluster.pods, deps.now());
    for (const p of leadTimes.pools()) {
      m.nodeLeadTime.set({ pool: p.pool, quantile: '0.5' }, p.p50Seconds);
      m.nodeLeadTime.set({ pool: p.pool, quantile: '0.9' }, p.p90Seconds);
      m.nodeLeadTimeSamples.set({ pool: p.pool }, p.samples);
    }
    const stalled = leadTimes.stalled();
    for (const r of gpuResources) m.stalledPods.set({ resource: r }, stalled.find((x) => x.resource === r)?.pods ?? 0);
    stalledTold = tellStalled(stalled, stalledTold);
  }

  /** A stall is logged when it starts, not every tick; returns the resources stalled now. */
  function tellStalled(stalled: readonly StalledPending[], told: ReadonlySet<string>): Set<string> {
    for (const x of stalled) {
      if (told.has(x.resource)) continue;
      deps.logger.warn({ resource: x.resource, pods: x.pods, oldestSeconds: Math.round(x.oldestSeconds), limitSeconds: Math.round(x.limitSeconds) }, 'GPU pods have waited past twice the node lead time and no node was created for them: no autoscaler seems to bring nodes for this resource');
    }
    return new Set(stalled.map((x) => x.resource));
  }

  /**
   * What a scaler's guards ask for, from this tick's readings. A guard that could not be read asks
   * for nothing (the forecast and the demand still decide), and is counted and logged; its
   * value is exported per guard so a dashboard shows what each one saw.
   */
  function readGuards(s: PredictiveScaler, key: string, readings: ReadonlyMap<string, SignalReading>, current: number): GuardNeed[] {
    const out: GuardNeed[] = [];
    for (const g of s.spec.guards ?? []) {
      const r = readings.get(guardKey(key, g.name));
      const labels = { namespace: s.metadata.namespace, scaler: s.metadata.name, guard: g.name };
      if (!r?.ok) {
        m.signalErrors.inc({ signal: 'guard' });
        deps.logger.warn({ scaler: key, guard: g.name, err: r && !r.ok ? r.error : 'no reading' }, 'a guard could not be read; it asks for nothing this tick');
        m.guardValue.remove(labels);
        continue;
      }
      m.guardValue.set(labels, r.rate);
      out.push(guardNeed(g, r.rate, current));
    }
    return out;
  }

  /**
   * Reads what decides whether SurgeGuard may write at all: the pause annotation and the HPAs
   * (KEDA's ScaledObjects are HPAs too). Either read failing holds every target this tick,
   * marked Degraded: an unreadable pause switch is not "not paused", an unlisted HPA not "none".
   */
  async function readSafety(): Promise<{ hpas: Map<string, HpaInfo>; paused: boolean | undefined; hold: { reason: string; message: string } | undefined }> {
    const [hpas, pausedCm] = await Promise.all([
      deps.reader.hpaTargets().then((v) => ({ ok: true as const, v }), (err: unknown) => ({ ok: false as const, err: errorMessage(err) })),
      // The flag pauses on its own; the ConfigMap is not needed then.
      config.pauseFlag ? { ok: true as const, v: true } : deps.reader.paused(config.pauseConfigMap.namespace, config.pauseConfigMap.name).then((v) => ({ ok: true as const, v }), (err: unknown) => ({ ok: false as const, err: errorMessage(err) })),
    ]);
    const problems: Array<{ read: 'pause' | 'hpa'; reason: string; message: string }> = [];
    if (!pausedCm.ok) problems.push({ read: 'pause', reason: 'PauseUnknown', message: `cannot read the pause ConfigMap ${config.pauseConfigMap.namespace}/${config.pauseConfigMap.name} (${pausedCm.err}); not scaling until it can be read` });
    if (!hpas.ok) problems.push({ read: 'hpa', reason: 'HpaCheckFailed', message: `cannot list HorizontalPodAutoscalers to rule out another autoscaler (${hpas.err}); not scaling until they can be listed` });
    for (const p of problems) {
      m.safetyReadErrors.inc({ read: p.read });
      deps.logger.warn({ read: p.read, reason: p.reason, err: p.message }, 'a safety read failed; holding every target this tick');
    }
    const first = problems[0];
    return {
      hpas: hpas.ok ? hpas.v : new Map(),
      paused: pausedCm.ok ? pausedCm.v : undefined,
      hold: first ? { reason: first.reason, message: problems.map((p) => p.message).join('; ') } : undefined,
    };
  }

  /**
   * Drops the memory and the per-scaler series of scalers this replica no longer acts for (deleted,
   * or, sharded, their shard moved to another replica), so nothing goes stale.
   */
  function forgetDeleted(present: ReadonlySet<string>): void {
    for (const key of runtimes.keys()) {
      if (present.has(key)) continue;
      runtimes.delete(key);
      const [namespace = '', scaler = ''] = key.split('/');
      for (const g of [m.desired, m.current, m.demand, m.startup, m.unschedulable, m.ready, m.minReplicas, m.maxReplicas, m.gpuBudgetCut]) g.remove({ namespace, scaler });
      for (const quantile of ['p50', 'p90']) m.forecast.remove({ namespace, scaler, quantile });
      for (const condition of ['Ready', 'Active', 'Degraded', 'Unschedulable', 'Conflict']) m.condition.remove({ namespace, scaler, condition });
      deps.logger.info({ scaler: key }, 'scaler no longer handled here (deleted, or its shard moved to another replica); its history and series are dropped');
    }
  }

  type TargetResult = { ok: true; state: ScaleState } | { ok: false; error: string };

  async function readTarget(s: PredictiveScaler, rt: ScalerRuntime): Promise<TargetResult> {
    const ref = targetOf(s);
    try {
      const state = await deps.scale.read(ref);
      const applied = s.status?.appliedReplicas;
      // Only a suspected conflict costs the second request that names the other writer.
      if (applied !== undefined && applied !== state.replicas) state.replicasManager = await deps.scale.writerOf(ref).catch(() => undefined);
      if (tickNo - rt.statsTick >= config.podStatsEveryTicks && state.selector) {
        rt.stats = await deps.reader.podStats(ref.namespace, state.selector).catch(() => rt.stats);
        rt.statsTick = tickNo;
      }
      return { ok: true, state };
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }

  async function applyPatch(s: PredictiveScaler, p: ScalerPlan): Promise<boolean> {
    if (!p.patch) return false;
    const ref = targetOf(s);
    let rv = p.patch.resourceVersion;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await deps.scale.setReplicas(ref, p.patch.replicas, rv);
        m.patches.inc({ result: 'applied' });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code !== 409) {
          m.patches.inc({ result: 'error' });
          deps.logger.warn({ scaler: p.key, err: errorMessage(err) }, 'scale patch failed; retrying next tick');
          return false;
        }
        // Something else changed the object: retry only if the replicas are still what we decided on.
        const again = await deps.scale.read(ref).catch(() => undefined);
        if (!again || again.replicas !== p.currentReplicas) {
          m.patches.inc({ result: 'conflict' });
          return false;
        }
        rv = again.resourceVersion;
      }
    }
    m.patches.inc({ result: 'conflict' });
    return false;
  }

  async function writeStatus(s: PredictiveScaler, rt: ScalerRuntime, p: ScalerPlan, x: ExplainInput & { nowMs: number }): Promise<void> {
    const nowIso = new Date(x.nowMs).toISOString();
    const previous = s.status?.conditions ?? [];
    const conditions = p.conditions.map((c) => {
      const old = previous.find((o) => o.type === c.type);
      return { ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : nowIso, observedGeneration: s.metadata.generation };
    });
    const changed = p.conditions.filter((c) => previous.find((o) => o.type === c.type)?.status !== c.status);
    const statusKey = JSON.stringify([p.decision, p.reason, p.desiredReplicas, p.served?.value, p.conditions.map((c) => c.status)]);
    // A status write per scaler per tick would be a thousand writes every 15 s: write on change,
    // and otherwise refresh it. Once a minute for a value an HPA or KEDA reads from the status
    // (they call it stale after 120 s); for the others every statusRefreshSeconds, each scaler at
    // its own point in that span, so that a thousand refreshes do not come due in one tick
    // (docs/scale.md: with a refresh every minute, every fourth tick rewrote every status).
    const refreshMs = p.served ? 60_000 : (config.statusRefreshSeconds ?? 600) * 1000 * (0.5 + spreadOf(p.key));
    if (!x.applied && p.adoptApplied === undefined && statusKey === rt.lastStatusKey && x.nowMs - rt.lastStatusAt < refreshMs) return;
    if (p.adoptApplied !== undefined) deps.logger.info({ scaler: p.key, replicas: p.adoptApplied, recorded: s.status?.appliedReplicas }, 'the target\'s replicas were last set by SurgeGuard but the status missed that write; recording them as applied');
    const status: PredictiveScalerStatus = {
      observedGeneration: s.metadata.generation,
      conditions,
      desiredReplicas: p.desiredReplicas,
      ...(x.applied ? { appliedReplicas: p.patch?.replicas } : p.adoptApplied !== undefined ? { appliedReplicas: p.adoptApplied } : s.status?.appliedReplicas === undefined && p.decision === 'hold' && p.currentReplicas !== undefined ? { appliedReplicas: p.currentReplicas } : {}),
      ...(p.served ? { externalMetric: { value: p.served.value, desiredReplicas: p.served.desiredReplicas, currentReplicas: p.served.currentReplicas, ...(p.served.hpa ? { hpa: p.served.hpa } : {}), time: nowIso } } : {}),
      ...(x.reading?.ok ? { currentDemand: round(x.reading.rate) } : {}),
      ...(x.fc ? { forecast: forecastSummary(x.fc.f, x.policy.startupSeconds, config.intervalSeconds) } : {}),
      ...(rt.stats?.startupP90Seconds !== undefined ? { observedStartupSeconds: round(rt.stats.startupP90Seconds) } : {}),
      lastDecision: { time: nowIso, decision: p.decision, reason: p.reason, replicas: p.desiredReplicas ?? p.currentReplicas ?? 0, message: p.message },
    };
    try {
      await deps.writer.patchScalerStatus(s.metadata.namespace, s.metadata.name, status);
      rt.lastStatusAt = x.nowMs;
      rt.lastStatusKey = statusKey;
    } catch (err) {
      deps.logger.warn({ scaler: p.key, err: errorMessage(err) }, 'status update failed');
    }
    // Events only for what changed, so a thousand holding scalers do not flood the cluster.
    const obj = { apiVersion: s.apiVersion, kind: s.kind, name: s.metadata.name, namespace: s.metadata.namespace, uid: s.metadata.uid };
    const events: Array<[type: 'Normal' | 'Warning', reason: string, message: string]> = [];
    if (x.applied) events.push(['Normal', p.decision === 'scale_up' ? 'ScaledUp' : 'ScaledDown', p.message]);
    if (p.decision === 'hpa' && p.served && p.served.value !== s.status?.externalMetric?.value) events.push(['Normal', 'AskedHpa', p.message]);
    // A budget cut is a Warning when it starts or its grant changes; a cut that lasts is told once.
    if (p.reason === 'GpuBudget' && rt.budgetToldAt !== p.desiredReplicas) {
      if (!x.applied) events.push(['Warning', 'GpuBudget', p.message]);
      rt.budgetToldAt = p.desiredReplicas;
    } else if (p.reason !== 'GpuBudget') rt.budgetToldAt = undefined;
    for (const c of changed) {
      const bad = (c.type === 'Ready' && c.status === 'False') || (c.type !== 'Ready' && c.type !== 'Active' && c.status === 'True');
      // A scaler's first status tells only conditions that start away from healthy: 1,000 new
      // scalers would otherwise write five Normal Events each in one tick (docs/scale.md).
      if (!previous.some((o) => o.type === c.type) && c.status === (c.type === 'Ready' || c.type === 'Active' ? 'True' : 'False')) continue;
      events.push([bad ? 'Warning' : 'Normal', c.reason, `${c.type}=${c.status}: ${c.message}`]);
    }
    for (const [type, reason, message] of events) await deps.writer.event(obj, type, reason, message).catch((err: unknown) => deps.logger.warn({ err: errorMessage(err) }, 'event not recorded'));
  }

  interface ExplainInput {
    leader: boolean;
    applied: boolean;
    decision: ScalingDecision | undefined;
    fc: { f: SeriesForecast; source: string } | undefined;
    policy: ReturnType<typeof policyFor>;
    reading: SignalReading | undefined;
  }

  function explain(s: PredictiveScaler, p: ScalerPlan, x: ExplainInput & { nowMs: number; unschedulable: number; ready: number | undefined }): void {
    const labels = { namespace: s.metadata.namespace, scaler: s.metadata.name };
    const forecast = x.fc ? forecastSummary(x.fc.f, x.policy.startupSeconds, config.intervalSeconds) : undefined;
    deps.logger.info(
      { scaler: p.key, target: `${s.spec.targetRef.kind}/${s.spec.targetRef.name}`, decision: p.decision, reason: p.reason, leader: x.leader, applied: x.applied, current: p.currentReplicas, desired: p.desiredReplicas, demand: x.reading?.ok ? x.reading.rate : undefined, forecast, rules: x.decision?.rules },
      p.message,
    );
    m.decisions.inc({ decision: p.decision, reason: p.reason });
    if (p.desiredReplicas !== undefined) m.desired.set(labels, p.desiredReplicas);
    if (p.currentReplicas !== undefined) m.current.set(labels, p.currentReplicas);
    if (x.reading?.ok) m.demand.set(labels, x.reading.rate);
    if (forecast) {
      m.forecast.set({ ...labels, quantile: 'p50' }, forecast.p50);
      m.forecast.set({ ...labels, quantile: 'p90' }, forecast.p90);
    }
    m.startup.set(labels, x.policy.startupSeconds);
    m.unschedulable.set(labels, x.unschedulable);
    if (x.ready !== undefined) m.ready.set(labels, x.ready);
    m.minReplicas.set(labels, x.policy.minReplicas);
    m.maxReplicas.set(labels, x.policy.maxReplicas);
    for (const c of p.conditions) m.condition.set({ ...labels, condition: c.type }, c.status === 'True' ? 1 : 0);
    deps.decisions.add({
      time: new Date(x.nowMs).toISOString(),
      scaler: p.key,
      target: `${s.spec.targetRef.kind}/${s.spec.targetRef.name}`,
      decision: p.decision,
      reason: p.reason,
      message: p.message,
      leader: x.leader,
      applied: x.applied,
      currentReplicas: p.currentReplicas,
      desiredReplicas: p.desiredReplicas,
      demandPerSecond: x.reading?.ok ? x.reading.rate : undefined,
      forecast: forecast && x.fc ? { ...forecast, source: x.fc.source } : undefined,
      startupSeconds: x.policy.startupSeconds,
      ...(x.decision ? rulesRecord(x.decision) : {}),
    });
  }
}

/** A number in [0, 1) fixed by the key (FNV-1a), to spread per-scaler work over time. */
/** A scaler's key, `namespace/name`: its runtime, its readings and its plan are found by it. */
function keyOf(s: PredictiveScaler): string {
  return `${s.metadata.namespace}/${s.metadata.name}`;
}

/** What the decide stage gives the act stage for one scaler. */
interface TickPlan {
  p: ScalerPlan;
  decision: ScalingDecision | undefined;
  fc: { f: SeriesForecast; source: string } | undefined;
  policy: ScalingPolicy;
}

export function spreadOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/** A forecast that says demand stays where it is now: what a reactive autoscaler assumes. */
function flat(history: readonly number[]): SeriesForecast {
  const v = history[history.length - 1] ?? 0;
  const a = Float64Array.of(v);
  return { p10: a, p50: a.slice(), p90: a.slice() };
}

function forecastSummary(f: SeriesForecast, startupSeconds: number, intervalSeconds: number): { p50: number; p90: number; horizonSeconds: number } {
  const k = Math.min(f.p50.length - 1, startupSteps({ startupSeconds }, intervalSeconds));
  return { p50: round(f.p50[k] ?? 0), p90: round(f.p90[k] ?? 0), horizonSeconds: (k + 1) * intervalSeconds };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A guard's reading is keyed apart from the scaler's demand, which keeps the scaler's own key. */
function guardKey(scalerKey: string, guard: string): string {
  return `${scalerKey}#guard/${guard}`;
}

/** One Prometheus read per guard, batched with the demand reads of stage 1. */
function guardRequests(s: PredictiveScaler, key: string, startupSeconds: number): SignalRequest[] {
  return (s.spec.guards ?? []).map((g) => ({ key: guardKey(key, g.name), signal: { kind: 'prometheus', query: resolveGuard(g).query }, startupSeconds }));
}

export function signalOf(s: PredictiveScaler): SignalSpec {
  if (s.spec.signal.kafka) return { kind: 'kafka', topic: s.spec.signal.kafka.topic, consumerGroup: s.spec.signal.kafka.consumerGroup };
  try {
    return prometheusSignalOf(s.spec.signal.prometheus, s.metadata.namespace, s.spec.targetRef.name);
  } catch (err) {
    // The source reports a spec error as this scaler's failed read (Degraded), not the tick's.
    return { kind: 'prometheus', query: '', invalid: `${hasCode(err, ErrorCode.InputInvalid) ? `${ErrorCode.InputInvalid} ` : ''}${errorMessage(err)}` };
  }
}

export function targetOf(s: PredictiveScaler): TargetRef {
  return { apiVersion: s.spec.targetRef.apiVersion, kind: s.spec.targetRef.kind, name: s.spec.targetRef.name, namespace: s.metadata.namespace };
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The scaling loop's metrics; the demo registers the same ones so the dashboards read it too. */
export type ScalingLoopMetrics = ReturnType<typeof loopMetricsOf>;

export function scalingLoopMetrics(r: MetricRegistry): ScalingLoopMetrics {
  return loopMetricsOf(r);
}

function loopMetricsOf(r: MetricRegistry) {
  const scaler = ['namespace', 'scaler'] as const;
  return {
    decisions: r.counter('surgeguard_controller_decisions_total', 'Scaling decisions by outcome and the rule or reason behind them.', ['decision', 'reason']),
    patches: r.counter('surgeguard_controller_scale_patches_total', 'Writes to targets\' scale subresource by result.', ['result']),
    signalErrors: r.counter('surgeguard_controller_signal_errors_total', 'Scaler demand readings that failed, by signal kind.', ['signal']),
    phase: r.histogram('surgeguard_controller_tick_phase_duration_seconds', 'Time spent in each phase of a scaling tick.', ['phase'], [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
    paused: r.gauge('surgeguard_controller_paused', '1 while actuation is paused by flag or ConfigMap annotation.'),
    safetyReadErrors: r.counter('surgeguard_controller_safety_read_errors_total', 'Ticks in which a read that gates all scaling failed (read: pause ConfigMap or hpa list), so every target was held.', ['read']),
    desired: r.gauge('surgeguard_scaler_desired_replicas', 'Replicas the scaler decided on in its last tick.', scaler),
    current: r.gauge('surgeguard_scaler_current_replicas', 'spec.replicas of the scaler\'s target when last read.', scaler),
    demand: r.gauge('surgeguard_scaler_demand_requests_per_second', 'Measured demand of the scaler\'s signal.', scaler),
    gpuBudget: r.gauge('surgeguard_gpu_budget_gpus', 'The GPU budget of each resource this tick: allocatable on schedulable nodes, coming on launched Karpenter NodeClaims, held by pods no scaler governs, asked and granted by the scalers that share it.', ['resource', 'kind']),
    gpuBudgetCut: r.gauge('surgeguard_gpu_budget_cut_replicas', 'Replicas a scaler asked for that the GPU budget did not grant this tick.', scaler),
    nodeLeadTime: r.gauge('surgeguard_node_lead_time_seconds', 'Seconds from a Pending GPU pod to the Ready node made for it, per node pool, learned from node and pod timestamps (p50 and p90 of recent nodes).', ['pool', 'quantile']),
    nodeLeadTimeSamples: r.gauge('surgeguard_node_lead_time_samples', 'Nodes each pool\'s lead time is learned from.', ['pool']),
    stalledPods: r.gauge('surgeguard_gpu_pods_stalled', 'GPU pods Pending as unschedulable for longer than twice the node lead time (20 minutes before one is learned) while no node was created for them.', ['resource']),
    guardValue: r.gauge('surgeguard_scaler_guard_value', 'The value each saturation guard of a scaler read this tick (its unit is the guard\'s: requests waiting, KV-cache use, ...).', [...scaler, 'guard']),
    forecast: r.gauge('surgeguard_scaler_forecast_requests_per_second', 'Forecast demand one startup time ahead, by quantile.', [...scaler, 'quantile']),
    startup: r.gauge('surgeguard_scaler_startup_seconds', 'Pod startup time used: the larger of the spec and the observed p90.', scaler),
    unschedulable: r.gauge('surgeguard_scaler_unschedulable_pods', 'Pods of the scaler\'s target left Pending as unschedulable.', scaler),
    ready: r.gauge('surgeguard_scaler_ready_replicas', 'Ready pods of the scaler\'s target when last counted (every few ticks).', scaler),
    // Both bounds: a scaler with minReplicas = maxReplicas is always at its maximum, and the
    // AtMaxReplicas alert leaves it out by comparing the two.
    minReplicas: r.gauge('surgeguard_scaler_min_replicas', 'spec.minReplicas of the scaler.', scaler),
    maxReplicas: r.gauge('surgeguard_scaler_max_replicas', 'spec.maxReplicas of the scaler.', scaler),
    condition: r.gauge('surgeguard_scaler_condition', 'Scaler conditions (1 = True).', [...scaler, 'condition']),
  };
}
