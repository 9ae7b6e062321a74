/** How many entries /api/decisions and /api/remediations return when `limit` is not given. */
export const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 10_000;

/**
 * Reads the `limit` query parameter of the list endpoints. A value that is not a whole number
 * from 1 to 10,000 is refused with a message naming it: answering 100 entries to `limit=1e9` or
 * `limit=abc` would hide the caller's mistake.
 */
export function listLimit(raw: string | undefined): { limit: number } | { problem: string } {
  if (raw === undefined || raw === '') return { limit: DEFAULT_LIST_LIMIT };
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_LIST_LIMIT) return { problem: `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(raw)}` };
  return { limit: n };
}
