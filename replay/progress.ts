/** Draws a one-line progress bar on a terminal; does nothing elsewhere (logs and pipes stay clean). */
export function createProgressBar(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, label: string): { update(done: number, total: number): void; end(): void } {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  let last = -1;
  return {
    update(done, total) {
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      if (pct === last) return;
      last = pct;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 30));
      const fill = Math.round((width * pct) / 100);
      stream.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${done}/${total}`);
    },
    end() {
      if (last >= 0) stream.write('\r\x1b[K');
    },
  };
}
