// The RESULTS.md section writer: a rerun replaces only its own section, keeps the hand-written text
// around it, appends a section not yet there, and writes `$` as is (a string replacement would read
// "$&" as the matched text and paste the old section back in).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeResultsSection } from '../../../bench/results-section.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-results-'));

test('writeResultsSection replaces its own section only, appends a new one, and writes $ literally', () => {
  const file = join(dir, 'RESULTS.md');
  writeFileSync(file, '# Results\n\n<!-- a:begin -->\nold a\n<!-- a:end -->\n\nread by hand\n\n<!-- b:begin -->\nold b\n<!-- b:end -->\n');
  writeResultsSection('a', '<!-- a:begin -->\nnew a costs $& and $1\n<!-- a:end -->', { path: file });
  writeResultsSection('c', '<!-- c:begin -->\nc\n<!-- c:end -->', { path: file });
  assert.equal(readFileSync(file, 'utf8'), '# Results\n\n<!-- a:begin -->\nnew a costs $& and $1\n<!-- a:end -->\n\nread by hand\n\n<!-- b:begin -->\nold b\n<!-- b:end -->\n\n<!-- c:begin -->\nc\n<!-- c:end -->\n');
});

test('writeResultsSection hands the old section to keep, and undefined where there was none', () => {
  const file = join(dir, 'keep.md');
  writeFileSync(file, '<!-- a:begin -->\nnumbers\nReading: by hand\n<!-- a:end -->\n');
  const seen: Array<string | undefined> = [];
  const keep = (old: string | undefined): string => (seen.push(old), `<!-- x:begin -->\n${old?.match(/Reading: .*/)?.[0] ?? 'Reading: none'}\n<!-- x:end -->`.replace(/x:/g, 'a:'));
  writeResultsSection('a', 'unused', { keep, path: file });
  assert.equal(readFileSync(file, 'utf8'), '<!-- a:begin -->\nReading: by hand\n<!-- a:end -->\n');
  writeResultsSection('z', 'unused', { keep: (old) => (seen.push(old), '<!-- z:begin -->\nReading: none\n<!-- z:end -->'), path: file });
  assert.deepEqual(seen, ['<!-- a:begin -->\nnumbers\nReading: by hand\n<!-- a:end -->', undefined]);
});

test('writeResultsSection places a new section after the one named, and at the end when that one is missing', () => {
  const file = join(dir, 'after.md');
  writeFileSync(file, '<!-- llm:begin -->\nllm\n<!-- llm:end -->\n\nread by hand\n\n<!-- x:begin -->\nx\n<!-- x:end -->\n');
  writeResultsSection('live', '<!-- live:begin -->\nlive\n<!-- live:end -->', { after: 'llm', path: file });
  assert.equal(readFileSync(file, 'utf8'), '<!-- llm:begin -->\nllm\n<!-- llm:end -->\n\n<!-- live:begin -->\nlive\n<!-- live:end -->\n\nread by hand\n\n<!-- x:begin -->\nx\n<!-- x:end -->\n');
  // Once there, it is replaced in place, wherever it is.
  writeResultsSection('live', '<!-- live:begin -->\nagain\n<!-- live:end -->', { after: 'x', path: file });
  assert.match(readFileSync(file, 'utf8'), /llm:end -->\n\n<!-- live:begin -->\nagain\n<!-- live:end -->\n\nread by hand/);
  writeResultsSection('new', '<!-- new:begin -->\nn\n<!-- new:end -->', { after: 'absent', path: file });
  assert.ok(readFileSync(file, 'utf8').endsWith('<!-- x:end -->\n\n<!-- new:begin -->\nn\n<!-- new:end -->\n'));
});
