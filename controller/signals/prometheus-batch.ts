import { ErrorCode, SurgeGuardError } from '../../common/errors.ts';
import type { PrometheusSignalSpec, SignalReading, SignalRequest } from './signal.ts';

/**
 * Grouping of a tick's PromQL reads so that each distinct query runs once (issue 21): scalers
 * that give the same plain query share its one value, and scalers that give the same batch query
 * (`sum by (namespace, deployment) (...)`) share one vector, from which each picks its own series.
 */

/** The spec's `signal.prometheus` as the CRD stores it. */
export interface PrometheusSignalField {
  query?: string;
  batch?: { query: string; namespaceLabel?: string; nameLabel?: string };
}

/** One query to run this tick and the reads it answers. */
export interface QueryGroup {
  readonly query: string;
  /** True for a batch query: its series are read with their labels and picked per request. */
  readonly vector: boolean;
  readonly requests: readonly SignalRequest[];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const PATH = 'spec.signal.prometheus';

/**
 * The PrometheusSignalSpec of a scaler. A batch signal matches the series whose `namespaceLabel`
 * (default `namespace`) is the scaler's namespace and whose `nameLabel` (default `deployment`)
 * is its target's name. Throws SG_INPUT_INVALID naming the field for a spec the CRD should have
 * refused (an object stored before the rule, or applied with validation off).
 */
export function prometheusSignalOf(field: PrometheusSignalField | undefined, namespace: string, targetName: string): PrometheusSignalSpec {
  const invalid = (where: string, why: string): SurgeGuardError => new SurgeGuardError(ErrorCode.InputInvalid, `${where}: ${why}`, { details: { field: where } });
  if (!field) throw invalid(PATH, 'missing');
  if ((field.query === undefined) === (field.batch === undefined)) throw invalid(PATH, 'set exactly one of query or batch');
  if (field.query !== undefined) {
    if (field.query.trim() === '') throw invalid(`${PATH}.query`, 'empty');
    return { kind: 'prometheus', query: field.query };
  }
  const b = field.batch as NonNullable<PrometheusSignalField['batch']>;
  if (!b.query || b.query.trim() === '') throw invalid(`${PATH}.batch.query`, 'empty');
  const nsLabel = b.namespaceLabel ?? 'namespace';
  const nameLabel = b.nameLabel ?? 'deployment';
  if (!LABEL_NAME.test(nsLabel)) throw invalid(`${PATH}.batch.namespaceLabel`, `"${nsLabel}" is not a Prometheus label name`);
  if (!LABEL_NAME.test(nameLabel)) throw invalid(`${PATH}.batch.nameLabel`, `"${nameLabel}" is not a Prometheus label name`);
  if (nsLabel === nameLabel) throw invalid(`${PATH}.batch.nameLabel`, `must differ from namespaceLabel ("${nsLabel}")`);
  return { kind: 'prometheus', query: b.query, match: { [nsLabel]: namespace, [nameLabel]: targetName } };
}

/** Groups the Prometheus reads by query, so that each distinct query runs once. */
export function groupQueries(requests: readonly SignalRequest[]): QueryGroup[] {
  const groups = new Map<string, { query: string; vector: boolean; requests: SignalRequest[] }>();
  for (const r of requests) {
    if (r.signal.kind !== 'prometheus' || r.signal.invalid !== undefined) continue;
    const vector = r.signal.match !== undefined;
    // A plain and a batch read of the same text are answered differently (one value vs series).
    const key = `${vector ? 'v' : 's'}\u0000${r.signal.query}`;
    const g = groups.get(key) ?? { query: r.signal.query, vector, requests: [] };
    g.requests.push(r);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** A plain query's answer as a reading: exactly one finite, non-negative value. */
export function readingOfValues(values: readonly number[]): SignalReading {
  if (values.length !== 1) return { ok: false, error: `prometheus: query returned ${values.length} series; it must return one` };
  const v = values[0] ?? NaN;
  return Number.isFinite(v) && v >= 0 ? { ok: true, rate: v, detail: { query: v } } : { ok: false, error: `prometheus: query returned ${v}` };
}

/** One scaler's reading from a batch query's series: the one series whose labels equal `match`. */
export function pickSeries(series: ReadonlyArray<{ labels: Readonly<Record<string, string>>; value: number }>, match: Readonly<Record<string, string>>): SignalReading {
  const entries = Object.entries(match);
  const hits = series.filter((s) => entries.every(([k, v]) => s.labels[k] === v));
  const sel = entries.map(([k, v]) => `${k}="${v}"`).join(',');
  if (hits.length === 0) return { ok: false, error: `prometheus: the batch query returned no series with {${sel}} (of ${series.length}); check ${PATH}.batch.namespaceLabel and nameLabel against the query's by (...) labels` };
  if (hits.length > 1) return { ok: false, error: `prometheus: the batch query returned ${hits.length} series with {${sel}}; aggregate it by (${entries.map(([k]) => k).join(', ')}) so each scaler has one` };
  return readingOfValues([hits[0]?.value ?? NaN]);
}

/**
 * A query for one scaler's series of a batch query, for the range query that backfills its
 * history: the batch result joined on the match labels with a one-series vector that carries
 * them (label_replace on vector(1)), so no matcher has to be spliced into the user's PromQL.
 */
export function seriesQuery(query: string, match: Readonly<Record<string, string>>): string {
  const entries = Object.entries(match);
  const labelled = entries.reduce((expr, [k, v]) => `label_replace(${expr}, ${JSON.stringify(k)}, ${JSON.stringify(v)}, "", "")`, 'vector(1)');
  return `sum((${query}) and on(${entries.map(([k]) => k).join(', ')}) ${labelled})`;
}
