import { quantile } from '../../inference/holt-winters.ts';

/**
 * What one target learned from its own past surges: how much of a break above the band was still
 * there when pods started at the surge would have served (lead K+1 intervals later).
 *
 * On 5-minute social traces half of all bursts last one interval and demand halves within two, so a
 * fixed 1.3 x current demand mostly buys pods that arrive after the burst. Sizing a surge by the
 * follow-through seen after this target's earlier surges (its 75th percentile) adds pods only where
 * surges have lasted.
 */
export interface SurgeMemory {
  /** Surges waiting for their follow-through: [ticks left, demand at the surge]. */
  readonly pending: [number, number][];
  /** Follow-through ratios, demand at lead over demand at the surge, oldest first. */
  readonly ratios: number[];
}

/** Ratios kept; older surges stop counting. */
const KEEP = 64;
/** Surges seen before their follow-through replaces the configured multiplier. */
const LEARN_AFTER = 5;
/** The follow-through quantile that sizes a surge. */
const QUANTILE = 0.75;
/** The largest learned multiplier: flash crowds that kept growing (2.5 to 3x within ten minutes) are sized for, a runaway ratio is not. */
const MAX_MULTIPLIER = 3;

/** A new target's memory: no surge seen. */
export function newSurgeMemory(): SurgeMemory {
  return { pending: [], ratios: [] };
}

/** Advances one tick: scores surges that are `lead` ticks old against demand now, and records a new one. Mutates and returns `m`. */
export function observeSurge(m: SurgeMemory, x: { demand: number; surge: boolean; lead: number }): SurgeMemory {
  let due = 0;
  for (const p of m.pending) if (--p[0] <= 0) due++;
  // Each surge is scored at its own lead: after a lead shrinks (a shorter startup), a newer surge
  // can fall due before an older one, so the due ones are taken wherever they wait, in order.
  if (due > 0) {
    const waiting = m.pending.filter(([left]) => left > 0);
    for (const [left, at] of m.pending) if (left <= 0) m.ratios.push(x.demand / at);
    m.pending.splice(0, m.pending.length, ...waiting);
    if (m.ratios.length > KEEP) m.ratios.splice(0, m.ratios.length - KEEP);
  }
  // Demand at the surge is the ratio's denominator: a surge on no demand teaches nothing.
  if (x.surge && x.demand > 0) m.pending.push([x.lead, x.demand]);
  return m;
}

/**
 * The multiplier on current demand that sizes a surge: the 75th percentile of the follow-through
 * seen, at least 1 (a surge never plans below the demand it broke with) and at most 3;
 * `configured` itself until enough surges were seen.
 */
export function surgeMultiplier(m: SurgeMemory, configured: number): number {
  if (m.ratios.length < LEARN_AFTER) return configured;
  return Math.min(MAX_MULTIPLIER, Math.max(1, quantile(m.ratios, QUANTILE)));
}
