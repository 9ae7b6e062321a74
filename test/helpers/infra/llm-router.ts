// A load balancer in front of several real llama-server processes, standing in for a Kubernetes
// Service's endpoints: the pods of the scaled Deployment are kwok pods (no process behind them), so
// the router sends requests only to the first R servers, R being the ready replicas the caller reads
// from the real API server. A replica the controller adds therefore becomes serving capacity once its
// pod is Ready, as an endpoint would. Requests go to the active server with the fewest outstanding
// (Envoy's least_request, what an LLM gateway does); each server queues what its slots cannot take,
// so the queue stays in the servers' own llamacpp:requests_deferred gauge.
//
// The router's /metrics: llmrouter_requests_total (requests received: the arrival rate a
// request-rate scaler reads) and llmrouter_active_backends.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LlmRouter {
  readonly url: string;
  /** host:port, for a scrape target. */
  readonly address: string;
  /** Servers requests may go to now (1 to the pool's size). */
  active(): number;
  stop(): Promise<void>;
}

export interface LlmRouterOptions {
  /** Base URLs of the servers, in the order they become active. */
  readonly backends: readonly string[];
  /** How many of them serve now; read on every request, clamped to 1..backends.length. */
  readonly activeBackends: () => number;
}

/** The index of the active backend with the fewest outstanding requests (the first on a tie). */
export function pickBackend(outstanding: readonly number[], active: number): number {
  const n = Math.max(1, Math.min(active, outstanding.length));
  let best = 0;
  for (let i = 1; i < n; i++) if ((outstanding[i] ?? 0) < (outstanding[best] ?? 0)) best = i;
  return best;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the router on 127.0.0.1 (a free port). */
export async function startLlmRouter(opts: LlmRouterOptions): Promise<LlmRouter> {
  if (opts.backends.length === 0) throw new Error('LLM_ROUTER_CONFIG: backends is empty; give at least one llama-server URL');
  const outstanding = opts.backends.map(() => 0);
  let received = 0;
  const active = (): number => Math.max(1, Math.min(opts.backends.length, Math.floor(opts.activeBackends())));

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const payload = await body(req);
    received++;
    const i = pickBackend(outstanding, active());
    outstanding[i] = (outstanding[i] ?? 0) + 1;
    try {
      const up = await fetch(`${opts.backends[i]}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body: payload.toString('utf8') });
      const text = Buffer.from(await up.arrayBuffer());
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' }).end(text);
    } catch (err) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`LLM_ROUTER_UPSTREAM: ${opts.backends[i]}: ${String(err)}`);
    } finally {
      outstanding[i] = (outstanding[i] ?? 1) - 1;
    }
  };

  const metrics = (): string =>
    [
      '# HELP llmrouter_requests_total Requests the router received.',
      '# TYPE llmrouter_requests_total counter',
      `llmrouter_requests_total ${received}`,
      '# HELP llmrouter_active_backends Servers requests may go to now.',
      '# TYPE llmrouter_active_backends gauge',
      `llmrouter_active_backends ${active()}`,
      '',
    ].join('\n');

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics());
      return;
    }
    forward(req, res).catch((err: unknown) => {
      // The request body could not be read (client gone): nothing to answer.
      if (!res.headersSent) res.writeHead(400).end(String(err));
    });
  });
  // Hundreds of requests wait in the servers' queues at a burst's peak: no socket timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    active,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
