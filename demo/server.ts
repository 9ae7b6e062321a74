import Fastify, { type FastifyInstance } from 'fastify';
import { wantsOpenMetrics, type MetricRegistry } from '../common/metrics.ts';
import type { DecisionLog } from '../controller/reconcile/decision-log.ts';
import { listLimit } from '../controller/list-limit.ts';
import { DEMO_PAGE } from './page.ts';
import { chartAssets } from '../replay/report-assets.ts';
import type { RunningDemo } from './demo.ts';
import { faultMarkers } from './fault-markers.ts';
import type { DemoHealing } from './healing.ts';

/**
 * The demo's HTTP server: the page, /metrics, /api/decisions (the controller's shape),
 * /api/demo/state (the series, the totals and the stream's score so far), and with healing
 * /api/demo/healing (findings, gate, drains, on-call, and the charts' fault markers) and
 * /api/demo/agent (the demo node's agent readings). No token: the demo listens on loopback by default and holds no secrets.
 */
export function buildDemoServer(deps: { registry: MetricRegistry; decisions: DecisionLog; demo: RunningDemo; about: string; agentUrl?: string; healing?: Pick<DemoHealing, 'state' | 'agent'> }): FastifyInstance {
  const app = Fastify({ logger: false }) as unknown as FastifyInstance;
  // uPlot from node_modules, read once at start: the page needs no CDN.
  const assets = chartAssets();
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(DEMO_PAGE));
  app.get('/assets/uplot.iife.min.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(assets.js));
  app.get('/assets/uplot.min.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(assets.css));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (req, reply) => {
    const { contentType, body } = await deps.registry.render(wantsOpenMetrics(req.headers.accept));
    return reply.header('content-type', contentType).send(body);
  });
  app.get<{ Querystring: { limit?: string } }>('/api/decisions', async (req, reply) => {
    const l = listLimit(req.query.limit);
    if ('problem' in l) return reply.code(400).send({ error: 'bad_request', message: l.problem });
    return { leader: true, decisions: deps.decisions.list({ limit: l.limit }) };
  });
  app.get('/api/demo/state', async () => ({ about: deps.about, agent: deps.agentUrl ?? null, progress: deps.demo.progress(), totals: deps.demo.totals(), score: deps.demo.score(), points: deps.demo.points().slice(-400) }));
  app.get('/api/demo/healing', async (_req, reply) => {
    if (!deps.healing) return reply.code(404).send({ error: 'not_found', message: 'this demo runs without healing' });
    const state = deps.healing.state();
    // The charts' markers are derived from the same state, so the page and this answer cannot disagree.
    return { ...state, markers: faultMarkers(state) };
  });
  app.get('/api/demo/agent', async (_req, reply) => (deps.healing ? deps.healing.agent() : reply.code(404).send({ error: 'not_found', message: 'this demo runs without the demo nodes\' agents' })));
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    // A path that exists with another method is 405 with Allow (RFC 9110), not 404.
    const allowed = METHODS.filter((method) => app.hasRoute({ method, url: path }));
    if (allowed.length > 0) {
      return reply.code(405).header('allow', allowed.join(', ')).send({ error: 'method_not_allowed', message: `${req.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}` });
    }
    return reply.code(404).send({ error: 'not_found', message: `no ${path} here` });
  });
  return app;
}

/** The methods a route may have, in the order the Allow header lists them. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
