import type { Sample } from '../agent/collector.ts';
import { ErrorCode, SurgeGuardError } from '../common/errors.ts';
import type { VectorQuery } from '../controller/healing/types.ts';

/**
 * The demo's stand-in for Prometheus: it keeps the samples the demo nodes' agent collectors
 * return, and answers the health checks' PromQL with a small evaluator. It knows only what the
 * gpu-xid and gpu-thermal checks send with `gpu.source: agent` (selectors with =, !=, =~, !~;
 * `[Ns]` ranges; time(), round, increase, min/max/count_over_time; comparisons with a number;
 * `and`; + and - between numbers). Anything else is an error naming the expression, so a check
 * that starts sending something new fails visibly on the page instead of finding nothing.
 * Differences from Prometheus that the demo accepts: increase() is the sum of the rises in the
 * window, without extrapolation to its edges; a range includes its left edge (as Prometheus 2 does);
 * instant selectors look back 5 minutes.
 */
export interface SeriesStore {
  /** Adds one collection's samples at `atMs` (recorded time), plus the recording rules the checks read. */
  add(samples: readonly Sample[], atMs: number): void;
  /** A VectorQuery evaluated at `now()` (the healing loop's clock). */
  query(now: () => number): VectorQuery;
}

interface Series {
  name: string;
  labels: Record<string, string>;
  points: Array<[number, number]>;
}

type Instant = Array<{ labels: Record<string, string>; value: number }>;
type Range = Array<{ labels: Record<string, string>; points: Array<[number, number]> }>;
type Value = { kind: 'scalar'; v: number } | { kind: 'vector'; v: Instant } | { kind: 'range'; v: Range };

const LOOKBACK_MS = 300_000;
const KEEP_MS = 3 * 3600_000;
/** rules/gpu-source.yaml's `surgeguard:gpu_throttle_reason:flag` for the agent's series: the three health-relevant reasons. */
const FLAG_REASONS = new Set(['sw_thermal_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown']);

export function createSeriesStore(): SeriesStore {
  const series = new Map<string, Series>();
  const put = (name: string, labels: Record<string, string>, atMs: number, value: number): void => {
    // Collectors emit each series' labels in one order, so the key needs no sort.
    let key = name;
    for (const k in labels) key += `\u0000${k}=${labels[k]}`;
    const s = series.get(key) ?? { name, labels, points: [] };
    s.points.push([atMs, value]);
    while ((s.points[0]?.[0] ?? atMs) < atMs - KEEP_MS) s.points.shift();
    series.set(key, s);
  };
  return {
    add(samples, atMs) {
      for (const s of samples) {
        put(s.name, { ...s.labels }, atMs, s.value);
        if (s.name === 'surgeguard_gpu_throttle_reason' && FLAG_REASONS.has(s.labels.reason ?? '')) {
          const { node = '', gpu = '', uuid = '', gpu_model = '', reason = '' } = s.labels;
          put('surgeguard:gpu_throttle_reason:flag', { node, gpu, uuid, gpu_model, reason, source: 'agent' }, atMs, s.value);
        }
      }
    },
    query(now) {
      return async (expr) => {
        const v = new Parser(expr, [...series.values()], now()).parse();
        if (v.kind !== 'vector') throw new SurgeGuardError(ErrorCode.PrometheusRequestFailed, `the demo's query evaluator: "${expr}" is not an instant vector`);
        return v.v;
      };
    },
  };
}

const TOKEN = /\s*(?:(\d+(?:\.\d+)?)(s|m|h)?|([A-Za-z_:][A-Za-z0-9_:]*)|("(?:[^"\\]|\\.)*")|(==|!=|>=|<=|=~|!~|[{}()[\],=<>+-]))/y;

/** A recursive-descent evaluator over the subset above; one instance per query. */
class Parser {
  private readonly tokens: string[] = [];
  private i = 0;
  private readonly expr: string;
  private readonly all: readonly Series[];
  private readonly at: number;

