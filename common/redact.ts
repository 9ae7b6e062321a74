/** The longest piece of user input an error message quotes; the rest is cut and counted. */
export const MAX_ECHOED_CHARS = 64;

// scheme://[user[:pass]@]host[:port][/path][?query][#fragment], up to the next space or quote.
const URL_IN_TEXT = /\b([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:[^\s"'@/?#]*@)?([^\s"'/?#]*)([^\s"']*)/g;

/**
 * Replaces every URL in `text` with its scheme and host. Webhook URLs carry their secret in the
 * path (Slack's /services/T.../B.../<token>) or in credentials, so an error or log line that
 * quotes a URL must not quote more than where it points.
 */
export function redactUrls(text: string): string {
  return text.replace(URL_IN_TEXT, (_m, scheme: string, host: string, rest: string) => `${scheme}://${host}${rest.length > 0 ? '/<redacted>' : ''}`);
}

/** Cuts `text` to `max` characters, saying how many were left out, so one huge value cannot flood a log. */
export function cut(text: string, max: number = MAX_ECHOED_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}...(${text.length - max} more characters)` : text;
}

/** What an error message may quote of a user's value: URLs redacted, then cut. */
export function echo(text: string, max: number = MAX_ECHOED_CHARS): string {
  return cut(redactUrls(text), max);
}

/**
 * A value meant to be a URL, redacted even when it is malformed (no scheme: `hooks.example.com/T/B/token`):
 * credentials dropped, nothing after the host kept.
 */
export function redactUrlValue(value: string): string {
  const m = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*:)?\/\/)?(?:[^/?#@]*@)?([^/?#]*)(.*)$/s.exec(value);
  if (!m) return '<redacted>';
  const [, scheme = '', host = '', rest = ''] = m;
  return `${scheme ? `${scheme}//` : ''}${host}${rest.length > 0 ? '/<redacted>' : ''}`;
}
