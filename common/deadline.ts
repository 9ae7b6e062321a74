import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for `work` at most `ms`; resolves true when it settled in time, false otherwise.
 * Shutdown uses it so that one request stuck on a half-dead connection can never keep the
 * process past its termination grace period: what did not finish is logged and left behind.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  const done = work.then(
    () => true,
    () => true,
  );
  const late = sleep(ms, false, { signal: timer.signal }).catch(() => false);
  const inTime = await Promise.race([done, late]);
  timer.abort();
  return inTime;
}
