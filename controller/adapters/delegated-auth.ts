// Delegated authentication and authorization, as every aggregated API server (metrics-server,
// prometheus-adapter, KEDA's metrics server) does it: the kube-apiserver's front proxy
// authenticates the caller, presents its client certificate (signed by the request-header CA)
// and names the user in headers; the answer to "may this user get this metric?" comes from a
// SubjectAccessReview. The request-header settings come from the ConfigMap the API server
// publishes, kube-system/extension-apiserver-authentication.

/** The request-header settings of the API server's front proxy. */
export interface RequestHeaderConfig {
  /** PEM: the CA that signs the front proxy's client certificate. */
  readonly clientCA: string;
  /** Common names the front proxy's certificate may have; empty allows any the CA signed. */
  readonly allowedNames: readonly string[];
  readonly usernameHeaders: readonly string[];
  readonly groupHeaders: readonly string[];
}

export interface Caller {
  readonly user: string;
  readonly groups: readonly string[];
}

/** The ConfigMap's data as request-header settings; throws naming the key that is missing or malformed. */
export function requestHeaderConfig(data: Record<string, string> | undefined): RequestHeaderConfig {
  const where = 'ConfigMap kube-system/extension-apiserver-authentication';
  const ca = data?.['requestheader-client-ca-file'];
  if (!ca) throw new Error(`${where} has no requestheader-client-ca-file: the API server runs without --requestheader-client-ca-file, so it cannot proxy to aggregated APIs`);
  const list = (key: string, fallback: string[]): string[] => {
    const raw = data?.[key];
    if (raw === undefined || raw === '') return fallback;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new Error(`${where}: ${key} is not a JSON list: ${raw.slice(0, 80)}`);
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${where}: ${key} is not a list of strings`);
    return v;
  };
  return {
    clientCA: ca,
    allowedNames: list('requestheader-allowed-names', []),
    usernameHeaders: list('requestheader-username-headers', ['X-Remote-User']),
    groupHeaders: list('requestheader-group-headers', ['X-Remote-Group']),
  };
}

/**
 * The caller of a request the front proxy made, or why it is refused. `peer` is the TLS peer:
 * whether its certificate chains to the request-header CA (the server's `ca`), and its CN.
 * `headers` holds every value of each header (Node's `headersDistinct`).
 */
export function callerOf(cfg: RequestHeaderConfig, peer: { authorized: boolean; commonName: string | undefined }, headers: Readonly<Record<string, readonly string[] | undefined>>): { ok: true; caller: Caller | undefined } | { ok: false; reason: string } {
  if (!peer.authorized) return { ok: false, reason: 'no client certificate signed by the request-header CA' };
  if (cfg.allowedNames.length > 0 && !cfg.allowedNames.includes(peer.commonName ?? '')) return { ok: false, reason: `client certificate CN ${peer.commonName ?? '(none)'} is not in requestheader-allowed-names` };
  const first = (names: readonly string[]): readonly string[] => {
    for (const n of names) {
      const v = headers[n.toLowerCase()];
      if (v !== undefined) return v;
    }
    return [];
  };
  const user = first(cfg.usernameHeaders)[0];
  // The front proxy itself, probing availability, names no user.
  if (!user) return { ok: true, caller: undefined };
  // One header per group: the distinct values, not Node's comma-joined string (a group may hold a comma).
  const groups = cfg.groupHeaders.flatMap((n) => headers[n.toLowerCase()] ?? []);
  return { ok: true, caller: { user, groups } };
}

/** What a SubjectAccessReview asks. */
export interface AccessRequest {
  readonly namespace: string;
  readonly resource: string;
}

/** Asks the API server whether a caller may `get` a metric; a cache keeps each answer `ttlMs`. */
export function cachedAuthorizer(review: (c: Caller, a: AccessRequest) => Promise<boolean>, now: () => number, ttlMs = 10_000): (c: Caller, a: AccessRequest) => Promise<boolean> {
  const cache = new Map<string, { allowed: boolean; at: number }>();
  return async (c, a) => {
    const key = JSON.stringify([c.user, [...c.groups].sort(), a.namespace, a.resource]);
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.allowed;
    const allowed = await review(c, a);
    // Bounded: a flood of distinct callers must not grow it without end.
    if (cache.size >= 1000) cache.clear();
    cache.set(key, { allowed, at: now() });
    return allowed;
  };
}
