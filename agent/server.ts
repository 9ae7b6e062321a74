import Fastify, { type FastifyInstance } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Logger } from '../common/logger.ts';
import { wantsOpenMetrics, type MetricRegistry } from '../common/metrics.ts';
import type { CollectorRunner } from './runner.ts';

export interface ServerDeps {
  readonly registry: MetricRegistry;
  readonly runner: Pick<CollectorRunner, 'ready' | 'states' | 'exposition'>;
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
    const { contentType, body } = await deps.registry.render(openMetrics);
    const own = openMetrics ? body.replace(/# EOF\n?$/, '') : body;
    return reply.header('content-type', contentType).send(`${own}${deps.runner.exposition(openMetrics)}${openMetrics ? '# EOF\n' : ''}`);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const collectors = Object.fromEntries([...deps.runner.states.values()].map((s) => [s.name, { enabled: s.enabled, cycles: s.cycles, success: s.lastSuccess ?? null }]));
    return reply.code(deps.runner.ready() ? 200 : 503).send({ ready: deps.runner.ready(), collectors });
  });
  return app;
}
