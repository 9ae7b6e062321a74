import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import { wantsOpenMetrics, type MetricRegistry } from '../common/metrics.ts';
import type { DecisionLog } from './reconcile/decision-log.ts';
import type { RemediationAudit } from './healing/audit.ts';
import { alertmanagerWebhookSchema, type AlertmanagerWebhook } from './healing/alert-intake.ts';
import { listLimit } from './list-limit.ts';

export interface ControllerServerDeps {
  readonly registry: MetricRegistry;
  readonly decisions: DecisionLog;
  /** Bearer token that /api/* requires; undefined refuses every /api/* request. */
  readonly token: string | undefined;
  /** Ready when the scaler cache has synced; leadership is not readiness (followers serve too). */
  readonly ready: () => boolean;
  readonly leader: () => boolean;
  readonly https?: { cert: Buffer; key: Buffer };
  /** The healing loop's audit and alert intake; without them the routes answer 404. */
  readonly healing?: { audit: RemediationAudit; acceptAlerts: (body: AlertmanagerWebhook) => { firing: number; resolved: number } };
  /** Event-loop lag above which /api/*, /readyz and the alert intake answer 503 (default 2 s; tests lower it). */
  readonly pressure?: { maxEventLoopDelayMs: number; sampleIntervalMs?: number };
}

/**
 * Lets a route through while the event loop lags. /healthz must not fail because a tick is slow:
 * the liveness probe would restart a controller that is only busy (at 1,000 scalers on a loaded
 * node the loop lags past 2 s), and /metrics is how an SRE sees that lag.
 */
const evenUnderPressure = { pressureHandler: () => undefined };

/** True when the request carries the bearer token, compared in constant time. */
export function authorized(req: FastifyRequest, token: string | undefined): boolean {
  const header = req.headers.authorization ?? '';
  if (!token || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * Builds the controller's HTTP server without listening (tests use inject()): /metrics,
 * /healthz, /readyz, and /api/* behind a bearer token. Later loops add their routes to the
 * returned instance before it listens.
 */
export async function buildControllerServer(deps: ControllerServerDeps): Promise<FastifyInstance> {
  // The HTTPS and HTTP instances differ only in their server type, which no route here uses.
  const app = (deps.https ? Fastify({ logger: false, https: deps.https }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  await app.register(underPressure, {
    maxEventLoopDelay: deps.pressure?.maxEventLoopDelayMs ?? 2000,
    ...(deps.pressure?.sampleIntervalMs ? { sampleInterval: deps.pressure.sampleIntervalMs } : {}),
    exposeStatusRoute: false,
  });
  app.get('/metrics', { config: evenUnderPressure }, async (req, reply) => {
    const { contentType, body } = await deps.registry.render(wantsOpenMetrics(req.headers.accept));
    return reply.header('content-type', contentType).send(body);
  });
  app.get('/healthz', { config: evenUnderPressure }, async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => reply.code(deps.ready() ? 200 : 503).send({ ready: deps.ready(), leader: deps.leader() }));
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/')) return;
    if (!authorized(req, deps.token)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token is required' });
    }
  });
  app.get<{ Querystring: { scaler?: string; limit?: string } }>('/api/decisions', async (req, reply) => {
    const l = listLimit(req.query.limit);
    if ('problem' in l) return reply.code(400).send({ error: 'bad_request', message: l.problem });
    return { leader: deps.leader(), decisions: deps.decisions.list({ scaler: req.query.scaler, limit: l.limit }) };
  });
  if (deps.healing) {
    const healing = deps.healing;
    app.get<{ Querystring: { target?: string; limit?: string } }>('/api/remediations', async (req, reply) => {
      const l = listLimit(req.query.limit);
      if ('problem' in l) return reply.code(400).send({ error: 'bad_request', message: l.problem });
      return { leader: deps.leader(), remediations: healing.audit.list({ limit: l.limit, ...(req.query.target ? { target: req.query.target } : {}) }) };
    });
    // Alertmanager's webhook receiver. A body that is not a version 4 webhook is refused whole
    // with the first problems named; nothing of it is acted on.
    app.post('/api/v1/alerts', { bodyLimit: 1 << 20 }, async (req, reply) => {
      const parsed = alertmanagerWebhookSchema.safeParse(req.body);
      if (!parsed.success) {
        const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
        return reply.code(400).send({ error: 'bad_request', message: `not an Alertmanager webhook body (version 4): ${problems.join('; ')}`, problems });
      }
      return reply.code(200).send({ status: 'accepted', ...healing.acceptAlerts(parsed.data) });
    });
  }
  return app;
}
