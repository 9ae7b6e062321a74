// A real OpenTelemetry Collector for the OTLP metrics and traces tests: the minimal distribution
// that scripts/build-otelcol.sh builds from the Go module proxy (the core otlp receiver and
// contrib's file exporter), receiving OTLP/HTTP on 127.0.0.1 and writing every request it received
// (metrics and traces, one file) as one line of OTLP/JSON, which the test reads back.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, freePort, run, startSupervised, stopPid, waitUntil } from './process.ts';
import { runContext, runSubdir, type RunContext } from './run.ts';

export interface OtelCollector {
  /** http://127.0.0.1:PORT: the OTLP/HTTP receiver (metrics at /v1/metrics, traces at /v1/traces). */
  readonly url: string;
  readonly pid: number;
  readonly log: string;
  /** The file exporter's output: one OTLP/JSON export request per line. */
  readonly received: string;
  stop(): Promise<void>;
}

/** Builds (or finds in the cache) the collector; returns the binary's path. */
export async function ensureOtelcolBuilt(): Promise<string> {
  const out = await run('bash', [join(REPO_ROOT, 'scripts/build-otelcol.sh')]);
  const bin = join(out.trim().split('\n').pop() ?? '', 'otelcol-surgeguard');
  if (!existsSync(bin)) throw new Error(`OTELCOL_BUILD: scripts/build-otelcol.sh printed ${JSON.stringify(out.trim().split('\n').pop())}, which holds no otelcol-surgeguard`);
  return bin;
}

/** Starts a collector of the caller's own; resolves once its receiver listens. */
export async function startOtelCollector(ctx: RunContext = runContext()): Promise<OtelCollector> {
  const bin = await ensureOtelcolBuilt();
  const dir = runSubdir(ctx, 'otelcol');
  const port = await freePort();
  const received = join(dir, 'received.jsonl');
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${port}` } } } },
    // Flushed often so that a test sees an export within a fraction of a second of its arrival.
    exporters: { file: { path: received, flush_interval: '100ms' } },
    service: {
      // The collector's own metrics would listen on :8888 by default; nothing here reads them.
      telemetry: { metrics: { level: 'none' }, logs: { level: 'info' } },
      pipelines: { metrics: { receivers: ['otlp'], exporters: ['file'] }, traces: { receivers: ['otlp'], exporters: ['file'] } },
    },
  };
  // JSON is YAML: the file provider reads it as it is.
  writeFileSync(join(dir, 'config.yaml'), JSON.stringify(config, null, 2));
  await run(bin, ['validate', `--config=${join(dir, 'config.yaml')}`]);
  const log = join(dir, 'otelcol.log');
  const { pid } = await startSupervised({ cmd: bin, args: [`--config=${join(dir, 'config.yaml')}`], log, pidFile: join(dir, 'pid'), ownerPid: ctx.ownerPid });
  await waitUntil('the OpenTelemetry Collector to be ready', async () => (readLog(log).includes('Everything is ready') ? true : undefined), { timeoutMs: 60_000, pid, log });
  return { url: `http://127.0.0.1:${port}`, pid, log, received, stop: () => stopPid(pid) };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

type AnyValue = { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value: AnyValue };
type JsonPoint = { attributes?: KeyValue[]; asDouble?: number; asInt?: string; timeUnixNano: string; startTimeUnixNano?: string; count?: string; sum?: number; bucketCounts?: string[]; explicitBounds?: number[] };
type JsonMetric = { name: string; unit?: string; description?: string; gauge?: { dataPoints: JsonPoint[] }; sum?: { dataPoints: JsonPoint[]; isMonotonic?: boolean; aggregationTemporality?: number }; histogram?: { dataPoints: JsonPoint[] } };
type JsonRequest = { resourceMetrics?: { resource?: { attributes?: KeyValue[] }; scopeMetrics: { scope?: { name?: string; version?: string }; metrics: JsonMetric[] }[] }[] };

/** One data point as the collector received it, flattened with its resource and metric. */
export interface ReceivedPoint {
  readonly resource: Readonly<Record<string, string | number | boolean>>;
  readonly scope: string;
  readonly name: string;
  readonly unit: string;
  readonly kind: 'gauge' | 'sum' | 'histogram';
  readonly monotonic: boolean;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** The number; a histogram's count. */
  readonly value: number;
  /** Nanoseconds since the epoch, as the JSON gives them. */
  readonly time: bigint;
  readonly histogram?: { readonly bounds: readonly number[]; readonly counts: readonly number[]; readonly sum: number };
}

function attrs(list: readonly KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) out[key] = value.stringValue ?? value.doubleValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : '');
  return out;
}

