import { ErrorCode, SurgeGuardError, errorMessage } from '../common/errors.ts';

/** What a server's listen() needs. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `HOST:PORT` (or `[v6]:PORT`) given as `what` (a flag, or a config key); a missing host is
 * 0.0.0.0. A port outside 0..65535 is a usage error naming `what`, before anything starts.
 */
export function parseListen(what: string, value: string): ListenAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]*):(\d+)$/.exec(value);
  if (!m) throw new SurgeGuardError(ErrorCode.UsageInvalid, `${what} must be HOST:PORT (or [IPv6]:PORT), got "${value}"`, { details: { what, value } });
  const port = Number(m[2]);
  if (port > 65535) throw new SurgeGuardError(ErrorCode.UsageInvalid, `${what} "${value}": port ${m[2]} is not a TCP port (0 to 65535; 0 picks a free one)`, { details: { what, value } });
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** Why listen() failed, in words, for the errors a user can fix. */
const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another process listens there; pick another port, or 0 for any free one)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s',
  ENOTFOUND: 'the host name does not resolve',
};

/**
 * Starts a server on `address` (from `what`, a flag or config key) and returns its URL. A failure is
 * one coded error naming `what` and the address, with the cause kept.
 */
export async function listenOn(server: { listen(o: { host: string; port: number }): Promise<string> }, what: string, address: ListenAddress): Promise<string> {
  try {
    return await server.listen({ host: address.host, port: address.port });
  } catch (cause) {
    const code = (cause as { code?: string }).code ?? '';
    const why = LISTEN_ERRORS[code] ?? errorMessage(cause);
    throw new SurgeGuardError(ErrorCode.ListenFailed, `cannot listen on ${address.host}:${address.port} (${what}): ${why}`, { cause, details: { what, host: address.host, port: address.port } });
  }
}
