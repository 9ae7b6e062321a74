/**
 * Decides whether a repeated warning is logged. A collector that fails every 2 to 5 seconds for
 * an hour would otherwise write a thousand identical lines; an operator needs the first one,
 * then a reminder now and then with how many were left out.
 */
export interface RepeatLimiter {
  /**
   * Records one occurrence of `key` at `nowMs`. Returns undefined when it should not be logged,
   * or how many occurrences of this key were left out since the last logged one.
   */
  hit(key: string, nowMs: number): { readonly suppressed: number } | undefined;
  /** Forgets every key that starts with `prefix` (the condition ended), so its next occurrence logs at once. */
  reset(prefix: string): number;
}

/** A limiter that logs a key's first occurrence, then at most once per `intervalMillis`. */
export function createRepeatLimiter(intervalMillis: number): RepeatLimiter {
  const seen = new Map<string, { lastLoggedMs: number; suppressed: number }>();
  return {
    hit(key, nowMs) {
      const s = seen.get(key);
      if (!s) {
        seen.set(key, { lastLoggedMs: nowMs, suppressed: 0 });
        return { suppressed: 0 };
      }
      if (nowMs - s.lastLoggedMs < intervalMillis) {
        s.suppressed++;
        return undefined;
      }
      const suppressed = s.suppressed;
      s.lastLoggedMs = nowMs;
      s.suppressed = 0;
      return { suppressed };
    },
    reset(prefix) {
      let total = 0;
      for (const [k, s] of seen) {
        if (!k.startsWith(prefix)) continue;
        total += s.suppressed;
        seen.delete(k);
      }
      return total;
    },
  };
}
