import client from '@prometheus-io/client';

export type { Registry } from '@prometheus-io/client';

/** Every metric SurgeGuard exports starts with this prefix (docs: architecture, "Names"). */
export const METRIC_PREFIX = 'surgeguard_';

/**
 * The metric registry a component owns. Components never touch the client's global
 * registry: each process part (agent, controller, demo) creates one and injects it,
 * so tests can read exactly what one component exported.
 */
export interface MetricRegistry {
  readonly registry: client.Registry;
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): client.Counter<L>;
  gauge<L extends string>(name: string, help: string, labelNames?: readonly L[]): client.Gauge<L>;
  histogram<L extends string>(name: string, help: string, labelNames?: readonly L[], buckets?: number[]): client.Histogram<L>;
  /** Serializes for a scrape, in OpenMetrics when `openMetrics` is true. */
  render(openMetrics?: boolean): Promise<{ contentType: string; body: string }>;
}

export interface MetricRegistryOptions {
  /** Adds process and Node.js runtime metrics (`process_*`, `nodejs_*`). */
  processMetrics?: boolean;
}

function checkName(name: string): void {
  // Fail at start-up, not at scrape time: a misspelled prefix would silently break
  // every rule and dashboard that selects on it.
  if (!name.startsWith(METRIC_PREFIX) || !client.validateMetricName(name)) {
    throw new Error(`metric name ${JSON.stringify(name)} must be a valid name starting with ${METRIC_PREFIX}`);
  }
}

/** Creates a registry with typed helpers that enforce the project's metric naming. */
export function createMetricRegistry(options: MetricRegistryOptions = {}): MetricRegistry {
  const registry = new client.Registry();
  const openRegistry = new client.Registry(client.openMetricsContentType);
  if (options.processMetrics) client.collectDefaultMetrics({ register: registry });

  const reuse = <M>(name: string): M | undefined => registry.getSingleMetric(name) as M | undefined;

  return {
    registry,
    counter(name, help, labelNames = []) {
      checkName(name);
      if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
      return reuse(name) ?? new client.Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
    },
    gauge(name, help, labelNames = []) {
      checkName(name);
      return reuse(name) ?? new client.Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
    },
    histogram(name, help, labelNames = [], buckets) {
      checkName(name);
      return (
        reuse(name) ??
        new client.Histogram({ name, help, labelNames: [...labelNames], registers: [registry], ...(buckets ? { buckets } : {}) })
      );
    },
    async render(openMetrics = false) {
      if (!openMetrics) return { contentType: registry.contentType, body: await registry.metrics() };
      // The client binds the format to a registry, so OpenMetrics is served from a merged
      // view that shares the same metric objects (no copy of the values).
      openRegistry.clear();
      for (const m of registry.getMetricsAsArray() as unknown as client.Metric[]) openRegistry.registerMetric(m);
      return { contentType: openRegistry.contentType, body: await openRegistry.metrics() };
    },
  };
}

/** True when an Accept header asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('application/openmetrics-text');
}
