import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import type { Forecaster, SeriesForecast } from '../../inference/forecaster.ts';
import { startupSteps } from '../scaling/decide.ts';
import type { ScalingPolicy } from '../scaling/policy.ts';
import type { BufferActuator } from './capacity-buffer-actuator.ts';
import type { CapacityBufferClient } from './capacity-buffer-client.ts';
import { bufferHealth, bufferPlaceholders, bufferPool, resolveMode, type CapacityBufferObject, type HeldBy } from './capacity-buffer.ts';
import type { PoolLeadTime } from './lead-time.ts';
import type { PlaceholderActuator } from './placeholder-actuator.ts';
import type { PlaceholderClient } from './placeholder-client.ts';
import type { PlaceholderConfig, PlaceholderPoolConfig } from './placeholder-config.ts';
import { decidePool, orphans, type LeadSource, type PoolPlan } from './placeholder-plan.ts';
import { PLACEHOLDER_SELECTOR, asPlaceholder, type PlaceholderPod } from './placeholder-pods.ts';
import { readPool, type PoolMember } from './placeholder-pool.ts';
import { forecastNeedGpus } from './placeholders.ts';
import type { ComingClaim } from './replacement.ts';

/** A scaler with spec.gpu as this tick saw it: what its pool's need is forecast from. */
export interface PlaceholderMember extends PoolMember {
  readonly gpu: { readonly resource: string; readonly perReplica: number };
  readonly policy: Pick<ScalingPolicy, 'startupSeconds' | 'capacityPerReplicaPerSecond' | 'headroom' | 'quantile' | 'minReplicas' | 'maxReplicas'>;
  /** Demand rates per interval, oldest first (the scaling loop's history). */
  readonly history: readonly number[];
  /** Replicas its plan asks for this tick, after the GPU budget; the need is never below it. */
  readonly desiredReplicas: number | undefined;
}

export interface PlaceholderTick {
  readonly members: readonly PlaceholderMember[];
  readonly cluster: { readonly nodes: readonly V1Node[]; readonly pods: readonly V1Pod[]; readonly claims?: readonly ComingClaim[] };
  readonly leadTimes: readonly PoolLeadTime[];
  /** This replica leads and actuation is not paused (a pause that cannot be read counts as paused). */
  readonly act: boolean;
  readonly nowMs: number;
  readonly intervalSeconds: number;
  /** Recorded seconds per wall second, as the scaling loop's forecast call uses. */
  readonly forecastTimeScale: number;
}

export interface PlaceholderStageDeps {
  client: PlaceholderClient;
  actuator: PlaceholderActuator;
  forecaster: Forecaster;
  logger: Logger;
  metrics: MetricRegistry;
  /** Present when a pool's mode is capacityBuffer or auto: the CapacityBuffer client and its actuator. */
  buffers?: { client: CapacityBufferClient; actuator: BufferActuator };
}

/** What holds each pool's placeholders this tick, the CapacityBuffer version served (if any), and the buffers that exist. */
interface Holders {
  readonly held: ReadonlyMap<string, HeldBy>;
  readonly version: string | undefined;
  readonly buffers: readonly CapacityBufferObject[];
}

export interface PlaceholderStage {
  /** One pass: gather, forecast at the node lead time, decide, act (leader, not paused), record. Returns the plans. */
  run(tick: PlaceholderTick): Promise<PoolPlan[]>;
}

/**
 * The live placeholders: each tick, per configured pool, the GPUs the member scalers' forecasts
 * need at the pool's node lead time, less what real pods ask for, held by placeholder pods in the
 * controller's namespace (placeholder-plan.ts decides, placeholder-actuator.ts applies). A failed
 * read or forecast changes nothing: the placeholders that exist stay, bounded by the cap.
 */
