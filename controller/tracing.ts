/**
 * Starts the OpenTelemetry SDK when OTEL_EXPORTER_OTLP_ENDPOINT is set, so the scaling loop's
 * spans (one per tick, one per phase) are exported over OTLP; without it the API's no-op tracer
 * costs nothing. The SDK reads the standard OTEL_* variables itself.
 */
export async function startTracing(env: Readonly<Record<string, string | undefined>>, serviceName: string): Promise<{ shutdown(): Promise<void> } | undefined> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([import('@opentelemetry/sdk-node'), import('@opentelemetry/exporter-trace-otlp-http')]);
  const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? serviceName, traceExporter: new OTLPTraceExporter(), instrumentations: [] });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
