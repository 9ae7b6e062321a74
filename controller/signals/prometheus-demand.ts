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

/** The PrometheusApi on a real server's /api/v1/query and /api/v1/query_range. */
export function prometheusApi(url: string, timeoutMs: number, fetchFn: typeof fetch = fetch): PrometheusApi {
  const call = async (path: string, params: Record<string, string>): Promise<unknown> => {
    const res = await fetchFn(`${url.replace(/\/$/, '')}${path}`, { method: 'POST', body: new URLSearchParams(params), signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: { status: string; error?: string; data?: { resultType: string; result: unknown } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // A proxy in front of Prometheus answers auth failures in its own words, not in JSON.
      throw new Error(`Prometheus ${path}: HTTP ${res.status}${res.status === 401 ? ' (unauthorized: check prometheus.bearerTokenFile or basicAuth)' : res.status === 403 ? ' (forbidden)' : ''}: ${text.replace(/\s+/g, ' ').slice(0, 200)}`);
    }
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? `HTTP ${res.status}`}`);
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
