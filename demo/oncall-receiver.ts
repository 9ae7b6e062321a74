import { createServer, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { SIGNATURE_HEADER, sign } from '../controller/healing/oncall.ts';

/** One notification as the receiver got it. */
export interface ReceivedNotice {
  receivedAt: string;
  /** What the receiver answered. */
  httpStatus: number;
  /** The X-SurgeGuard-Signature header checked against the shared key. */
  signature: 'valid' | 'invalid' | 'missing';
  body: Record<string, unknown>;
}

export interface OnCallReceiver {
  readonly url: string;
  received(): readonly ReceivedNotice[];
  close(): Promise<void>;
}

/**
 * The demo's on-call endpoint: an HTTP receiver on 127.0.0.1 (a free port) that takes the healing
 * loop's signed JSON notifications as a pager webhook would, checks the signature with the shared
 * key, answers 200 (401 for a bad signature) and keeps what it got for the page.
 */
export async function startOnCallReceiver(hmacKey: string): Promise<OnCallReceiver> {
  const got: ReceivedNotice[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const header = req.headers[SIGNATURE_HEADER];
      const t = typeof header === 'string' ? /^t=(\d+),/.exec(header)?.[1] : undefined;
      const expected = t ? Buffer.from(sign(hmacKey, text, Number(t))) : undefined;
      const signature = typeof header !== 'string' ? 'missing' : expected && expected.length === header.length && timingSafeEqual(expected, Buffer.from(header)) ? 'valid' : 'invalid';
      const status = signature === 'valid' ? 200 : 401;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { unreadable: text.slice(0, 200) };
      }
      got.push({ receivedAt: new Date().toISOString(), httpStatus: status, signature, body });
      if (got.length > 200) got.shift();
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/oncall`,
    received: () => got,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