export function createPlaceholderStage(deps: PlaceholderStageDeps, config: PlaceholderConfig): PlaceholderStage {
  const m = placeholderMetrics(deps.metrics);
  const histories = new Map<string, readonly number[]>();
  let stalled = new Set<string>();
  let unhealthy = new Set<string>();

  return {
    async run(tick) {
      let placeholders: PlaceholderPod[];
      let needs: Map<string, number>;
      let holders: Holders;
      try {
        holders = await gatherHolders();
        placeholders = await gather();
        needs = await forecastNeeds(tick);
      } catch (err) {
        m.stageErrors.inc();
        deps.logger.warn({ err: (err as Error).message }, 'placeholders: could not read the placeholders or forecast the node horizon; they stay as they are this tick');
        return [];
      }
      const plans = config.pools.map((pool) => decide(pool, tick, heldPlaceholders(pool, holders, placeholders, tick.nowMs), needs.get(pool.name) ?? 0));
      if (tick.act) {
        await act(plans.filter((p) => holders.held.get(p.pool) === 'pods'), placeholders, holders);
        await actBuffers(plans.filter((p) => holders.held.get(p.pool) === 'capacityBuffer'), holders);
        await checkBuffers(tick, holders);
      }
      record(plans, tick.act, holders);
      return plans;
    },
  };

  async function gather(): Promise<PlaceholderPod[]> {
    const pods = await deps.client.list(config.namespace, PLACEHOLDER_SELECTOR);
    const resourceOf = (pool: string): string | undefined => config.pools.find((p) => p.name === pool)?.resource;
    return pods.map((p) => asPlaceholder(p, resourceOf)).filter((p): p is PlaceholderPod => p !== undefined);
  }

  /**
   * Discovery (only with a pool in capacityBuffer or auto mode): which pools a CapacityBuffer holds,
   * and the buffers that exist. A failed discovery or list fails the tick as a failed pod list does:
   * auto mode never falls back to pods because the API server was briefly unreachable.
   */
  async function gatherHolders(): Promise<Holders> {
    const version = deps.buffers ? await deps.buffers.client.served() : undefined;
    const held = new Map(config.pools.map((p) => [p.name, resolveMode(p.mode, version)] as const));
    const buffers = deps.buffers && version !== undefined ? await deps.buffers.client.list(version, config.namespace, PLACEHOLDER_SELECTOR) : [];
    return { held, version, buffers };
  }

  /** Per pool, the summed need of its members at the node horizon, from one batched forecast call. */
  async function forecastNeeds(tick: PlaceholderTick): Promise<Map<string, number>> {
    const rows = tick.members.flatMap((mem) => {
      const pool = poolOf(mem, config.pools);
      if (!pool) return [];
      const k = startupSteps(mem.policy, tick.intervalSeconds);
      const n = Math.ceil(leadOf(pool, tick.leadTimes, config.defaultNodeLeadTimeSeconds).seconds / tick.intervalSeconds - 1e-9);
      return [{ mem, pool, k, n }];
    });
    const withHistory = rows.filter((r) => r.mem.history.length > 0);
    const forecasts: SeriesForecast[] = [];
    if (withHistory.length > 0) {
      const horizonSteps = Math.max(...withHistory.map((r) => r.k + 1 + r.n));
      const batch = await deps.forecaster.forecast({ histories: withHistory.map((r) => Float64Array.from(r.mem.history)), intervalSeconds: tick.intervalSeconds * tick.forecastTimeScale, horizonSteps });
      forecasts.push(...batch.forecasts);
    }
    const out = new Map<string, number>();
    for (const r of rows) {
      const f = forecasts[withHistory.indexOf(r)];
      const asked = (r.mem.desiredReplicas ?? 0) * r.mem.gpu.perReplica;
      const p = r.mem.policy;
      // From the pod lead K (a pod decided now serves from K + 1) to the node horizon N + K, as replay sizes it.
      const need = f ? forecastNeedGpus(p.quantile === 'p50' ? f.p50 : f.p90, { fromStep: r.k, toStep: r.k + r.n, perReplicaCapacity: p.capacityPerReplicaPerSecond, headroom: p.headroom, minReplicas: p.minReplicas, maxReplicas: p.maxReplicas, gpusPerReplica: r.mem.gpu.perReplica }) : 0;
      out.set(r.pool.name, (out.get(r.pool.name) ?? 0) + Math.max(need, asked));
    }
    return out;
  }

  function decide(pool: PlaceholderPoolConfig, tick: PlaceholderTick, placeholders: readonly PlaceholderPod[], needGpus: number): PoolPlan {
    const members = tick.members.filter((mem) => poolOf(mem, config.pools)?.name === pool.name);
    const view = readPool(pool, tick.cluster, members, placeholders);
    const lead = leadOf(pool, tick.leadTimes, config.defaultNodeLeadTimeSeconds);
    const stabilizationSteps = Math.max(1, Math.ceil(config.stabilizationSeconds / tick.intervalSeconds - 1e-9));
    const plan = decidePool({ pool, view, needGpus, leadSeconds: lead.seconds, leadSource: lead.source, history: histories.get(pool.name), stabilizationSteps, nowMs: tick.nowMs });
    histories.set(pool.name, plan.history);
    return plan;
  }

  async function act(plans: readonly PoolPlan[], placeholders: readonly PlaceholderPod[], holders: Holders): Promise<void> {
    // Pods of a pool a CapacityBuffer holds now go too: the buffer stands for them.
    await deps.actuator.deleteOrphans(orphans(placeholders, config.pools.filter((p) => holders.held.get(p.name) === 'pods').map((p) => p.name)));
    const nowStalled = new Set<string>();
    for (const plan of plans) {
      if (plan.stall) {
        nowStalled.add(plan.pool);
        const oldest = placeholders.filter((p) => p.pool === plan.pool && !p.bound && !p.terminating).sort((a, b) => a.createdMs - b.createdMs)[0];
        if (!stalled.has(plan.pool) && oldest) await deps.actuator.tellStall(plan, oldest.name);
      } else if (stalled.has(plan.pool)) {
        deps.logger.info({ pool: plan.pool }, 'placeholders: a node came to the pool; it grows with the forecast again');
      }
      if (plan.create.length > 0 || plan.delete.length > 0) await deps.actuator.apply(plan);
    }
    stalled = nowStalled;
  }

  async function actBuffers(plans: readonly PoolPlan[], holders: Holders): Promise<void> {
    if (!deps.buffers) return;
    const { actuator } = deps.buffers;
    const configured = new Set(config.pools.map((p) => p.name));
    const gone = holders.buffers.filter((b) => !configured.has(bufferPool(b) ?? ''));
    const moved = holders.buffers.filter((b) => holders.held.get(bufferPool(b) ?? '') === 'pods');
    await actuator.deleteOrphans(gone, 'PoolRemoved');
    await actuator.deleteOrphans(moved, 'ModeChanged');
    if (plans.length === 0) return;
    if (holders.version === undefined) {
      m.bufferUnserved().inc();
      deps.logger.warn({ pools: plans.map((p) => p.pool) }, 'placeholders: these pools are set to mode capacityBuffer but the API server serves no autoscaling.x-k8s.io CapacityBuffer; nothing is held for them (install the CRD, or use mode auto or pods)');
      return;
    }
    for (const plan of plans) await actuator.apply(plan, holders.buffers.find((b) => bufferPool(b) === plan.pool), holders.version);
  }

  /** Per buffer-held pool, whether the autoscaler reads its buffer: a gauge, and a Warning when that turns bad. */
  async function checkBuffers(tick: PlaceholderTick, holders: Holders): Promise<void> {
    if (!deps.buffers || holders.version === undefined) return;
    const now = new Set<string>();
    for (const pool of config.pools.filter((p) => holders.held.get(p.name) === 'capacityBuffer')) {
      const health = bufferHealth(holders.buffers.find((b) => bufferPool(b) === pool.name), tick.nowMs, leadOf(pool, tick.leadTimes, config.defaultNodeLeadTimeSeconds).seconds);
      const bad = health.state === 'unresolved' || health.state === 'unread';
      m.bufferUnhealthy().set({ pool: pool.name }, bad ? 1 : 0);
      if (!bad) continue;
      now.add(pool.name);
      if (!unhealthy.has(pool.name)) await deps.buffers.actuator.tellUnhealthy(pool.name, holders.version, health.message);
    }
    unhealthy = now;
  }

  function record(plans: readonly PoolPlan[], acting: boolean, holders: Holders): void {
    for (const p of plans) {
      if (deps.buffers) for (const mode of ['pods', 'capacityBuffer'] as const) m.mode().set({ pool: p.pool, mode }, holders.held.get(p.pool) === mode ? 1 : 0);
      const decision = p.create.length > 0 ? 'create' : p.delete.length > 0 ? 'delete' : 'hold';
      m.decisions.inc({ pool: p.pool, decision, reason: p.reason });
      // A replica that does not act would say the same create every tick: only the acting one tells it.
      if (decision !== 'hold' && acting) deps.logger.info({ pool: p.pool, decision, reason: p.reason, acting, want: p.wantPods, live: p.livePods, create: p.create, delete: p.delete.map((d) => d.name) }, p.message);
      else deps.logger.debug({ pool: p.pool, decision, reason: p.reason, acting }, p.message);
      m.need.set({ pool: p.pool }, p.sizing.stabilizedNeedGpus);
      m.pods.set({ pool: p.pool, state: 'wanted' }, p.wantPods);
      m.pods.set({ pool: p.pool, state: 'bound' }, p.boundPods);
      m.pods.set({ pool: p.pool, state: 'pending' }, p.livePods - p.boundPods);
      m.provision.set({ pool: p.pool }, p.sizing.provisionGpus);
      m.stalled.set({ pool: p.pool }, p.stall ? 1 : 0);
      if (p.costPerHour !== undefined) m.cost.set({ pool: p.pool }, p.costPerHour);
    }
  }
}

