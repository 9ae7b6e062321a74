import type { ReplacementVerdict } from '../capacity/replacement.ts';
import type { HealingConfig } from './config.ts';

/**
 * Whether a node repair may cordon now, given the replacement capacity (capacity/replacement.ts):
 * the make-before-break rule applied before the break. Pure: the healing loop applies it (a log
 * line, an Event, a count; a page once the wait has lasted `timeoutSeconds`).
 *
 * - A fatal fault never waits: the GPU is already gone, so keeping the node serves nothing.
 * - A degraded fault proceeds when the GPUs its pods hold can be had elsewhere in the pool (free,
 *   held by placeholders, or coming within the horizon), and otherwise waits: a slow GPU serves
 *   more than no GPU, and a drain with nowhere to go turns a degraded node into lost capacity.
 * - A wait past `timeoutSeconds` pages on-call, then keeps waiting (`onTimeout: wait`, the
 *   default) or drains anyway (`onTimeout: proceed`).
 */
export type CapacityWaitReason = 'FatalFault' | 'CapacityCheckOff' | 'NoGpuPods' | 'ReplacementCapacity' | 'NoReplacementCapacity' | 'CapacityWaitTimeout';

export interface CapacityWaitDecision {
  readonly action: 'proceed' | 'wait';
  readonly reason: CapacityWaitReason;
  /** True once the wait has lasted the timeout: on-call is paged (every tick it lasts; on-call deduplicates). */
  readonly page: boolean;
  /** When the wait started (kept by the caller for the next tick); undefined when not waiting. */
  readonly waitingSinceMs: number | undefined;
  readonly waitedSeconds: number;
  readonly message: string;
}

export interface CapacityWaitInput {
  readonly node: string;
  readonly fault: 'fatal' | 'degraded';
  /** undefined for a fatal fault or with the check off (not asked). */
  readonly verdict: ReplacementVerdict | undefined;
  /** When this node's wait started, from the previous ticks; undefined when it was not waiting. */
  readonly waitingSinceMs: number | undefined;
  readonly nowMs: number;
}

export function decideCapacityWait(x: CapacityWaitInput, config: HealingConfig['drain']['capacity']): CapacityWaitDecision {
  const none = { page: false, waitingSinceMs: undefined, waitedSeconds: 0 };
  if (x.fault === 'fatal') return { action: 'proceed', reason: 'FatalFault', ...none, message: `a fatal fault: ${x.node} is drained at once, whatever capacity there is` };
  if (!config.enabled || !x.verdict) return { action: 'proceed', reason: 'CapacityCheckOff', ...none, message: 'replacement capacity is not checked (healing.drain.capacity.enabled: false)' };
  if (x.verdict.enough) return { action: 'proceed', reason: x.verdict.reason, ...none, message: x.verdict.message };
  const since = x.waitingSinceMs ?? x.nowMs;
  const waitedSeconds = Math.max(0, (x.nowMs - since) / 1000);
  if (waitedSeconds < config.timeoutSeconds) {
    return { action: 'wait', reason: 'NoReplacementCapacity', page: false, waitingSinceMs: since, waitedSeconds, message: `not cordoning ${x.node} yet: ${x.verdict.message}; it keeps serving while degraded, asked again every tick, on-call paged after ${config.timeoutSeconds} s` };
  }
  const then = config.onTimeout === 'proceed' ? 'draining it anyway (onTimeout: proceed)' : 'still waiting (onTimeout: wait): add nodes to the pool or drain it by hand';
  return { action: config.onTimeout === 'proceed' ? 'proceed' : 'wait', reason: 'CapacityWaitTimeout', page: true, waitingSinceMs: since, waitedSeconds, message: `${x.node} has waited ${Math.round(waitedSeconds)} s (timeout ${config.timeoutSeconds} s) for replacement capacity: ${x.verdict.message}; ${then}` };
}
