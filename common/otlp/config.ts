import { z } from 'zod';

/** Where OTLP/HTTP metrics go when the endpoint has no path of its own (the OTLP default). */
export const OTLP_METRICS_PATH = '/v1/metrics';

/**
 * The OTLP metrics endpoint: an absolute http(s) URL. A URL with no path gets `/v1/metrics`, as
 * OTEL_EXPORTER_OTLP_ENDPOINT does; a URL with a path is used as written, as
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is.
 */
const endpoint = z
  .url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL with a host (http://otel-collector:4318)' })
  .transform((u) => {
    const url = new URL(u);
    if (url.pathname === '/' || url.pathname === '') url.pathname = OTLP_METRICS_PATH;
    return url.toString();
  });

/**
 * `otlp.metrics`: push the same metrics that /metrics serves to an OpenTelemetry Collector over
 * OTLP/HTTP (protobuf). Off unless `endpoint` is set.
 */
export const otlpMetricsConfigSchema = z
  .strictObject({
    endpoint: endpoint.optional(),
    /** Seconds between exports; OpenTelemetry's own default (OTEL_METRIC_EXPORT_INTERVAL) is 60. */
    intervalSeconds: z.number().positive().default(60),
    /** Seconds one export may take before it is abandoned: at most the interval; 10, or the interval if shorter, when unset. */
    timeoutSeconds: z.number().positive().optional(),
    /** Extra HTTP headers on every export (an API key a gateway wants); values are not logged. */
    headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name'), z.string()).default({}),
  })
  .refine((m) => m.timeoutSeconds === undefined || m.timeoutSeconds <= m.intervalSeconds, { message: 'timeoutSeconds must not exceed intervalSeconds', path: ['timeoutSeconds'] })
  .transform((m) => ({ ...m, timeoutSeconds: m.timeoutSeconds ?? Math.min(10, m.intervalSeconds) }))
  .prefault({});

/** `otlp`: OpenTelemetry export settings; metrics only (traces follow the OTEL_* variables). */
export const otlpConfigSchema = z.strictObject({ metrics: otlpMetricsConfigSchema }).prefault({});

export type OtlpMetricsConfig = z.output<typeof otlpMetricsConfigSchema>;
