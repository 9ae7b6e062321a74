import { ErrorCode, SurgeGuardError } from '../../common/errors.ts';

/** One requirement of a label selector. */
type Requirement = { key: string; op: 'eq' | 'ne'; value: string } | { key: string; op: 'in' | 'notin'; values: ReadonlySet<string> } | { key: string; op: 'exists' | 'absent' };

/** A parsed label selector: true when every requirement holds. */
export type LabelMatcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;

/**
 * Parses a label selector in the API server's string form (`app=x,tier!=gpu,zone in (a,b),
 * env notin (dev),gpu,!canary`, as the scale subresource serves it) into a matcher, so that
 * pods can be selected from a watch cache the way a list call with `labelSelector` would.
 * An empty selector matches everything, as it does on the server.
 */
export function parseLabelSelector(selector: string): LabelMatcher {
  const reqs = splitTop(selector).map((part) => requirement(part, selector));
  return (labels) => reqs.every((r) => holds(r, labels ?? {}));
}

function holds(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case 'eq':
      return v === r.value;
    case 'ne':
      return v !== r.value;
    case 'in':
      return has && r.values.has(v as string);
    case 'notin':
      return !has || !r.values.has(v as string);
    case 'exists':
      return has;
    case 'absent':
      return !has;
  }
}

/** Splits on commas outside parentheses; blank parts (an empty selector) are dropped. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter(Boolean);
}

const SET = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/;
const CMP = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/;
const KEY = /^(!?)([^=!\s(),]+)$/;

function requirement(part: string, selector: string): Requirement {
  const set = SET.exec(part);
  if (set) return { key: set[1] as string, op: set[2] as 'in' | 'notin', values: new Set((set[3] as string).split(',').map((v) => v.trim()).filter(Boolean)) };
  const cmp = CMP.exec(part);
  if (cmp) return { key: cmp[1] as string, op: cmp[2] === '!=' ? 'ne' : 'eq', value: cmp[3] as string };
  const key = KEY.exec(part);
  if (key) return { key: key[2] as string, op: key[1] ? 'absent' : 'exists' };
  throw new SurgeGuardError(ErrorCode.InputInvalid, `label selector ${JSON.stringify(selector)}: cannot read the requirement ${JSON.stringify(part)} (expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key)`, { details: { selector, part } });
}
