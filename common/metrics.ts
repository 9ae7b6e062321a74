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
      const text = await registry.metrics();
      if (!openMetrics) return { contentType: registry.contentType, body: text };
      // Always rendered as text and converted: the client renames counters in place when it
      // renders OpenMetrics, which would break every later text scrape of the same metrics.
      return { contentType: OPENMETRICS_CONTENT_TYPE, body: `${textToOpenMetrics(text)}# EOF\n` };
    },
  };
}

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * Converts the client's text exposition to OpenMetrics (without `# EOF`): counter families lose
 * `_total` in their HELP and TYPE lines (their samples keep it) and blank lines go.
 */
export function textToOpenMetrics(text: string): string {
  const counters = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+)_total counter$/gm)) if (m[1]) counters.add(m[1]);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^# (HELP|TYPE) (\S+)_total( .*)$/.exec(l);
      return m?.[2] && counters.has(m[2]) ? `# ${m[1]} ${m[2]}${m[3]}` : l;
    })
    .join('\n')
    .concat(text.trim() === '' ? '' : '\n');
}

/** True when an Accept header asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('application/openmetrics-text');
}
