import { ErrorCode, SurgeGuardError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { createMatrixParser, type MatrixAnswer } from './matrix-stream.ts';
import { seriesQuery } from './prometheus-batch.ts';
import { httpStatusText, missingSeriesWarning, postPrometheus, type PrometheusApi } from './prometheus-demand.ts';
import type { SignalSpec } from './signal.ts';

/**
 * Demand history for scalers seen for the first time, from Prometheus range queries (the
 * start-up backfill). Scalers whose signal is the same batch query, first seen in the same tick,
 * share one range query of that query (issue 21): its answer, every scaler's series at once, is
 * read as it streams (matrix-stream.ts) into one Float64Array per wanted series and split by the
 * batch labels. A scaler alone in its group, a plain query and a Kafka signal each keep a range
 * query of their own. docs/scale.md, "Backfill at start".
 */

/** One scaler to backfill. */
export interface BackfillRequest {
  readonly namespace: string;
  readonly name: string;
  readonly signal: SignalSpec;
}

/** A range query's answer as a stream of bytes (the HTTP body). */
export type RangeStream = (expr: string, startSeconds: number, endSeconds: number, stepSeconds: number) => Promise<AsyncIterable<Uint8Array>>;

export interface BackfillDeps {
  /** Range queries answered whole (one series each). */
  readonly api: Pick<PrometheusApi, 'queryRange'>;
  /** Range queries answered as a stream (a batch query's many series). */
  readonly rangeStream: RangeStream;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: MetricRegistry;
}

export interface Backfill {
  /** The scaler's demand per interval, oldest first, at most `intervals` long; [] when Prometheus has none. */
  history(req: BackfillRequest, intervalSeconds: number, intervals: number): Promise<number[]>;
}

/** Per-scaler range queries in flight at once when a batch group falls back to them. */
const FALLBACK_CONCURRENCY = 16;

interface Member {
  readonly req: BackfillRequest;
  readonly match: Readonly<Record<string, string>>;
  resolve(history: number[]): void;
  reject(err: unknown): void;
}

interface Group {
  readonly query: string;
  readonly labels: readonly string[];
  readonly intervalSeconds: number;
  readonly intervals: number;
  readonly members: Member[];
}

export interface BackfillWindow {
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly points: number;
}

/** The Backfill on Prometheus; see the module comment. */
export function createBackfill(deps: BackfillDeps): Backfill {
  const queries = deps.metrics.counter('surgeguard_backfill_range_queries_total', 'Range queries sent to backfill demand history: batch (one for every scaler of a batch query first seen in the same tick), series (one batch scaler\'s own series), own (a plain query or a Kafka scaler\'s exported demand).', ['form']);
  const failures = deps.metrics.counter('surgeguard_backfill_batch_failures_total', 'Batch backfill range queries that failed, by error code; their scalers fell back to a range query each.', ['code']);
  let pending = new Map<string, Group>();

  const windowOf = (intervalSeconds: number, intervals: number): BackfillWindow => {
    const end = Math.floor(deps.now() / 1000);
    return { start: end - intervals * intervalSeconds, end, step: intervalSeconds, points: intervals + 1 };
  };

  const own = async (req: BackfillRequest, w: BackfillWindow): Promise<number[]> => {
    const sig = req.signal;
    const batch = sig.kind === 'prometheus' && sig.match !== undefined;
    const expr = sig.kind !== 'prometheus' ? `max(surgeguard_scaler_demand_requests_per_second{namespace="${req.namespace}",scaler="${req.name}"})` : sig.match ? seriesQuery(sig.query, sig.match) : sig.query;
    queries.inc({ form: batch ? 'series' : 'own' });
    const points = await deps.api.queryRange(expr, w.start, w.end, w.step);
    return historyFromGrid(gridOf(points, w));
  };

  const runGroup = async (g: Group): Promise<void> => {
    const w = windowOf(g.intervalSeconds, g.intervals);
    if (g.members.length === 1) {
      // One scaler: its own series joined in Prometheus costs less than the whole answer here.
      const m = g.members[0] as Member;
      await own(m.req, w).then(m.resolve, m.reject);
      return;
    }
    const slots = new Map<string, number>();
    for (const m of g.members) if (!slots.has(labelKey(m.match, g.labels))) slots.set(labelKey(m.match, g.labels), slots.size);
    const t0 = performance.now();
    let answer: MatrixAnswer;
    try {
      queries.inc({ form: 'batch' });
      answer = await readBatch(deps.rangeStream, g, w, slots);
    } catch (err) {
      const code = err instanceof SurgeGuardError ? err.code : ErrorCode.PrometheusRequestFailed;
      failures.inc({ code });
      deps.logger.warn({ code, query: g.query, scalers: g.members.length, err: errorMessage(err) }, 'batch backfill range query failed; each scaler falls back to a range query of its own series');
      await mapLimit(g.members, FALLBACK_CONCURRENCY, (m) => own(m.req, w).then(m.resolve, m.reject));
      return;
    }
    deps.logger.info({ query: g.query, scalers: g.members.length, series: answer.seriesCount, matched: answer.series.filter(Boolean).length, bytes: answer.bytes, seconds: Math.round(performance.now() - t0) / 1000, ...(answer.warnings.length ? { warnings: answer.warnings } : {}) }, 'backfilled demand histories from one batch range query');
    for (const m of g.members) {
      const slot = slots.get(labelKey(m.match, g.labels)) as number;
      const sel = Object.entries(m.match).map(([k, v]) => `${k}="${v}"`).join(',');
      // Two series for one scaler: its live reads fail the same way (pickSeries), so no history is guessed.
      if (answer.duplicates.has(slot)) m.reject(new SurgeGuardError(ErrorCode.InputInvalid, `the batch query returned two or more series with {${sel}}; aggregate it by (${g.labels.join(', ')}) so each scaler has one`));
      else m.resolve(historyFromGrid(answer.series[slot] ?? []));
    }
  };

  const flush = (): void => {
    const groups = [...pending.values()];
    pending = new Map();
    for (const g of groups) void runGroup(g).catch((err: unknown) => g.members.forEach((m) => m.reject(err)));
  };

  return {
    history(req, intervalSeconds, intervals) {
      const sig = req.signal;
      if (sig.kind !== 'prometheus' || sig.match === undefined) return own(req, windowOf(intervalSeconds, intervals));
      const match = sig.match;
      const labels = Object.keys(match).sort();
      const key = JSON.stringify([sig.query, labels, intervalSeconds, intervals]);
      return new Promise<number[]>((resolve, reject) => {
        // The tick asks for every new scaler before it awaits any (Promise.all over them), so the
        // calls of one tick land here before this callback runs and share one range query.
        if (pending.size === 0) setImmediate(flush);
        let g = pending.get(key);
        if (!g) pending.set(key, (g = { query: sig.query, labels, intervalSeconds, intervals, members: [] }));
        g.members.push({ req, match, resolve, reject });
      });
    },
  };
}

/** Sends the group's batch query and reads its answer as it arrives. */
async function readBatch(rangeStream: RangeStream, g: Group, w: BackfillWindow, slots: ReadonlyMap<string, number>): Promise<MatrixAnswer> {
  const parser = createMatrixParser({ startSeconds: w.start, stepSeconds: w.step, points: w.points, labels: g.labels, wanted: slots });
  const body = await rangeStream(g.query, w.start, w.end, w.step);
  let bytes = 0;
  try {
    for await (const chunk of body) {
      parser.write(chunk);
      bytes += chunk.length;
    }
  } catch (err) {
    if (err instanceof SurgeGuardError) throw err;
    throw new SurgeGuardError(ErrorCode.PrometheusRequestFailed, `Prometheus /api/v1/query_range: the answer broke off after ${bytes} bytes: ${errorMessage(err)}`, { cause: err });
  }
  const answer = parser.end();
  // As for a live read (prometheus-demand.ts): a store's warning means series may be missing.
  const missing = missingSeriesWarning(answer.warnings);
  if (missing) throw new SurgeGuardError(ErrorCode.PrometheusRequestFailed, `Prometheus /api/v1/query_range: ${missing}`);
  return answer;
}

/**
 * A range query's answer as a stream, from a real server's /api/v1/query_range. A body that is
 * not JSON (a proxy's error page) is refused with its status and first 200 bytes; Prometheus's
 * own errors are JSON and are named by the parser.
 */
export function prometheusRangeStream(url: string, timeoutMs: number, fetchFn: typeof fetch = fetch): RangeStream {
  const path = '/api/v1/query_range';
  return async (expr, start, end, step) => {
    let res: Response;
    try {
      res = await postPrometheus(fetchFn, url, path, { query: expr, start: String(start), end: String(end), step: String(step) }, timeoutMs);
    } catch (err) {
      throw new SurgeGuardError(ErrorCode.PrometheusRequestFailed, `Prometheus ${path}: ${errorMessage(err)}`, { cause: err });
    }
    if (!(res.headers.get('content-type') ?? '').includes('json') || !res.body) {
      const text = await res.text().catch(() => '');
      throw new SurgeGuardError(ErrorCode.PrometheusRequestFailed, `Prometheus ${path}: ${httpStatusText(res.status)}, not JSON: ${text.replace(/\s+/g, ' ').slice(0, 200)}`, { details: { status: res.status } });
    }
    // Node's web ReadableStream is async-iterable; the DOM typings fetch's Response uses do not say so.
    return res.body as unknown as AsyncIterable<Uint8Array>;
  };
}

/**
 * A history from values on the query's grid (index k at start + k * step, the last at the end):
 * from the first usable sample up to the step before the end, each interval carrying the
 * previous usable sample where it has none. Usable is finite and not negative, as for a live
 * reading; NaN, +Inf and -Inf samples are gaps.
 */
export function historyFromGrid(grid: ArrayLike<number>): number[] {
  const out: number[] = [];
  let last = NaN;
  for (let k = 0; k < grid.length - 1; k++) {
    const v = grid[k] as number;
    if (Number.isFinite(v) && v >= 0) last = v;
    if (!Number.isNaN(last)) out.push(last);
  }
  return out;
}

/** A one-series answer's [time, value] points placed on the grid (NaN where none). */
export function gridOf(points: ReadonlyArray<readonly [number, number]>, w: BackfillWindow): Float64Array {
  const grid = new Float64Array(w.points).fill(NaN);
  for (const [t, v] of points) {
    const k = Math.round((t - w.start) / w.step);
    if (k >= 0 && k < w.points) grid[k] = v;
  }
  return grid;
}

function labelKey(match: Readonly<Record<string, string>>, labels: readonly string[]): string {
  return labels.map((l) => match[l] ?? '').join('\u0000');
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
