// Reads the line test/helpers/verdict-reporter.ts wrote and says what the closing line must:
// each skip and todo with its reason, each test whose result was lost, and a last line
// `counts PASS FAIL SKIPPED TODO LOST UNEXPLAINED` for scripts/run-tests.sh. A skip without a
// reason is unexplained and fails the run: a test that needs a real component fails when it
// cannot start it, it does not skip (docs/testing.md).
//   node test/helpers/verdict-summary.ts VERDICTS_FILE
import { readFileSync } from 'node:fs';
import type { Verdicts } from './verdict-reporter.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: verdict-summary.ts VERDICTS_FILE');
const text = readFileSync(file, 'utf8').trim();
if (!text) {
  // The runner died before its reporters finished: nothing here can be trusted.
  process.stdout.write('the test runner wrote no verdicts (it died before the end)\ncounts 0 1 0 0 0 0\n');
  process.exit(0);
}
const v = JSON.parse(text.split('\n').pop() as string) as Verdicts;
const rel = (f: string): string => f.replace(`${process.cwd()}/`, '');
const lines: string[] = [];
for (const s of v.skipped) lines.push(`skipped: ${rel(s.file)}: ${s.name}${s.reason ? ` (${s.reason})` : ' (NO REASON GIVEN: counted as failed)'}`);
for (const t of v.todo) lines.push(`todo: ${rel(t.file)}: ${t.name}${t.reason ? ` (${t.reason})` : ''}`);
for (const l of v.lost) lines.push(`began but its result never reached the runner (counted as failed): ${rel(l.file)}: ${l.name}`);
const unexplained = v.skipped.filter((s) => !s.reason).length;
process.stdout.write(`${lines.map((l) => `${l}\n`).join('')}counts ${v.pass} ${v.fail} ${v.skipped.length} ${v.todo.length} ${v.lost.length} ${unexplained}\n`);
