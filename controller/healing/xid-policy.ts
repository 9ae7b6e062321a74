import { z } from 'zod';
import type { FaultClass, Severity } from './types.ts';

/**
 * What SurgeGuard does about an XID code, mildest first:
 * - `ignore`: nothing, not even a finding;
 * - `watch`: a finding told to the receivers of warnings, nothing repaired;
 * - `page`: a finding told to the receivers of critical problems, nothing repaired;
 * - `restart-pod`: the pod holding that GPU is restarted (a node-level `watch` when none holds it);
 * - `drain-degraded`: cordon, replacements first, then drain (make before break);
 * - `drain-fatal`: cordon and evict at once.
 */
export const XID_ACTIONS = ['ignore', 'watch', 'page', 'restart-pod', 'drain-degraded', 'drain-fatal'] as const;
export type XidAction = (typeof XID_ACTIONS)[number];

/** The finding an action makes (`ignore` makes none). */
export const ACTION_CLASS: Readonly<Record<Exclude<XidAction, 'ignore'>, { fault: FaultClass; severity: Severity }>> = {
  watch: { fault: 'notice', severity: 'warning' },
  page: { fault: 'notice', severity: 'critical' },
  'restart-pod': { fault: 'app', severity: 'warning' },
  'drain-degraded': { fault: 'degraded', severity: 'warning' },
  'drain-fatal': { fault: 'fatal', severity: 'critical' },
};

/**
 * Short meanings for the log line, from NVIDIA's XID catalogue ("XID Errors",
 * docs.nvidia.com/deploy/xid-errors); codes not here are named by number.
 */
export const XID_MEANINGS: Readonly<Record<number, string>> = {
  13: 'graphics engine exception',
  31: 'GPU memory page fault',
  43: 'GPU stopped processing',
  45: 'preemptive cleanup, due to previous errors',
  48: 'double-bit ECC error',
  63: 'row remapping or page retirement recorded',
  64: 'row remapping or page retirement failed',
  68: 'NVDEC0 exception',
  74: 'NVLink error',
  79: 'GPU has fallen off the bus',
  92: 'high single-bit ECC error rate',
  94: 'contained ECC error',
  95: 'uncontained ECC error',
  119: 'GSP RPC timeout',
  120: 'GSP error',
};

/**
 * Today's table, from the catalogue's "Resolution" column: a GPU reset or node reboot is a node
 * fault (drain at once); an error in or isolated to one application's context restarts that pod;
 * a wearing memory is watched.
 */
export const DEFAULT_XID_RULES: readonly XidRule[] = Object.freeze([
  { xids: [48, 74, 79, 95, 119, 120], action: 'drain-fatal' },
  { xids: [13, 31, 43, 45, 68, 94], action: 'restart-pod' },
  { xids: [92], action: 'watch' },
] as XidRule[]);

/**
 * XID codes are the driver's decimal numbers; NVIDIA's catalogue runs from 1 to about 170 today and
 * new drivers add codes, so the bound refuses typos and nonsense, not codes we have not heard of.
 */
const MAX_XID = 999;

const xidCode = z.number().int('an XID code is a whole number').min(1, 'XID codes start at 1').max(MAX_XID, `not an XID code (at most ${MAX_XID})`);

const rule = z.strictObject({
  xids: z.array(xidCode).min(1, 'list at least one XID code'),
  action: z.enum(XID_ACTIONS),
  /** The same code on the same GPU this many times within the window: `action` becomes `repeat.action`. */
  repeat: z
    .strictObject({
      count: z.number().int().min(2, 'a repeat needs at least 2 occurrences'),
      windowSeconds: z.number().min(60).max(7 * 86400),
      action: z.enum(XID_ACTIONS),
    })
    .optional(),
});
export type XidRule = z.output<typeof rule>;

/**
 * `healing.checks.xidPolicy`: rules replace today's table code by code (a code you list takes your
 * action; the others keep theirs), and `otherXids` is what happens to codes no rule lists. A code in
 * two of your rules, or a repeat that does not escalate, is refused with its key path.
 */
export const xidPolicySchema = z
  .strictObject({
    rules: z.array(rule).default([]),
    otherXids: z.enum(XID_ACTIONS).default('watch'),
  })
  .superRefine((p, ctx) => {
    const seen = new Map<number, number>();
    p.rules.forEach((r, i) => {
      r.xids.forEach((x, j) => {
        const first = seen.get(x);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['rules', i, 'xids', j], message: `XID ${x} is already in rules.${first}: one action per code` });
        else seen.set(x, i);
      });
      if (r.repeat && XID_ACTIONS.indexOf(r.repeat.action) <= XID_ACTIONS.indexOf(r.action)) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'repeat', 'action'], message: `a repeat must escalate: ${r.repeat.action} is not stronger than ${r.action}` });
      }
    });
  })
  .prefault({});
export type XidPolicyConfig = z.output<typeof xidPolicySchema>;

/** One code's action, with the escalation on repeats if any. */
export interface XidDecision {
  readonly action: XidAction;
  readonly repeat?: XidRule['repeat'];
  /** `default`, `config` or `otherXids`: where the action came from, for the evidence. */
  readonly from: 'default' | 'config' | 'otherXids';
}

/** The effective table: today's defaults, overridden code by code by the configured rules. */
export interface XidPolicy {
  decide(xid: number): XidDecision;
  /** The rules with a repeat, to query their counts. */
  readonly repeats: readonly { readonly xids: readonly number[]; readonly count: number; readonly windowSeconds: number }[];
}

export function compileXidPolicy(config: XidPolicyConfig): XidPolicy {
  const table = new Map<number, XidDecision>();
  for (const r of DEFAULT_XID_RULES) for (const x of r.xids) table.set(x, { action: r.action, from: 'default' });
  for (const r of config.rules) for (const x of r.xids) table.set(x, { action: r.action, ...(r.repeat ? { repeat: r.repeat } : {}), from: 'config' });
  const repeats = config.rules.filter((r) => r.repeat).map((r) => ({ xids: r.xids, count: r.repeat?.count ?? 0, windowSeconds: r.repeat?.windowSeconds ?? 0 }));
  return {
    decide: (xid) => table.get(xid) ?? { action: config.otherXids, from: 'otherXids' },
    repeats,
  };
}
