import { ErrorCode, SurgeGuardError, errorMessage } from '../common/errors.ts';
import { DEFAULT_MAX_GAP_INTERVALS, type Trace } from './trace.ts';

export interface PrometheusSourceDeps {
  readonly fetch: typeof fetch;
  /** Current time in epoch seconds (injected so tests pin the range). */
  readonly nowSeconds: () => number;
}

export interface PrometheusSourceConfig {
  readonly url: string;
  readonly query: string;
  readonly rangeSeconds: number;
  readonly stepSeconds: number;
  /** `rate`: the query returns requests per second (multiplied by the step); `count`: requests per step. */
  readonly unit: 'rate' | 'count';
  /** The longest run of missing steps filled with the previous value; a longer one is an error. */
  readonly maxGapIntervals?: number;
}

/** Prometheus refuses more than 11,000 points per query; stay below with a margin. */
const MAX_POINTS = 10_000;

interface QueryRangeBody {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: { metric: Record<string, string>; values: [number, string][] }[] };
}

/**
 * Reads a demand series from Prometheus' query_range API over the last `rangeSeconds`, in chunks the
 * server accepts. Missing steps are filled with the previous value, like gaps in a trace file.
 */
export async function readPrometheusTrace(deps: PrometheusSourceDeps, config: PrometheusSourceConfig): Promise<Trace> {
  const step = config.stepSeconds;
  const end = Math.floor(deps.nowSeconds() / step) * step;
  const start = end - Math.floor(config.rangeSeconds / step) * step;
  const values = new Map<number, number>();
  for (let from = start; from <= end; from += MAX_POINTS * step) {
    const to = Math.min(end, from + (MAX_POINTS - 1) * step);
    for (const [ts, v] of await queryChunk(deps, config, from, to)) values.set(ts, (values.get(ts) ?? 0) + v);
  }
  if (values.size === 0) {
    throw new SurgeGuardError(ErrorCode.InputInvalid, `${config.url}: query ${JSON.stringify(config.query)} returned no samples in the last ${config.rangeSeconds}s`);
  }
  let first = Infinity;
  for (const ts of values.keys()) first = Math.min(first, ts);
  const timestamps: number[] = [];
  const demand: number[] = [];
  const gaps = new MissingSteps(config);
  for (let ts = first; ts <= end; ts += step) {
    const v = values.get(ts);
    gaps.note(ts, v === undefined);
    timestamps.push(ts);
    // Missing data in an aggregated series is not zero demand: repeat the previous value.
    demand.push(v === undefined ? (demand[demand.length - 1] ?? 0) : config.unit === 'rate' ? v * step : v);
  }
  gaps.note(end + step, false);
  const missing = gaps.total;
  const warnings = missing > 0 ? [`${config.url}: ${missing} missing step${missing > 1 ? 's' : ''} filled with the previous value`] : [];
  const changes = { duplicateRowsSummed: 0, gapsFilled: gaps.runs, gapIntervalsFilled: missing, emptyValuesFilled: 0, longestGapIntervals: gaps.longest, emptyBuckets: 0, fill: 'previous' as const };
  return { timestamps, demand, intervalSeconds: step, warnings, changes };
}

/** Counts runs of missing steps and refuses one longer than the limit, naming where it starts. */
class MissingSteps {
  private readonly config: PrometheusSourceConfig;
  private runStart: number | undefined;
  total = 0;
  runs = 0;
  longest = 0;

  constructor(config: PrometheusSourceConfig) {
    this.config = config;
  }

  note(ts: number, missing: boolean): void {
    if (missing) {
      this.runStart ??= ts;
      this.total++;
      return;
    }
    if (this.runStart === undefined) return;
    const n = Math.round((ts - this.runStart) / this.config.stepSeconds);
    const limit = this.config.maxGapIntervals ?? DEFAULT_MAX_GAP_INTERVALS;
    if (n > limit) {
      throw new SurgeGuardError(
        ErrorCode.InputInvalid,
        `${this.config.url}: query ${JSON.stringify(this.config.query)} has no samples for ${n} steps of ${this.config.stepSeconds}s from ${new Date(this.runStart * 1000).toISOString()}, longer than --max-gap-intervals ${limit}; pass --max-gap-intervals ${n} to fill it with the previous value, or choose another --range`,
        { details: { url: this.config.url, gapIntervals: n, maxGapIntervals: limit } },
      );
    }
    this.runs++;
    this.longest = Math.max(this.longest, n);
    this.runStart = undefined;
  }
}

async function queryChunk(deps: PrometheusSourceDeps, config: PrometheusSourceConfig, from: number, to: number): Promise<[number, number][]> {
  let body: QueryRangeBody;
  try {
    // Inside the try: a URL that does not parse is a failed request with the code, not a bare TypeError.
    // Appended to the URL's path: a Prometheus behind a proxy often lives under a prefix (/prometheus).
    const url = new URL(`${config.url.replace(/\/+$/, '')}/api/v1/query_range`);
    url.searchParams.set('query', config.query);
    url.searchParams.set('start', String(from));
    url.searchParams.set('end', String(to));
    url.searchParams.set('step', `${config.stepSeconds}s`);
    const res = await deps.fetch(url);
    const text = await res.text();
    try {
      body = JSON.parse(text) as QueryRangeBody;
    } catch {
      // A proxy in front of Prometheus refuses in its own words, not in JSON.
      throw new Error(`HTTP ${res.status}: ${text.replace(/\s+/g, ' ').slice(0, 200)}`);
    }
    if (!res.ok || body.status !== 'success') throw new Error(body.error ?? `HTTP ${res.status}`);
  } catch (cause) {
    throw new SurgeGuardError(ErrorCode.PrometheusRequestFailed, `${config.url}: query_range failed: ${errorMessage(cause)}`, { cause });
  }
  const result = body.data?.result ?? [];
  if (result.length > 1) {
    throw new SurgeGuardError(ErrorCode.InputInvalid, `${config.url}: query returns ${result.length} series; wrap it in sum(...) to replay one demand series`);
  }
  return (result[0]?.values ?? []).map(([ts, v]) => [ts, Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v));
}
