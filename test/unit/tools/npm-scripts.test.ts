// `npm run bench` and its peers run under the system's npm, whose `node` may be older than the
// 22.19 that runs .ts files (a system Node 20 gave ERR_UNKNOWN_FILE_EXTENSION). Every script
// that runs a .ts file goes through scripts/node, which finds or installs a new enough Node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

test('every npm script that runs TypeScript or node --test starts Node through scripts/node', () => {
  const bare = Object.entries(scripts).filter(([, cmd]) => /(^|[;&|]\s*)node\s/.test(cmd) || (/\.ts\b/.test(cmd) && !cmd.startsWith('scripts/node ') && !/^(tsc|eslint)\b/.test(cmd)));
  assert.deepEqual(bare, [], 'these scripts start the system node directly');
  for (const k of ['bench', 'bench:replay', 'bench:agent', 'bench:controller', 'mutate']) assert.match(scripts[k] ?? '', /^scripts\/node /, k);
});

test('scripts/node gives Node >= 22.19 even when only the system directories are on PATH', () => {
  const v = execFileSync(join(ROOT, 'scripts/node'), ['-p', 'process.versions.node'], { env: { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' }, encoding: 'utf8' }).trim();
  const [a = 0, b = 0] = v.split('.').map(Number);
  assert.ok(a > 22 || (a === 22 && b >= 19), `scripts/node ran Node ${v}`);
});
