import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, SurgeGuardError } from '../common/errors.ts';

/** Says whether an `Authorization` header carries the expected bearer token. */
export type BearerCheck = (authorization: string | undefined) => boolean;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Builds the check for one token. Both sides are hashed first so that timingSafeEqual compares
 * equal lengths: neither the token's content nor its length leaks through the response time.
 */
export function bearerCheck(token: string): BearerCheck {
  const want = digest(token);
  return (authorization) => {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    // Hashed even when absent, so a missing header costs the same as a wrong one.
    return timingSafeEqual(digest(m?.[1] ?? ''), want) && m !== null;
  };
}

/**
 * Reads the token file once at start (a Secret mounted as a file; rotating it needs a restart
 * of the agent). A missing or empty file is a coded error naming the key and the path.
 */
export function loadBearerCheck(path: string, readFile: (p: string) => string): BearerCheck {
  let text: string;
  try {
    text = readFile(path);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new SurgeGuardError(ErrorCode.ConfigUnreadable, `metricsAuth.bearerTokenFile: cannot read ${path} (${errno})`, { cause, details: { key: 'metricsAuth.bearerTokenFile', path } });
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token)) {
    throw new SurgeGuardError(ErrorCode.ConfigInvalid, `metricsAuth.bearerTokenFile: ${path} must hold one token without spaces (it is ${token === '' ? 'empty' : 'several words'})`, { details: { key: 'metricsAuth.bearerTokenFile', path } });
  }
  return bearerCheck(token);
}
