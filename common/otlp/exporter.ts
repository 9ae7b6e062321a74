import type { Attributes, HrTime } from '@opentelemetry/api';
import type { CollectionResult, MetricProducer, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Logger } from '../logger.ts';
import type { MetricRegistry } from '../metrics.ts';
import { redactUrlValue, redactUrls } from '../redact.ts';
import type { OtlpMetricsConfig } from './config.ts';
import type { FamilySource } from './families.ts';
import { checkRenames, toMetricDataList, type RenameTable } from './to-otlp.ts';

/** A running OTLP metrics export. */
export interface OtlpMetricsExport {
  /** Exports now (tests, and a last export before stopping). */
  forceFlush(): Promise<void>;
  /** Exports once more, then stops. */
  shutdown(): Promise<void>;
}

export interface OtlpMetricsDeps {
  /** What /metrics serves, read at every export. */
  readonly source: FamilySource;
  /** Semantic-convention names for some families (the agent's GPU series); none by default. */
  readonly renames?: RenameTable;
  readonly logger: Logger;
  /** Where the export's own counter goes (`surgeguard_otlp_exports_total`). */
  readonly registry: MetricRegistry;
  /** Instrumentation scope and `service.name`: `surgeguard-agent` or `surgeguard-controller`. */
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** More resource attributes (`k8s.node.name`, `service.instance.id`). */
  readonly resource?: Attributes;
  /** Wall clock in milliseconds, for the points' timestamps; injected so tests control them. */
  readonly now?: () => number;
}

/** Milliseconds since the epoch as OpenTelemetry's [seconds, nanoseconds]. */
export function toHrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

type ExportResult = Parameters<Parameters<PushMetricExporter['export']>[1]>[0];

/**
 * Counts every export by result and logs when the export starts failing and when it recovers
 * (not every failed try: at a 1 s interval that would be a line a second), so a collector that
 * went away is one warning, a counter and an alert, never silence.
 */
function countingExporter(inner: PushMetricExporter, deps: OtlpMetricsDeps, endpoint: string): PushMetricExporter {
  const exports = deps.registry.counter('surgeguard_otlp_exports_total', 'OTLP metric exports by result (success, failure).', ['result']);
  let failing = false;
  return {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void) {
      inner.export(metrics, (result) => {
        const ok = result.code === 0;
        exports.inc({ result: ok ? 'success' : 'failure' });
        if (!ok && !failing) deps.logger.warn({ endpoint, error: result.error ? redactUrls(result.error.message) : undefined }, 'OTLP metric export failed; retried at every interval (surgeguard_otlp_exports_total{result="failure"} counts the failures)');
        if (ok && failing) deps.logger.info({ endpoint }, 'OTLP metric export recovered');
        failing = !ok;
        done(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    ...(inner.selectAggregationTemporality ? { selectAggregationTemporality: inner.selectAggregationTemporality.bind(inner) } : {}),
  };
}

/**
 * Starts pushing the component's metrics over OTLP/HTTP (protobuf) at the configured interval,
 * or returns undefined when `otlp.metrics.endpoint` is not set. Nothing is instrumented twice:
 * a MetricProducer reads what /metrics serves at export time and hands the SDK finished points,
 * so the two exports carry the same values (docs/agent.md, "OTLP"). The SDK is loaded only here.
 */
export async function startOtlpMetrics(config: OtlpMetricsConfig, deps: OtlpMetricsDeps): Promise<OtlpMetricsExport | undefined> {
  const endpoint = config.endpoint;
  if (!endpoint) return undefined;
  const renames = deps.renames ?? new Map();
  checkRenames(renames);
  const [{ MeterProvider, PeriodicExportingMetricReader }, { OTLPMetricExporter }, { defaultResource, resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/exporter-metrics-otlp-proto'),
    import('@opentelemetry/resources'),
  ]);
  const now = deps.now ?? Date.now;
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': deps.serviceName, 'service.version': deps.serviceVersion, ...deps.resource }));
  const start = toHrTime(now());
  const producer: MetricProducer = {
    async collect(): Promise<CollectionResult> {
      const metrics = toMetricDataList(await deps.source.families(), renames, { start, now: toHrTime(now()) });
      return { resourceMetrics: { resource, scopeMetrics: [{ scope: { name: deps.serviceName, version: deps.serviceVersion }, metrics }] }, errors: [] };
    },
  };
  const timeoutMillis = config.timeoutSeconds * 1000;
  // Logged without its path and credentials, as every URL the project logs.
  const shown = redactUrlValue(endpoint);
  const exporter = countingExporter(new OTLPMetricExporter({ url: endpoint, headers: { ...config.headers }, timeoutMillis }), deps, shown);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: config.intervalSeconds * 1000, exportTimeoutMillis: timeoutMillis, metricProducers: [producer] });
  // The provider has no meters of its own: it exists because a reader must be bound to one.
  const provider = new MeterProvider({ resource, readers: [reader] });
  deps.logger.info({ endpoint: shown, intervalSeconds: config.intervalSeconds }, 'exporting metrics over OTLP');
  return {
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
