import type { Registry } from '@prometheus-io/client';

/** One value of a gauge or counter series, with its Prometheus labels. */
export interface NumberPoint {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One histogram series: cumulative counts by finite upper bound (`le`), then count and sum. */
export interface HistogramPoint {
  readonly labels: Readonly<Record<string, string>>;
  /** Cumulative, ascending by `le`; the +Inf bucket is `count`. */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly count: number;
  readonly sum: number;
}

/**
 * A metric family as /metrics serves it, in the neutral shape the OTLP bridge reads: the agent's
 * collector cache and the prom-client registries of the agent and the controller both give these,
 * so the two exports can never disagree about a value.
 */
export type BridgeFamily =
  | { readonly name: string; readonly help: string; readonly type: 'gauge' | 'counter'; readonly points: readonly NumberPoint[] }
  | { readonly name: string; readonly help: string; readonly type: 'histogram'; readonly points: readonly HistogramPoint[] };

/** Something that holds metric families; read once per OTLP export. */
export interface FamilySource {
  families(): Promise<readonly BridgeFamily[]>;
}

type PromValue = { value: number; labels: Record<string, string | number>; metricName?: string };
type PromMetric = { name: string; help: string; type: string; values: PromValue[] };

const asLabels = (labels: Record<string, string | number>, drop?: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k !== drop) out[k] = String(v);
  return out;
};

/** Groups a histogram's `_bucket`, `_sum` and `_count` samples into one point per label set. */
function histogramPoints(m: PromMetric): HistogramPoint[] {
  const byKey = new Map<string, { labels: Record<string, string>; buckets: { le: number; count: number }[]; count: number; sum: number }>();
  const entry = (labels: Record<string, string>): { labels: Record<string, string>; buckets: { le: number; count: number }[]; count: number; sum: number } => {
    const key = JSON.stringify(Object.entries(labels).sort());
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { labels, buckets: [], count: 0, sum: 0 }));
    return e;
  };
  for (const v of m.values) {
    const kind = v.metricName?.slice(m.name.length);
    if (kind === '_bucket') {
      const le = v.labels.le;
      // The +Inf bucket equals _count, which comes on its own line.
      if (le !== '+Inf' && le !== undefined) entry(asLabels(v.labels, 'le')).buckets.push({ le: Number(le), count: v.value });
    } else if (kind === '_sum') entry(asLabels(v.labels)).sum = v.value;
    else if (kind === '_count') entry(asLabels(v.labels)).count = v.value;
  }
  return [...byKey.values()].map((e) => ({ ...e, buckets: e.buckets.sort((a, b) => a.le - b.le) }));
}

/**
 * Reads a prom-client registry as bridge families, through `getMetricsAsJSON()` (which runs the
 * same collect callbacks a scrape runs). Summaries are left out: the OpenTelemetry SDK's data
 * model has no summary, and the only one is a Node.js runtime metric (docs/agent.md, "OTLP").
 */
export function registryFamilies(registry: Registry): FamilySource {
  return {
    async families() {
      const metrics = (await registry.getMetricsAsJSON()) as unknown as PromMetric[];
      const out: BridgeFamily[] = [];
      for (const m of metrics) {
        if (m.type === 'gauge' || m.type === 'counter') {
          out.push({ name: m.name, help: m.help, type: m.type, points: m.values.map((v) => ({ labels: asLabels(v.labels), value: v.value })) });
        } else if (m.type === 'histogram') {
          out.push({ name: m.name, help: m.help, type: 'histogram', points: histogramPoints(m) });
        }
      }
      return out;
    },
  };
}

/** Reads several sources as one, in order. */
export function concatSources(...sources: readonly FamilySource[]): FamilySource {
  return {
    async families() {
      return (await Promise.all(sources.map((s) => s.families()))).flat();
    },
  };
}
