// The package as users get it: packed, installed without dev dependencies, run through its
// `bin`. This is the same script the Dockerfile runs, so the image cannot drift from it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, run } from '../helpers/infra/process.ts';

test('npm pack, install with --omit=dev, and run surgeguard --help from the installed package', async () => {
  const dest = mkdtempSync(join(tmpdir(), 'sg-pack-'));
  try {
    const bin = (await run('bash', [join(REPO_ROOT, 'scripts/pack-install.sh'), dest])).trim().split('\n').pop() ?? '';
    assert.ok(existsSync(bin), `no installed bin at ${bin}`);
    // Dev-only packages must not be installed alongside.
    assert.equal(existsSync(join(dest, 'node_modules/typescript')), false);
    assert.ok(existsSync(join(dest, 'node_modules/surgeguard/dist/cli/surgeguard.js')));
    assert.equal(existsSync(join(dest, 'node_modules/surgeguard/cli/surgeguard.ts')), false, 'sources must not ship; dist/ does');
    const help = await run(bin, ['--help']);
    assert.match(help, /^Usage: surgeguard <command>/);
    assert.match(help, /\bversion\b/);
    const version = await run(bin, ['version']);
    assert.match(version, /^surgeguard \d+\.\d+\.\d+/);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});
