import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import type { BridgeFamily, HistogramPoint, NumberPoint } from './families.ts';

/**
 * How one SurgeGuard family is exported under an OpenTelemetry semantic-convention name. Several
 * families may share one name (ECC errors, PCIe replays and XID errors are all `hw.errors`):
 * they must then agree on the instrument and the unit, and their points become one metric.
 */
export interface OtelRename {
  readonly name: string;
  readonly instrument: 'gauge' | 'counter' | 'updowncounter';
  /** UCUM, as the convention gives it (`1`, `By`, `W`, `Cel`, `{error}`). */
  readonly unit: string;
  readonly description: string;
  /** The point's attributes from the sample's Prometheus labels. */
  attributes(labels: Readonly<Record<string, string>>): Attributes;
}

/** SurgeGuard family name → its OpenTelemetry export; families not in it keep their names. */
export type RenameTable = ReadonlyMap<string, OtelRename>;

/** Times stamped on every point of one collection. */
export interface CollectionTimes {
  /** When cumulative series started counting: the exporter's start (docs/agent.md, "OTLP"). */
  readonly start: HrTime;
  readonly now: HrTime;
}

/** Units of the families that keep their Prometheus names, from the base-unit suffix. */
const SUFFIX_UNITS: readonly (readonly [string, string])[] = [
  ['_seconds', 's'],
  ['_bytes', 'By'],
  ['_ratio', '1'],
  ['_celsius', 'Cel'],
  ['_watts', 'W'],
  ['_hertz', 'Hz'],
];

/** The UCUM unit a Prometheus name's suffix states, `_total` set aside; empty when none does. */
export function unitOf(name: string): string {
  const base = name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
  return SUFFIX_UNITS.find(([suffix]) => base.endsWith(suffix))?.[1] ?? '';
}

/**
 * Checks a rename table at start: families sharing an OpenTelemetry name must agree on the
 * instrument and the unit, or the exported metric would be malformed.
 */
export function checkRenames(table: RenameTable): void {
  const seen = new Map<string, OtelRename>();
  for (const [family, r] of table) {
    const first = seen.get(r.name);
    if (first && (first.instrument !== r.instrument || first.unit !== r.unit)) {
      throw new Error(`OTLP rename of ${family} to ${r.name} (${r.instrument}, ${r.unit}) disagrees with another family renamed to it (${first.instrument}, ${first.unit})`);
    }
    seen.set(r.name, r);
  }
}

interface Building {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly kind: 'gauge' | 'sum' | 'histogram';
  readonly monotonic: boolean;
  readonly numbers: DataPoint<number>[];
  readonly histograms: DataPoint<Histogram>[];
}

function numberPoint(p: NumberPoint, attributes: Attributes, startTime: HrTime, times: CollectionTimes): DataPoint<number> {
  return { startTime, endTime: times.now, attributes, value: p.value };
}

function histogramPoint(p: HistogramPoint, times: CollectionTimes): DataPoint<Histogram> {
  // Prometheus buckets are cumulative; OTLP's are per bucket, with one more for +Inf.
  const counts: number[] = [];
  let below = 0;
  for (const b of p.buckets) {
    counts.push(b.count - below);
    below = b.count;
  }
  counts.push(p.count - below);
  return { startTime: times.start, endTime: times.now, attributes: { ...p.labels }, value: { buckets: { boundaries: p.buckets.map((b) => b.le), counts }, count: p.count, sum: p.sum } };
}

function target(f: BridgeFamily, rename: OtelRename | undefined): Omit<Building, 'numbers' | 'histograms'> {
  if (rename) return { name: rename.name, description: rename.description, unit: rename.unit, kind: rename.instrument === 'gauge' ? 'gauge' : 'sum', monotonic: rename.instrument === 'counter' };
  const kind = f.type === 'histogram' ? 'histogram' : f.type === 'counter' ? 'sum' : 'gauge';
  return { name: f.name, description: f.help, unit: unitOf(f.name), kind, monotonic: f.type === 'counter' };
}

function toMetricData(b: Building): MetricData {
  const descriptor = { name: b.name, description: b.description, unit: b.unit, valueType: ValueType.DOUBLE };
  if (b.kind === 'histogram') return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM, dataPoints: b.histograms };
  if (b.kind === 'gauge') return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: b.numbers };
  return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, dataPoints: b.numbers, isMonotonic: b.monotonic };
}

/**
 * Turns the families /metrics serves into OpenTelemetry metric data with the same values:
 * gauges stay gauges, counters become cumulative monotonic sums, histograms keep their bucket
 * bounds. Families in `renames` take their semantic-convention name, unit and attributes (and
 * appear only under that name); the others keep their Prometheus name and labels. Families
 * without points are left out, as /metrics leaves them out.
 */
export function toMetricDataList(families: readonly BridgeFamily[], renames: RenameTable, times: CollectionTimes): MetricData[] {
  const out = new Map<string, Building>();
  for (const f of families) {
    if (f.points.length === 0) continue;
    // Only gauges and counters are renamed: no convention used here is a histogram.
    const rename = f.type === 'histogram' ? undefined : renames.get(f.name);
    const t = target(f, rename);
    let b = out.get(t.name);
    if (!b) out.set(t.name, (b = { ...t, numbers: [], histograms: [] }));
    if (f.type === 'histogram') {
      for (const p of f.points) b.histograms.push(histogramPoint(p, times));
      continue;
    }
    // Gauges have no start; cumulative sums count from the exporter's start.
    const startTime = t.kind === 'gauge' ? times.now : times.start;
    for (const p of f.points) b.numbers.push(numberPoint(p, rename ? rename.attributes(p.labels) : { ...p.labels }, startTime, times));
  }
  return [...out.values()].map(toMetricData);
}