function flatten(m: JsonMetric): { kind: ReceivedPoint['kind']; monotonic: boolean; points: JsonPoint[] } | undefined {
  if (m.gauge) return { kind: 'gauge', monotonic: false, points: m.gauge.dataPoints };
  if (m.sum) return { kind: 'sum', monotonic: m.sum.isMonotonic === true, points: m.sum.dataPoints };
  if (m.histogram) return { kind: 'histogram', monotonic: false, points: m.histogram.dataPoints };
  return undefined;
}

/** Every data point the collector has written so far, oldest request first. */
export function receivedPoints(c: Pick<OtelCollector, 'received'>): ReceivedPoint[] {
  const text = readLog(c.received);
  const out: ReceivedPoint[] = [];
  for (const line of text.split('\n')) {
    // The exporter may be writing the last line while this reads: a partial line is skipped.
    if (!line.endsWith('}')) continue;
    const req = JSON.parse(line) as JsonRequest;
    // A traces request has no resourceMetrics.
    for (const rm of req.resourceMetrics ?? []) {
      const resource = attrs(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          const f = flatten(m);
          if (!f) continue;
          for (const p of f.points) {
            out.push({
              resource,
              scope: sm.scope?.name ?? '',
              name: m.name,
              unit: m.unit ?? '',
              kind: f.kind,
              monotonic: f.monotonic,
              attributes: attrs(p.attributes),
              // OTLP/JSON may leave a zero out, as protobuf's JSON mapping does for defaults.
              value: f.kind === 'histogram' ? Number(p.count ?? 0) : (p.asDouble ?? Number(p.asInt ?? 0)),
              time: BigInt(p.timeUnixNano),
              ...(f.kind === 'histogram' ? { histogram: { bounds: p.explicitBounds ?? [], counts: (p.bucketCounts ?? []).map(Number), sum: p.sum ?? 0 } } : {}),
            });
          }
        }
      }
    }
  }
  return out;
}

type JsonSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
  events?: { name: string; attributes?: KeyValue[] }[];
};
type JsonTraces = { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans: { scope?: { name?: string }; spans?: JsonSpan[] }[] }[] };

/** One span as the collector received it, with its resource and scope. */
export interface ReceivedSpan {
  readonly resource: Readonly<Record<string, string | number | boolean>>;
  readonly scope: string;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error (OTLP/JSON leaves 0 out). */
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly events: readonly string[];
  readonly start: bigint;
  readonly end: bigint;
}

/** Every span the collector has written so far, oldest request first. */
export function receivedSpans(c: Pick<OtelCollector, 'received'>): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const line of readLog(c.received).split('\n')) {
    if (!line.endsWith('}')) continue;
    const req = JSON.parse(line) as JsonTraces;
    for (const rs of req.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans ?? []) {
          out.push({
            resource,
            scope: ss.scope?.name ?? '',
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            attributes: attrs(s.attributes),
            statusCode: s.status?.code ?? 0,
            statusMessage: s.status?.message ?? '',
            events: (s.events ?? []).map((e) => e.name),
            start: BigInt(s.startTimeUnixNano),
            end: BigInt(s.endTimeUnixNano),
          });
        }
      }
    }
  }
  return out;
}
