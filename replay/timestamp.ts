/**
 * Parses a trace timestamp to epoch seconds: epoch seconds, or ISO 8601 / `YYYY-mm-dd[ HH:MM:SS[.fraction]]`.
 * A timestamp without a zone is UTC, never the machine's local zone (Date.parse would use local time
 * for the space-separated form). Returns undefined when the text is not a timestamp.
 */
export function parseTimestamp(text: string): number | undefined {
  const s = text.trim();
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) return Number(s);
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  const check = new Date(ms);
  // Date.UTC rolls 2015-02-30 over to March; a calendar date that does not exist is an error.
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 60) return undefined;
  return ms / 1000 + (frac ? Number(`0.${frac}`) : 0) - zoneOffsetSeconds(zone);
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

function zoneOffsetSeconds(zone: string | undefined): number {
  if (!zone || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || '0') * 60);
}

/** Formats epoch seconds as ISO 8601 in UTC, with milliseconds only when there are any. */
export function formatTimestamp(epochSeconds: number): string {
  const iso = new Date(Math.round(epochSeconds * 1000)).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}
