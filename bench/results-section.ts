// Writes one generated section of bench/RESULTS.md. Each benchmark owns the text between its
// `<!-- NAME:begin` and `<!-- NAME:end -->` markers and nothing else, so the hand-written reading
// between sections survives a rerun; a section not there yet is appended at the end.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_PATH = join(fileURLToPath(new URL('..', import.meta.url)), 'bench/RESULTS.md');

/**
 * Replaces section `name` with `md` (which carries both markers). `keep` gets the section as it was
 * (undefined when absent) and returns the text to write instead, for sections that carry over a
 * hand-written paragraph. The replacement is a function, so a `$` in the text is written as is.
 */
export function writeResultsSection(name: string, md: string, keep?: (old: string | undefined) => string, path: string = RESULTS_PATH): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n\n';
  const re = new RegExp(`<!-- ${name}:begin[\\s\\S]*<!-- ${name}:end -->`);
  const section = keep ? keep(re.exec(old)?.[0]) : md;
  writeFileSync(path, re.test(old) ? old.replace(re, () => section) : `${old.trimEnd()}\n\n${section}\n`);
}
