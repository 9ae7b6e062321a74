/** Parses a duration such as `15s`, `1m`, `7d` or a plain number of seconds; undefined when it is not one. */
export function parseDurationSeconds(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd' | 'w'];
  const v = Number(m[1]) * unit;
  return v > 0 ? v : undefined;
}
