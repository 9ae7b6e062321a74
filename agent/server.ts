import Fastify, { type FastifyInstance } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type client from '@prometheus-io/client';
import type { Logger } from '../common/logger.ts';
import { wantsOpenMetrics, type MetricRegistry } from '../common/metrics.ts';
import type { CollectorRunner } from './runner.ts';

export interface ServerDeps {
  readonly registry: MetricRegistry;
  /** Serves OpenMetrics when given (see createAgent for why it is separate); else `registry` does. */
  readonly openMetricsRegistry?: client.Registry;
  readonly runner: Pick<CollectorRunner, 'ready' | 'states' | 'expositionBuffers'>;
  readonly logger?: Logger;
}

/**
 * Builds the agent's HTTP server without listening, so tests drive it with inject().
 * `/metrics` serializes the cached samples (Prometheus text, or OpenMetrics when the Accept
 * header asks); it never runs a collector.
 */
export async function build(deps: ServerDeps): Promise<FastifyInstance> {
  // Request logs would be one line per scrape; collector errors are logged by the runner.
  const app = Fastify({ logger: false });
  // Shed load before the event loop stalls; /healthz stays answerable for the kubelet.
  await app.register(underPressure, { maxEventLoopDelay: 2000, exposeStatusRoute: false });
  app.get('/metrics', async (req, reply) => {
    const openMetrics = wantsOpenMetrics(req.headers.accept);
    // The registry holds the runner's own metrics and the process metrics; the collectors'
    // series come from the runner's cache. OpenMetrics has one `# EOF`, at the very end.
    const om = deps.openMetricsRegistry;
    const { contentType, body } = openMetrics && om ? { contentType: om.contentType, body: await om.metrics() } : await deps.registry.render(openMetrics);
    const own = openMetrics ? body.replace(/# EOF\n?$/, '') : body;
    const parts = [Buffer.from(own), ...deps.runner.expositionBuffers(openMetrics)];
    if (openMetrics) parts.push(Buffer.from('# EOF\n'));
    return reply.header('content-type', contentType).send(Buffer.concat(parts));
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const collectors = Object.fromEntries([...deps.runner.states.values()].map((s) => [s.name, { enabled: s.enabled, cycles: s.cycles, success: s.lastSuccess ?? null }]));
    return reply.code(deps.runner.ready() ? 200 : 503).send({ ready: deps.runner.ready(), collectors });
  });
  return app;
}
