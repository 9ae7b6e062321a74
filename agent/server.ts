import Fastify, { type FastifyInstance } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Logger } from '../common/logger.ts';
import { wantsOpenMetrics, type MetricRegistry } from '../common/metrics.ts';
import type { CollectorRunner } from './runner.ts';

export interface ServerDeps {
  readonly registry: MetricRegistry;
  readonly runner: Pick<CollectorRunner, 'ready' | 'states'>;
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
    const { contentType, body } = await deps.registry.render(wantsOpenMetrics(req.headers.accept));
    return reply.header('content-type', contentType).send(body);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const collectors = Object.fromEntries([...deps.runner.states.values()].map((s) => [s.name, { enabled: s.enabled, cycles: s.cycles, success: s.lastSuccess ?? null }]));
    return reply.code(deps.runner.ready() ? 200 : 503).send({ ready: deps.runner.ready(), collectors });
  });
  return app;
}
