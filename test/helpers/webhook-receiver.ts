import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** A local HTTP endpoint that records every POST body, standing in for an on-call system. */
export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReadonlyArray<{ path: string; headers: Record<string, string | string[] | undefined>; body: unknown }>;
  /** Resolves with the first received body that matches, or rejects after `timeoutMs`. */
  waitFor(match: (body: unknown) => boolean, timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: { path: string; headers: Record<string, string | string[] | undefined>; body: unknown }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: keep the raw text so a test can say what arrived.
      }
      received.push({ path: req.url ?? '/', headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('webhook receiver has no address');
  return {
    url: `http://127.0.0.1:${addr.port}/hook`,
    received,
    async waitFor(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const hit = received.find((r) => match(r.body));
        if (hit) return hit.body;
        await sleep(100);
      }
      throw new Error(`no matching webhook within ${timeoutMs} ms; received ${received.length}: ${JSON.stringify(received.map((r) => r.body)).slice(0, 500)}`);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