/** The pool a scaler's forecast sizes: the one that lists it, else the one of its resource that lists none. */
export function poolOf(mem: Pick<PlaceholderMember, 'key' | 'gpu'>, pools: readonly PlaceholderPoolConfig[]): PlaceholderPoolConfig | undefined {
  return pools.find((p) => p.scalers?.includes(mem.key)) ?? pools.find((p) => p.scalers === undefined && p.resource === mem.gpu.resource);
}

/** The pool's node lead time: its learned p90 (the pool's name is the node label's value), else its own setting, else the default. */
export function leadOf(pool: PlaceholderPoolConfig, learned: readonly PoolLeadTime[], defaultSeconds: number): { seconds: number; source: LeadSource } {
  const l = learned.find((p) => p.pool === pool.name && p.samples > 0);
  if (l) return { seconds: Math.max(1, l.p90Seconds), source: 'learned' };
  if (pool.nodeLeadTimeSeconds !== undefined) return { seconds: pool.nodeLeadTimeSeconds, source: 'configured' };
  return { seconds: defaultSeconds, source: 'default' };
}

function placeholderMetrics(r: MetricRegistry) {
  return {
    decisions: r.counter('surgeguard_placeholder_decisions_total', 'Placeholder decisions per pool and tick: create, delete or hold, with the sizing reason (Forecast, Stabilized, PlaceholderCap, CostCap, NoGap, NoAutoscaler).', ['pool', 'decision', 'reason']),
    need: r.gauge('surgeguard_placeholder_need_gpus', 'GPUs the pool\'s scalers are forecast to need within the node lead time, held by the stabilization window.', ['pool']),
    pods: r.gauge('surgeguard_placeholder_pods', 'Placeholder pods per pool: wanted by the last decision, bound to a node (holding GPUs), pending (asking the autoscaler for nodes).', ['pool', 'state']),
    provision: r.gauge('surgeguard_placeholder_provision_gpus', 'Of the placeholders\' GPUs, those no free or coming GPU covers: what new nodes must bring.', ['pool']),
    stalled: r.gauge('surgeguard_placeholder_pool_stalled', '1 while a pool\'s placeholders wait past twice the node lead time with no node created for them (no autoscaler behind the pool); it is then not grown.', ['pool']),
    cost: r.gauge('surgeguard_placeholder_cost_per_hour', 'What the placeholders the last decision wanted cost an hour, at the pool\'s pricePerGpuHour (pools with a price only); capCostPerHour bounds it.', ['pool']),
    // Registered on first use: only a controller with a pool in capacityBuffer or auto mode shows these.
    bufferUnserved: lazy(() => r.counter('surgeguard_placeholder_buffer_unserved_total', 'Ticks in which a pool set to mode capacityBuffer found no CapacityBuffer served by the API server; nothing was held for it.')),
    bufferUnhealthy: lazy(() => r.gauge('surgeguard_capacity_buffer_unresolved', '1 while the autoscaler refuses a pool\'s CapacityBuffer (ReadyForProvisioning False) or has not read it past twice the node lead time (no status): nothing provisions for it.', ['pool'])),
    mode: lazy(() => r.gauge('surgeguard_placeholder_mode', '1 for what holds each pool\'s placeholders (pods or capacityBuffer), as configured or, in auto mode, found by discovery.', ['pool', 'mode'])),
    stageErrors: r.counter('surgeguard_placeholder_stage_errors_total', 'Ticks in which the placeholders could not be listed or the node horizon not forecast; nothing changed those ticks.'),
  };
}

/** The placeholders a pool's plan counts: its pods, or its CapacityBuffer's replicas read as virtual placeholders. */
function heldPlaceholders(pool: PlaceholderPoolConfig, holders: Holders, pods: readonly PlaceholderPod[], nowMs: number): readonly PlaceholderPod[] {
  if (holders.held.get(pool.name) !== 'capacityBuffer') return pods;
  return bufferPlaceholders(holders.buffers.find((b) => bufferPool(b) === pool.name), pool, nowMs);
}

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}
