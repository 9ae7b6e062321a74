// A node:test reporter for scripts/test.sh, beside the spec reporter: it writes one JSON line
// with what the closing line needs and the spec output cannot say reliably. `began` is every
// test the runner dequeued (a test without subtests has no "▶" line in the spec output, so the
// old check could not see it); `ended` the ones that completed. A test that began and never
// ended lost its result (nodejs/node#64833). Skips and todos are listed with their reasons so a
// skipped test can no longer leave the closing line green.
import type { TestEvent } from 'node:test/reporters';

export interface Verdicts {
  pass: number;
  fail: number;
  skipped: Array<{ file: string; name: string; reason: string | null }>;
  todo: Array<{ file: string; name: string; reason: string | null }>;
  lost: Array<{ file: string; name: string }>;
}

type Data = { name: string; nesting: number; file?: string; skip?: string | boolean; todo?: string | boolean };

export default async function* verdictReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const began = new Map<string, { file: string; name: string; n: number }>();
  const ended = new Map<string, number>();
  const v: Verdicts = { pass: 0, fail: 0, skipped: [], todo: [], lost: [] };
  for await (const e of source) {
    const d = (e as { data?: Data }).data;
    if (!d || typeof d.name !== 'string') continue;
    const file = d.file ?? '';
    const key = `${file}\u0000${d.nesting}\u0000${d.name}`;
    if (e.type === 'test:dequeue') {
      const b = began.get(key) ?? { file, name: d.name, n: 0 };
      b.n++;
      began.set(key, b);
    } else if (e.type === 'test:complete') {
      ended.set(key, (ended.get(key) ?? 0) + 1);
    } else if (e.type === 'test:pass' || e.type === 'test:fail') {
      const reason = (x: string | boolean | undefined): string | null => (typeof x === 'string' && x.trim() ? x : null);
      if (d.skip !== undefined && d.skip !== false) v.skipped.push({ file, name: d.name, reason: reason(d.skip) });
      else if (d.todo !== undefined && d.todo !== false) v.todo.push({ file, name: d.name, reason: reason(d.todo) });
      else if (e.type === 'test:pass') v.pass++;
      else v.fail++;
    }
  }
  for (const [key, b] of began) if ((ended.get(key) ?? 0) < b.n) v.lost.push({ file: b.file, name: b.name });
  yield `${JSON.stringify(v)}\n`;
}
