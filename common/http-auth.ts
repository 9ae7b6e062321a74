import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { z } from 'zod';

/**
 * How SurgeGuard authenticates to an HTTP API that clusters put behind auth (Prometheus behind
 * kube-rbac-proxy or an ingress, Thanos Query, Mimir): a bearer token file (a projected
 * ServiceAccount token is rotated on disk, so the file is read for every request), basic auth
 * with a password file, TLS with a private CA or a client certificate, and extra headers (a
 * tenant header such as `X-Scope-OrgID`).
 */
export const httpAuthFields = {
  bearerTokenFile: z.string().min(1).optional(),
  basicAuth: z.strictObject({ username: z.string().min(1), passwordFile: z.string().min(1) }).optional(),
  tls: z
    .strictObject({
      caFile: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      /** The name to check the server's certificate against, when it differs from the URL's host. */
      serverName: z.string().min(1).optional(),
      /** Skip verifying the server's certificate: for a test bench only, and said so in the log. */
      insecureSkipVerify: z.boolean().default(false),
    })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together (a client certificate needs its key)', path: ['certFile'] })
    .optional(),
  headers: z
    .record(z.string(), z.string())
    .superRefine((h, ctx) => {
      for (const name of Object.keys(h)) if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a header name (letters, digits and !#$%&'*+.^_\`|~- only)` });
    })
    .optional(),
};

export interface HttpAuth {
  readonly bearerTokenFile?: string;
  readonly basicAuth?: { readonly username: string; readonly passwordFile: string };
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string; readonly serverName?: string; readonly insecureSkipVerify: boolean };
  readonly headers?: Readonly<Record<string, string>>;
}

/** Cross-field rules of an auth block, for a schema's superRefine: one credential, no header that overrides it, TLS only over https. */
export function checkHttpAuth(a: HttpAuth & { url: string }, add: (path: (string | number)[], message: string) => void): void {
  if (a.bearerTokenFile && a.basicAuth) add(['basicAuth'], 'use bearerTokenFile or basicAuth, not both');
  if ((a.bearerTokenFile || a.basicAuth) && Object.keys(a.headers ?? {}).some((h) => h.toLowerCase() === 'authorization')) add(['headers'], 'an Authorization header would replace bearerTokenFile or basicAuth; set one of them');
  if (a.tls && !a.url.startsWith('https://')) add(['tls'], 'tls needs an https:// url');
}

/**
 * A fetch for one API with its authentication: node's http/https with the TLS settings in an
 * agent (global fetch cannot take a CA without undici's internals), credentials read from their
 * files at each request, and only what SurgeGuard sends (a method, headers, a string or form
 * body, an abort signal). A file that cannot be read fails the request with the file's name.
 */
export function authenticatedFetch(auth: HttpAuth, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): typeof fetch {
  const tls = auth.tls;
  const agent = tls
    ? new HttpsAgent({
        keepAlive: true,
        ...(tls.caFile ? { ca: read(tls.caFile) } : {}),
        ...(tls.certFile ? { cert: read(tls.certFile) } : {}),
        ...(tls.keyFile ? { key: read(tls.keyFile) } : {}),
        ...(tls.serverName ? { servername: tls.serverName } : {}),
        rejectUnauthorized: !tls.insecureSkipVerify,
      })
    : undefined;
  const secret = (what: string, path: string): string => {
    try {
      return read(path).trim();
    } catch (err) {
      throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const headers: Record<string, string> = { ...(auth.headers ?? {}) };
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const credential = authorization(auth, secret);
    if (credential) headers.authorization = credential;
    const body = bodyOf(init.body, headers);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = send(url, { method: init.method ?? 'GET', headers, ...(agent && url.protocol === 'https:' ? { agent } : {}), ...(init.signal ? { signal: init.signal } : {}) }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        // A Response cannot carry a body with these statuses.
        const status = res.statusCode ?? 0;
        res.on('end', () => resolve(new Response([204, 205, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers: Object.entries(res.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])) })));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }) as typeof fetch;
}

/** The Authorization header of the configured credential, read from its file now; undefined without one. */
function authorization(auth: HttpAuth, secret: (what: string, path: string) => string): string | undefined {
  if (auth.bearerTokenFile) return `Bearer ${secret('the bearer token file', auth.bearerTokenFile)}`;
  if (auth.basicAuth) return `Basic ${Buffer.from(`${auth.basicAuth.username}:${secret('the basic auth password file', auth.basicAuth.passwordFile)}`).toString('base64')}`;
  return undefined;
}

/** A request body as a string, with its content type and length set; only what SurgeGuard sends. */
function bodyOf(body: RequestInit['body'], headers: Record<string, string>): string | undefined {
  let text: string | undefined;
  if (body instanceof URLSearchParams) {
    text = body.toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (typeof body === 'string') text = body;
  else if (body !== undefined && body !== null) throw new Error('authenticatedFetch: only string and form bodies');
  if (text !== undefined) headers['content-length'] = String(Buffer.byteLength(text));
  return text;
}
