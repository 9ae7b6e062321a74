import { errorMessage } from '../../common/errors.ts';
import { authenticatedFetch, type HttpAuth } from '../../common/http-auth.ts';
import type { Logger } from '../../common/logger.ts';
import { groupQueries, pickSeries, readingOfValues, type QueryGroup } from './prometheus-batch.ts';
import type { SignalReading, SignalSource } from './signal.ts';

/** Runs PromQL through Prometheus's HTTP API; injected so tests can count requests. */
export interface PrometheusApi {
  query(expr: string, timeSeconds?: number): Promise<number[]>;
  /** An instant query's series with their labels (the health checks need to know which node). */
  queryVector(expr: string): Promise<Array<{ labels: Record<string, string>; value: number }>>;
  queryRange(expr: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<Array<[number, number]>>;
}

/**
 * The fetch the controller reaches Prometheus with: plain fetch without auth settings, else one
 * that sends the configured credentials, TLS and headers (common/http-auth.ts).
 */
export function prometheusFetch(auth: HttpAuth & { url: string }, logger: Logger): typeof fetch {
  if (!auth.bearerTokenFile && !auth.basicAuth && !auth.tls && !auth.headers) return fetch;
  if (auth.tls?.insecureSkipVerify) logger.warn({ url: auth.url }, 'prometheus.tls.insecureSkipVerify: the server certificate is not verified');
  return authenticatedFetch(auth);
}

/**
 * Sent with every query. Prometheus ignores both; Thanos Query reads them (docs/scale.md,
 * "Prometheus past one server: Thanos"). partial_response=false: a query that could not read every
 * store fails instead of answering with the series it got (Thanos's default answers, with a
 * warning), so that demand is never read short. dedup=true: the series of Prometheus replicas (the
 * querier's --query.replica-label) are merged, not added up; Thanos's default, said here so that it
 * holds whatever sits in between.
 */
export const THANOS_READ_PARAMS: Readonly<Record<string, string>> = Object.freeze({ partial_response: 'false', dedup: 'true' });

/**
 * True for a warning that PromQL itself wrote about the expression ("PromQL info: metric might not
 * be a counter ..."), which Thanos passes on in `warnings`. Any other warning (a store that failed,
 * a remote read that failed) says that series may be missing from the answer.
 */
export function isPromqlAnnotation(warning: string): boolean {
  return warning.startsWith('PromQL info') || warning.startsWith('PromQL warning');
}

/** One read of Prometheus's HTTP API (POST, form-encoded, with THANOS_READ_PARAMS), shared by the live reads and the streamed backfill. */
export function postPrometheus(fetchFn: typeof fetch, url: string, path: string, params: Record<string, string>, timeoutMs: number): Promise<Response> {
  return fetchFn(`${url.replace(/\/$/, '')}${path}`, { method: 'POST', body: new URLSearchParams({ ...params, ...THANOS_READ_PARAMS }), signal: AbortSignal.timeout(timeoutMs) });
}

/** An HTTP status as an error message says it, with the hint for the two an operator fixes in config. */
export function httpStatusText(status: number): string {
  return `HTTP ${status}${status === 401 ? ' (unauthorized: check prometheus.bearerTokenFile or basicAuth)' : status === 403 ? ' (forbidden)' : ''}`;
}

/** Why a successful answer cannot be used, from its warnings (a store's, not PromQL's own); undefined when it can. */
export function missingSeriesWarning(warnings: readonly string[]): string | undefined {
  const partial = warnings.filter((w) => !isPromqlAnnotation(w));
  return partial.length > 0 ? `the answer may be missing series (${partial.join('; ').slice(0, 300)}); not used` : undefined;
}

/** The PrometheusApi on a real server's /api/v1/query and /api/v1/query_range. */
export function prometheusApi(url: string, timeoutMs: number, fetchFn: typeof fetch = fetch): PrometheusApi {
  const call = async (path: string, params: Record<string, string>): Promise<unknown> => {
    const res = await postPrometheus(fetchFn, url, path, params, timeoutMs);
    const text = await res.text();
    let body: { status: string; error?: string; warnings?: string[]; data?: { resultType: string; result: unknown } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // A proxy in front of Prometheus answers auth failures in its own words, not in JSON.
      throw new Error(`Prometheus ${path}: ${httpStatusText(res.status)}: ${text.replace(/\s+/g, ' ').slice(0, 200)}`);
    }
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? `HTTP ${res.status}`}`);
    // A success with a store's warning may lack that store's series: a short sum is not demand.
    const missing = missingSeriesWarning(body.warnings ?? []);
    if (missing) throw new Error(`Prometheus ${path}: ${missing}`);
    return body.data;
  };
  return {
    async query(expr, timeSeconds) {
      const data = (await call('/api/v1/query', { query: expr, ...(timeSeconds ? { time: String(timeSeconds) } : {}) })) as { resultType: string; result: unknown };
      if (data.resultType === 'scalar') return [Number((data.result as [number, string])[1])];
      return (data.result as Array<{ value: [number, string] }>).map((s) => Number(s.value[1]));
    },
    async queryVector(expr) {
      const data = (await call('/api/v1/query', { query: expr })) as { resultType: string; result: unknown };
      if (data.resultType !== 'vector') throw new Error(`Prometheus /api/v1/query: expected a vector for ${expr}, got ${data.resultType}`);
      return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((s) => ({ labels: s.metric, value: Number(s.value[1]) }));
    },
    async queryRange(expr, start, end, step) {
      const data = (await call('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(step) })) as { result: Array<{ values: Array<[number, string]> }> };
      if (data.result.length > 1) throw new Error(`query returned ${data.result.length} series; a demand query must return one (wrap it in sum())`);
      return (data.result[0]?.values ?? []).map(([t, v]) => [t, Number(v)]);
    },
  };
}

/**
 * Demand from PromQL. Each distinct query runs once per tick (prometheus-batch.ts): a plain query
 * must return one value; a batch query returns every scaler's series and each scaler picks its own
 * by its labels, so 1,000 scalers sharing one batch query cost Prometheus one query, not 1,000.
 */
export function prometheusDemandSource(api: PrometheusApi | undefined): SignalSource {
  return {
    async read(requests) {
      const out = new Map<string, SignalReading>();
      for (const r of requests) {
        if (r.signal.kind !== 'prometheus') continue;
        if (r.signal.invalid !== undefined) out.set(r.key, { ok: false, error: `prometheus: ${r.signal.invalid}` });
        else if (!api) out.set(r.key, { ok: false, error: 'prometheus: the controller has no prometheus.url configured' });
      }
      if (!api) return out;
      await Promise.all(groupQueries(requests).map((g) => readGroup(api, g, out)));
      return out;
    },
    close: () => Promise.resolve(),
  };
}

/** Runs one group's query and sets a reading for every request in it (the same error for all on failure). */
async function readGroup(api: PrometheusApi, g: QueryGroup, out: Map<string, SignalReading>): Promise<void> {
  try {
    if (g.vector) {
      const series = await api.queryVector(g.query);
      for (const r of g.requests) out.set(r.key, pickSeries(series, r.signal.kind === 'prometheus' ? (r.signal.match ?? {}) : {}));
    } else {
      const reading = readingOfValues(await api.query(g.query));
      for (const r of g.requests) out.set(r.key, reading);
    }
  } catch (err) {
    for (const r of g.requests) out.set(r.key, { ok: false, error: `prometheus: ${errorMessage(err)}` });
  }
}
