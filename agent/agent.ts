import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import client from '@prometheus-io/client';
import type { FastifyInstance } from 'fastify';
import type { KafkaLagOptions, KafkaLagReader } from '../common/kafka-lag.ts';
import type { Logger } from '../common/logger.ts';
import { createMetricRegistry, type MetricRegistry } from '../common/metrics.ts';
import { startOtlpMetrics, type OtlpMetricsExport } from '../common/otlp/exporter.ts';
import { concatSources, registryFamilies } from '../common/otlp/families.ts';
import type { AgentConfig } from './config.ts';
import { createCollectors, type CollectorDeps } from './collectors/index.ts';
import { systemFacts } from './collectors/node-info.ts';
import { execProcess } from './exec.ts';
import { GpuHolders } from './gpu-holders.ts';
import { GpuInventory } from './gpu-inventory.ts';
import { followFile, followKmsg } from './kernel-log.ts';
import { loadBearerCheck } from './metrics-auth.ts';
import { AGENT_OTEL_RENAMES } from './otel-names.ts';
import { podResourcesClient } from './pod-resources.ts';
import { CollectorRunner, type CycleObserver } from './runner.ts';
import { build } from './server.ts';

/**
 * Default Node.js metrics of the client that `promtool check metrics` rejects (gauges named
 * `_total`, type names in metric names), and the event-loop lag standard deviation, whose
 * computation was a quarter of a scrape's CPU in a profile; the agent does not serve them.
 */
const NOT_SERVED = [
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
  'nodejs_eventloop_utilization_histogram',
  'nodejs_eventloop_utilization_summary',
];

/** A wired agent: collectors, their runner, the registry and the HTTP server (not yet listening). */
export interface Agent {
  readonly registry: MetricRegistry;
  readonly runner: CollectorRunner;
  readonly server: FastifyInstance;
  readonly node: string;
  /** The OTLP metrics export, when `otlp.metrics.endpoint` is set. */
  readonly otlp: OtlpMetricsExport | undefined;
  stop(): Promise<void>;
}

export interface AgentOverrides extends Partial<CollectorDeps> {
  readonly now?: () => number;
  readonly observer?: CycleObserver;
  /** process_* and nodejs_* metrics; on by default, off for the golden exposition (their values vary by run). */
  readonly processMetrics?: boolean;
  /** `service.version` of the OTLP export (the package version, from the CLI). */
  readonly version?: string;
}

/** Wires the agent from a frozen config; every side effect can be replaced for tests. */
export async function createAgent(config: AgentConfig, logger: Logger, overrides: AgentOverrides = {}): Promise<Agent> {
  const node = config.nodeName ?? hostname();
  const registry = createMetricRegistry({ processMetrics: false });
  if (overrides.processMetrics ?? true) {
    // The client's defaults sample the event loop every 10 ms and its utilization every 100 ms,
    // which alone cost 1.3 % of a core on an idle agent; coarser sampling keeps the lag metric.
    client.collectDefaultMetrics({ register: registry.registry, eventLoopMonitoringPrecision: 100, eventLoopUtilizationTimeout: 60_000 });
    for (const name of NOT_SERVED) registry.registry.removeSingleMetric(name);
  }
  const c = config.collectors;
  const deps: CollectorDeps = {
    logger,
    node,
    exec: execProcess,
    inventory: new GpuInventory(),
    holders: new GpuHolders(),
    kernelLog: () => (c.xid.source === 'kmsg' ? followKmsg() : followFile(c.xid.kernelLogPath)),
    podIps: () => {
      logger.warn('kafka scope node without a pod IP source attributes no partitions');
      return undefined;
    },
    podResources: podResourcesClient,
    nodeFacts: systemFacts,
    readFile: (p) => readFileSync(p, 'utf8'),
    kafkaLagReader: lazyKafkaLagReader,
    ...withoutUndefined(overrides),
  };
  const collectors = createCollectors(deps, c);
  const runner = new CollectorRunner({ registry, logger, ...(overrides.now ? { now: overrides.now } : {}), ...(overrides.observer ? { observer: overrides.observer } : {}) }, collectors);
  // Read before anything listens: a missing token file must stop the start, not open /metrics.
  const token = config.metricsAuth.bearerTokenFile;
  const metricsAuth = token ? loadBearerCheck(token, deps.readFile) : undefined;
  const server = await build({ registry, runner, logger, ...(metricsAuth ? { metricsAuth } : {}) });
  // The same two places /metrics reads: the registry (runner and process metrics) and the
  // runner's cache of collector samples.
  const otlp = await startOtlpMetrics(config.otlp.metrics, {
    source: concatSources(registryFamilies(registry.registry), { families: () => Promise.resolve(runner.families()) }),
    renames: AGENT_OTEL_RENAMES,
    logger,
    registry,
    serviceName: 'surgeguard-agent',
    serviceVersion: overrides.version ?? 'unknown',
    resource: { 'k8s.node.name': node },
    ...(overrides.now ? { now: overrides.now } : {}),
  });
  return {
    registry,
    runner,
    server,
    node,
    otlp,
    async stop() {
      // The export goes first: its shutdown sends the last values while the runner still holds them.
      await otlp?.shutdown();
      await runner.stop();
      await server.close();
    },
  };
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The kafkajs-based reader, loaded on the first read so that nodes without Kafka never load the client. */
function lazyKafkaLagReader(opts: KafkaLagOptions): KafkaLagReader {
  let real: Promise<KafkaLagReader> | undefined;
  const get = (): Promise<KafkaLagReader> => (real ??= import('../common/kafka-lag.ts').then((m) => m.createKafkaLagReader(opts)));
  return {
    read: async () => (await get()).read(),
    close: async () => {
      if (real) await (await real).close();
    },
  };
}
