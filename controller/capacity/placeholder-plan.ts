import type { PlaceholderPoolConfig } from './placeholder-config.ts';
import type { PlaceholderPod } from './placeholder-pods.ts';
import { placeholderIndex, placeholderName } from './placeholder-pods.ts';
import type { PoolView } from './placeholder-pool.ts';
import { sizePlaceholders, type PlaceholderDecision, type PlaceholderReason } from './placeholders.ts';

/** Where a pool's node lead time came from. */
export type LeadSource = 'learned' | 'configured' | 'default';

/** Placeholders Pending past twice the lead time while no node of the pool was created after them. */
export interface PoolStall {
  readonly pods: number;
  readonly oldestSeconds: number;
  readonly limitSeconds: number;
}

export interface PoolPlanInput {
  readonly pool: PlaceholderPoolConfig;
  readonly view: PoolView;
  /** GPUs the members' forecasts need at the node lead time (at least what their plans ask now). */
  readonly needGpus: number;
  readonly leadSeconds: number;
  readonly leadSource: LeadSource;
  /** The window's needs, newest last; undefined on the first tick after start (then seeded, see decidePool). */
  readonly history: readonly number[] | undefined;
  readonly stabilizationSteps: number;
  readonly nowMs: number;
}

/** Why a placeholder goes: the forecast fell (after the window), or it finished and only holds its name. */
export type DeleteReason = 'Released' | 'Finished';

/** What to do with one pool this tick: a value, applied by placeholder-actuator.ts. */
export interface PoolPlan {
  readonly pool: string;
  readonly resource: string;
  readonly sizing: PlaceholderDecision;
  /** The sizing's reason; CostCap when the pool's cost cap holds it below that; NoAutoscaler when a stalled pool is kept from growing. */
  readonly reason: PlaceholderReason | 'CostCap' | 'NoAutoscaler';
  /** What the wanted placeholders cost an hour (wantPods x gpusPerPod x pricePerGpuHour); undefined with no price configured. */
  readonly costPerHour: number | undefined;
  /** Placeholder pods wanted, and live now (not terminating, not finished), and of those bound. */
  readonly wantPods: number;
  readonly livePods: number;
  readonly boundPods: number;
  readonly create: readonly string[];
  readonly delete: ReadonlyArray<{ readonly name: string; readonly reason: DeleteReason }>;
  readonly stall: PoolStall | undefined;
  readonly history: readonly number[];
  readonly message: string;
}

/**
 * Decides one pool's placeholders: sizes them from the need (placeholders.ts, the same sizing
 * replay runs), turns GPUs into whole pods under the cap, and names the pods to create (lowest free
 * indices) and to delete (Pending ones first: they hold nothing; then the highest index). A pool
 * whose Pending placeholders wait past twice the lead time with no new node has no autoscaler
 * behind it: it keeps what it has and does not grow. Pure.
 */
export function decidePool(x: PoolPlanInput): PoolPlan {
  const { pool, view } = x;
  const live = view.placeholders.filter((p) => !p.terminating && !p.finished);
  const liveGpus = live.reduce((s, p) => s + p.gpus, 0);
  // After a restart the window is empty: seed it with what the adopted placeholders and real pods
  // stand for, so a forecast that fell while the controller was down still waits out the window.
  const history = x.history ?? [view.realGpus + liveGpus];
  // GPUs the placeholders hold already need no new node: for what nodes must bring, they count as free.
  const heldGpus = live.filter((p) => p.bound).reduce((s, p) => s + p.gpus, 0);
  const sizing = sizePlaceholders({ needGpus: x.needGpus, realGpus: view.realGpus, freeGpus: view.freeGpus + heldGpus, comingGpus: view.comingGpus }, { capGpus: pool.capGpus, stabilizationSteps: x.stabilizationSteps }, history);
  const byGpus = Math.min(Math.floor(pool.capGpus / pool.gpusPerPod), Math.ceil(sizing.gpus / pool.gpusPerPod));
  const byCost = costCapPods(pool);
  const sized = Math.min(byGpus, byCost);
  const stall = stallOf(live, view.newestNodeMs, x);
  const wantPods = stall ? Math.min(sized, live.length) : sized;
  const reason: PoolPlan['reason'] = stall && wantPods < sized ? 'NoAutoscaler' : byCost < byGpus ? 'CostCap' : sizing.reason;
  const costPerHour = pool.pricePerGpuHour === undefined ? undefined : wantPods * pool.gpusPerPod * pool.pricePerGpuHour;
  const create = freeNames(pool.name, view.placeholders, wantPods - live.length);
  const release = surplus(live, wantPods);
  const finished = view.placeholders.filter((p) => p.finished && !p.terminating).map((p) => ({ name: p.name, reason: 'Finished' as const }));
  const plan: Omit<PoolPlan, 'message'> = { pool: pool.name, resource: pool.resource, sizing, reason, costPerHour, wantPods, livePods: live.length, boundPods: live.filter((p) => p.bound).length, create, delete: [...release.map((name) => ({ name, reason: 'Released' as const })), ...finished], stall, history: sizing.history };
  return { ...plan, message: messageOf(plan, x) };
}

