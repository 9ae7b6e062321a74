// Writes one generated section of bench/RESULTS.md. Each benchmark owns the text between its
// `<!-- NAME:begin` and `<!-- NAME:end -->` markers and nothing else, so the hand-written reading
// between sections survives a rerun; a section not there yet is appended at the end.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_PATH = join(fileURLToPath(new URL('..', import.meta.url)), 'bench/RESULTS.md');

/** How a section is written: see writeResultsSection. */
export interface SectionOptions {
  /** Gets the section as it was (undefined when absent) and returns the text to write instead, for sections that carry over a hand-written paragraph. */
  keep?: (old: string | undefined) => string;
  /** A section not there yet goes right after this one's end marker, when that is there (at the end otherwise). */
  after?: string;
  path?: string;
}

/**
 * Replaces section `name` with `md` (which carries both markers). The replacement is a function,
 * so a `$` in the text is written as is.
 */
export function writeResultsSection(name: string, md: string, opts: SectionOptions = {}): void {
  const path = opts.path ?? RESULTS_PATH;
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n\n';
  const re = new RegExp(`<!-- ${name}:begin[\\s\\S]*<!-- ${name}:end -->`);
  const section = opts.keep ? opts.keep(re.exec(old)?.[0]) : md;
  const afterEnd = opts.after === undefined ? undefined : `<!-- ${opts.after}:end -->`;
  const placed = re.test(old) ? old.replace(re, () => section) : afterEnd && old.includes(afterEnd) ? old.replace(afterEnd, () => `${afterEnd}\n\n${section}`) : `${old.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, placed);
}
