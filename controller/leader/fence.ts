import { ErrorCode, SurgeGuardError } from '../../common/errors.ts';

/** What a fence needs: the elector's answer, asked again right before each write. */
export interface FenceDeps {
  isLeader(): boolean;
  /** Told about each refused write (a log line and a counter in the controller). */
  refused(client: string, method: string): void;
}

/**
 * Wraps a client so that each of its `writes` first asks whether this replica still leads. A
 * tick checks leadership when it starts, but a tick can outlast the lease (a slow forecast, a
 * paused process, a long list): without this, a replica that another one replaced while it was
 * busy would still patch scales and cordon nodes. `isLeader()` counts the renew deadline on the
 * wall clock, so a process that was paused past it refuses at once when it resumes. Reads pass.
 * The window left is between this check and the request reaching the API server, microseconds
 * rather than a whole tick; the renew deadline (below the lease duration) covers it.
 */
export function fenceWrites<T extends object>(client: string, target: T, writes: readonly (keyof T & string)[], deps: FenceDeps): T {
  const out = { ...target };
  for (const method of writes) {
    const fn = target[method];
    if (typeof fn !== 'function') throw new Error(`fenceWrites: ${client}.${method} is not a method`);
    (out as Record<string, unknown>)[method] = (...args: unknown[]): unknown => {
      if (!deps.isLeader()) {
        deps.refused(client, method);
        return Promise.reject(new SurgeGuardError(ErrorCode.NotLeader, `${client}.${method} refused: this replica no longer holds the controller Lease`, { details: { client, method } }));
      }
      return (fn as (...a: unknown[]) => unknown).apply(target, args);
    };
  }
  return out;
}