  constructor(expr: string, all: readonly Series[], at: number) {
    this.expr = expr;
    this.all = all;
    this.at = at;
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < expr.trimEnd().length) {
      const start = TOKEN.lastIndex;
      const m = TOKEN.exec(expr);
      if (!m || TOKEN.lastIndex === start) this.fail(`cannot read it at character ${start}`);
      this.tokens.push(m[0].trim());
    }
  }

  parse(): Value {
    const v = this.and();
    if (this.i < this.tokens.length) this.fail(`unexpected "${this.tokens[this.i]}"`);
    return v;
  }

  private fail(why: string): never {
    throw new SurgeGuardError(ErrorCode.PrometheusRequestFailed, `the demo's query evaluator cannot answer "${this.expr}": ${why}`);
  }

  private peek(): string | undefined {
    return this.tokens[this.i];
  }

  private take(want?: string): string {
    const t = this.tokens[this.i++];
    if (t === undefined || (want !== undefined && t !== want)) this.fail(`expected ${want ?? 'more'}, got ${t ?? 'the end'}`);
    return t;
  }

  private and(): Value {
    let left = this.compare();
    while (this.peek() === 'and') {
      this.take();
      const right = this.compare();
      if (left.kind !== 'vector' || right.kind !== 'vector') this.fail('"and" needs two vectors');
      const keys = new Set(right.v.map((r) => JSON.stringify(Object.entries(r.labels).sort())));
      left = { kind: 'vector', v: left.v.filter((l) => keys.has(JSON.stringify(Object.entries(l.labels).sort()))) };
    }
    return left;
  }

  private compare(): Value {
    const left = this.sum();
    const op = this.peek();
    if (!op || !['==', '!=', '>', '<', '>=', '<='].includes(op)) return left;
    this.take();
    const right = this.sum();
    if (left.kind !== 'vector' || right.kind !== 'scalar') this.fail(`only vector ${op} number is supported`);
    const test = (x: number): boolean => ({ '==': x === right.v, '!=': x !== right.v, '>': x > right.v, '<': x < right.v, '>=': x >= right.v, '<=': x <= right.v })[op] ?? false;
    return { kind: 'vector', v: left.v.filter((e) => test(e.value)) };
  }

  private sum(): Value {
    let left = this.primary();
    while (this.peek() === '+' || this.peek() === '-') {
      const op = this.take();
      const right = this.primary();
      if (left.kind !== 'scalar' || right.kind !== 'scalar') this.fail(`only number ${op} number is supported`);
      left = { kind: 'scalar', v: op === '+' ? left.v + right.v : left.v - right.v };
    }
    return left;
  }

  private primary(): Value {
    const t = this.take();
    if (t === '(') {
      const v = this.and();
      this.take(')');
      return v;
    }
    if (/^\d/.test(t)) return { kind: 'scalar', v: Number(t) };
    if (this.peek() === '(' && FUNCTIONS.has(t)) return this.call(t);
    return this.selector(t);
  }

  private call(fn: string): Value {
    this.take('(');
    if (fn === 'time') {
      this.take(')');
      return { kind: 'scalar', v: this.at / 1000 };
    }
    const arg = this.and();
    this.take(')');
    if (fn === 'round') {
      if (arg.kind !== 'vector') this.fail('round() takes a vector');
      return { kind: 'vector', v: arg.v.map((e) => ({ labels: e.labels, value: Math.round(e.value) })) };
    }
    if (arg.kind !== 'range') this.fail(`${fn}() takes a range vector`);
    const over = (f: (vs: number[]) => number): Value => ({ kind: 'vector', v: arg.v.filter((r) => r.points.length > 0).map((r) => ({ labels: r.labels, value: f(r.points.map((p) => p[1])) })) });
    if (fn === 'min_over_time') return over((vs) => Math.min(...vs));
    if (fn === 'max_over_time') return over((vs) => Math.max(...vs));
    if (fn === 'count_over_time') return over((vs) => vs.length);
    // increase: the rises summed (a drop is a counter reset: the new value counts from zero).
    return { kind: 'vector', v: arg.v.filter((r) => r.points.length > 1).map((r) => ({ labels: r.labels, value: r.points.slice(1).reduce((acc, p, k) => acc + (p[1] >= (r.points[k]?.[1] ?? 0) ? p[1] - (r.points[k]?.[1] ?? 0) : p[1]), 0) })) };
  }

  private selector(name: string): Value {
    const matchers: Array<(labels: Record<string, string>) => boolean> = [];
    if (this.peek() === '{') {
      this.take();
      while (this.peek() !== '}') {
        const label = this.take();
        const op = this.take();
        const value = JSON.parse(this.take()) as string;
        const re = new RegExp(`^(?:${value})$`);
        const m = { '=': (v: string) => v === value, '!=': (v: string) => v !== value, '=~': (v: string) => re.test(v), '!~': (v: string) => !re.test(v) }[op];
        if (!m) this.fail(`unknown matcher ${op}`);
        matchers.push((l) => m(l[label] ?? ''));
        if (this.peek() === ',') this.take();
      }
      this.take('}');
    }
    const hits = this.all.filter((s) => s.name === name && matchers.every((m) => m(s.labels)));
    if (this.peek() === '[') {
      this.take();
      const d = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(this.take());
      this.take(']');
      if (!d) this.fail('a range needs a duration like [120s]');
      const ms = Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 's' | 'm' | 'h'];
      return { kind: 'range', v: hits.map((s) => ({ labels: s.labels, points: s.points.filter(([t]) => t >= this.at - ms && t <= this.at) })) };
    }
    const v: Instant = [];
    for (const s of hits) {
      const last = s.points.filter(([t]) => t <= this.at && t > this.at - LOOKBACK_MS).pop();
      if (last) v.push({ labels: s.labels, value: last[1] });
    }
    return { kind: 'vector', v };
  }
}

const FUNCTIONS = new Set(['time', 'round', 'increase', 'min_over_time', 'max_over_time', 'count_over_time']);
