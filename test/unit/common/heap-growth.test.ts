// The controller's bound on V8 heap growth (common/heap-growth.ts): the flag V8 is given, the
// default, 0 for V8's own factor, and a bad value named at load. What the bound saves is measured,
// not asserted: docs/scale.md "Memory" (bench:controller-memory and bench:scale).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../common/config.ts';
import { ErrorCode } from '../../../common/errors.ts';
import { applyHeapGrowthPercent } from '../../../common/heap-growth.ts';
import { silentLogger } from '../../../common/logger.ts';
import { controllerConfigSchema } from '../../../controller/config.ts';
import { controllerConfigError } from '../../helpers/thrown.ts';

test('heap growth: the configured percent becomes V8\'s --heap-growing-percent; 0 sets nothing', () => {
  const given: string[] = [];
  applyHeapGrowthPercent(30, silentLogger(), (f) => given.push(f));
  applyHeapGrowthPercent(0, silentLogger(), (f) => given.push(f));
  assert.deepEqual(given, ['--heap-growing-percent=30']);
  assert.throws(() => applyHeapGrowthPercent(-1, silentLogger(), () => undefined), /heapGrowthPercent must be a whole number >= 0, got -1/);
});

test('heap growth: 50% by default; above 300 or fractional is a coded error naming the key', () => {
  assert.equal(loadConfig(controllerConfigSchema, {}).heapGrowthPercent, 50);
  assert.equal(loadConfig(controllerConfigSchema, { fileText: 'heapGrowthPercent: 0\n' }).heapGrowthPercent, 0);
  for (const bad of ['400', '12.5', '-5']) {
    const err = controllerConfigError(`heapGrowthPercent: ${bad}\n`);
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.match(err.message, /controller\.yaml line 1: heapGrowthPercent: /);
  }
});

test('heap growth: this Node\'s V8 knows the flag (it prints "unrecognized flag" for one it does not)', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const script = `const { applyHeapGrowthPercent } = await import('./common/heap-growth.ts'); const lines = []; applyHeapGrowthPercent(30, { info: (...a) => lines.push(a.at(-1)) }); process.stdout.write(lines.join());`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, 'V8 heap grows at most 30% past the live heap before the next full collection');
});
