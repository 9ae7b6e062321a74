import type { CycleObserver } from './runner.ts';

/** A cycle observer that can be shut down (flushes spans). */
export interface TracingObserver extends CycleObserver {
  shutdown(): Promise<void>;
}

/**
 * One OTLP trace per collector cycle, when OTEL_EXPORTER_OTLP_ENDPOINT is set. The SDK reads
 * the standard OTEL_* variables itself. Metrics go over OTLP through the agent's own
 * `otlp.metrics` settings (common/otlp/exporter.ts), not through this SDK.
 */
export async function otelObserver(env: Readonly<Record<string, string | undefined>>): Promise<TracingObserver> {
  const [{ NodeSDK }, { OTLPTraceExporter }, api] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/api'),
  ]);
  const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? 'surgeguard-agent', traceExporter: new OTLPTraceExporter(), instrumentations: [] });
  sdk.start();
  const tracer = api.trace.getTracer('surgeguard-agent');
  return {
    cycle(collector, run) {
      return tracer.startActiveSpan(`collect ${collector}`, { attributes: { 'surgeguard.collector': collector } }, async (span) => {
        try {
          return await run();
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      });
    },
    shutdown: () => sdk.shutdown(),
  };
}
