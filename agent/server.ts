import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../common/logger.ts';
import { OPENMETRICS_CONTENT_TYPE, textToOpenMetrics, wantsOpenMetrics, type MetricRegistry } from '../common/metrics.ts';
import type { BearerCheck } from './metrics-auth.ts';
import type { CollectorRunner } from './runner.ts';

export interface ServerDeps {
  readonly registry: MetricRegistry;
  readonly runner: Pick<CollectorRunner, 'ready' | 'states' | 'expositionBuffer'>;
  readonly logger?: Logger;
  /** When set, /metrics needs a matching bearer token; the health endpoints never do. */
  readonly metricsAuth?: BearerCheck;
}

/** The agent's paths; each answers GET (and HEAD, which Fastify adds), anything else gets 405. */
const PATHS = new Set(['/metrics', '/healthz', '/readyz']);
const ALLOW = 'GET, HEAD';

const EOF = Buffer.from('# EOF\n');
const EMPTY = Buffer.alloc(0);
const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Builds the agent's HTTP server without listening, so tests drive it with inject().
 * `/metrics` serializes the cached samples (Prometheus text, or OpenMetrics when the Accept
 * header asks); it never runs a collector.
 */
export function build(deps: ServerDeps): Promise<FastifyInstance> {
  // Request logs would be one line per scrape; collector errors are logged by the runner.
  const app = Fastify({ logger: false });
  // No @fastify/under-pressure here: the agent's only callers are Prometheus and the kubelet's
  // probes, and its event-loop sampler (fixed 10 ms resolution) alone cost about half a percent
  // of a core on an idle node (docs/agent.md).
  const auth = deps.metricsAuth;
  if (auth) {
    app.addHook('onRequest', async (req, reply) => {
      if (req.routeOptions.url !== '/metrics' || auth(req.headers.authorization)) return;
      await reply.code(401).header('www-authenticate', 'Bearer realm="surgeguard-agent"').send({ code: 'SG_UNAUTHORIZED', message: '/metrics needs Authorization: Bearer <token>' });
    });
  }
  // A known path with another method is 405 with Allow (RFC 9110), not Fastify's 404.
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (PATHS.has(path)) return reply.code(405).header('allow', ALLOW).send({ code: 'SG_USAGE_INVALID', message: `${req.method} ${path}: method not allowed; use ${ALLOW}` });
    return reply.code(404).send({ code: 'SG_USAGE_INVALID', message: `not found; the agent serves ${[...PATHS].join(', ')}` });
  });
  app.get('/metrics', async (req, reply) => {
    const openMetrics = wantsOpenMetrics(req.headers.accept);
    // The registry holds the runner's own metrics and the process metrics; the collectors'
    // series come from the runner's cache. OpenMetrics has one `# EOF`, at the very end.
    // The registry is always rendered as text and converted here: the client renames counters
    // in place when it renders OpenMetrics, which would break every later text scrape.
    const { body } = await deps.registry.render(false);
    const own = openMetrics ? textToOpenMetrics(body) : body;
    const contentType = openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
    const head = Buffer.from(own);
    const rest = deps.runner.expositionBuffer(openMetrics);
    const tail = openMetrics ? EOF : EMPTY;
    // Written as three pieces rather than one concatenated body: the large cached buffer is
    // reused by every scrape until the next cycle, so a scrape allocates only the small head.
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': contentType, 'content-length': head.length + rest.length + tail.length });
    reply.raw.write(head);
    reply.raw.write(rest);
    reply.raw.end(tail);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const collectors = Object.fromEntries([...deps.runner.states.values()].map((s) => [s.name, { enabled: s.enabled, cycles: s.cycles, success: s.lastSuccess ?? null }]));
    return reply.code(deps.runner.ready() ? 200 : 503).send({ ready: deps.runner.ready(), collectors });
  });
  return Promise.resolve(app);
}