/**
 * The most placeholder pods the pool's cost cap allows: whole pods whose GPU-hours stay within
 * `capCostPerHour` at `pricePerGpuHour` (Infinity with no cost cap). Rounded down: the cap is a
 * ceiling, never exceeded by part of a pod.
 */
export function costCapPods(pool: Pick<PlaceholderPoolConfig, 'capCostPerHour' | 'pricePerGpuHour' | 'gpusPerPod'>): number {
  if (pool.capCostPerHour === undefined || pool.pricePerGpuHour === undefined) return Infinity;
  return Math.floor(pool.capCostPerHour / (pool.pricePerGpuHour * pool.gpusPerPod) + 1e-9);
}

function stallOf(live: readonly PlaceholderPod[], newestNodeMs: number, x: PoolPlanInput): PoolStall | undefined {
  const limitSeconds = 2 * x.leadSeconds;
  const waiting = live.filter((p) => !p.bound && (x.nowMs - p.createdMs) / 1000 > limitSeconds && newestNodeMs < p.createdMs);
  if (waiting.length === 0) return undefined;
  return { pods: waiting.length, oldestSeconds: Math.max(...waiting.map((p) => (x.nowMs - p.createdMs) / 1000)), limitSeconds };
}

/** `n` names with the lowest indices no placeholder of the pool uses (a terminating one keeps its name until gone). */
function freeNames(pool: string, all: readonly PlaceholderPod[], n: number): string[] {
  const used = new Set(all.map((p) => placeholderIndex(pool, p.name)));
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (!used.has(i)) out.push(placeholderName(pool, i));
  return out;
}

/** The live placeholders to delete to come down to `want`: Pending first (newest first), then bound, highest index first. */
function surplus(live: readonly PlaceholderPod[], want: number): string[] {
  const order = [...live].sort((a, b) => Number(a.bound) - Number(b.bound) || (a.bound ? index(b) - index(a) : b.createdMs - a.createdMs || index(b) - index(a)));
  return order.slice(0, Math.max(0, live.length - want)).map((p) => p.name);
}

function index(p: PlaceholderPod): number {
  return placeholderIndex(p.pool, p.name) ?? Number.MAX_SAFE_INTEGER;
}

function messageOf(p: Omit<PoolPlan, 'message'>, x: PoolPlanInput): string {
  const v = x.view;
  const head = `pool ${p.pool} (${p.resource}): the forecasts need ${round(x.needGpus)} GPUs within ${Math.round(x.leadSeconds)} s (node lead time, ${x.leadSource}), ${round(p.sizing.stabilizedNeedGpus)} held by the window; real pods ask ${v.realGpus}, ${v.freeGpus} free, ${v.comingGpus} coming`;
  const cost = p.costPerHour === undefined ? '' : `, ${round(p.costPerHour)} an hour at ${x.pool.pricePerGpuHour} per GPU-hour${x.pool.capCostPerHour === undefined ? '' : ` (cost cap ${x.pool.capCostPerHour})`}`;
  const pods = `placeholders ${p.livePods} -> ${p.wantPods} pods of ${x.pool.gpusPerPod} GPU (cap ${x.pool.capGpus} GPUs${cost}; ${p.sizing.provisionGpus} GPUs for new nodes to bring)`;
  const stall = p.stall ? `; ${p.stall.pods} placeholders Pending for up to ${Math.round(p.stall.oldestSeconds)} s, past twice the lead time, and no node came: no autoscaler seems to feed this pool, so it is not grown` : '';
  return `${head}; ${pods} (${p.reason})${stall}`;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Placeholders whose pool is no longer configured: deleted, so that a pool taken out of the config
 * does not keep holding GPUs. Pure.
 */
export function orphans(placeholders: readonly PlaceholderPod[], pools: readonly string[]): string[] {
  const known = new Set(pools);
  return placeholders.filter((p) => !known.has(p.pool) && !p.terminating).map((p) => p.name);
}
