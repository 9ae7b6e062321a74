// The shipped rules pass `promtool check rules`, and their unit tests in rules/tests/ pass
// `promtool test rules`. A failure carries promtool's own output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, test } from 'node:test';
import { ensurePrometheusInstalled } from '../../helpers/infra/prometheus.ts';
import { ruleFiles, ruleTestFiles } from '../../helpers/rules.ts';

function promtool(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('promtool', args, { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

before(async () => {
  await ensurePrometheusInstalled();
});

test('promtool check rules accepts every rule file', async () => {
  const files = ruleFiles();
  assert.ok(files.length >= 5, `expected the rule files in rules/, found ${files.join(', ')}`);
  const r = await promtool(['check', 'rules', ...files]);
  assert.equal(r.code, 0, r.output);
});

test('promtool test rules passes every test file in rules/tests', async () => {
  const files = ruleTestFiles();
  assert.ok(files.length > 0, 'no promtool test files in rules/tests');
  const r = await promtool(['test', 'rules', ...files]);
  assert.equal(r.code, 0, r.output);
});
