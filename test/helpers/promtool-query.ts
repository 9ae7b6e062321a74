// A VectorQuery answered by promtool: the real PromQL engine over recorded series, for the unit tests
// of code that sends PromQL (health checks, guard presets). promtool must be installed
// (ensurePrometheusInstalled); a test that needs it fails without it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { VectorQuery } from '../../controller/healing/types.ts';

const exec = promisify(execFile);

/**
 * A VectorQuery answered by promtool over `series` at `evalTime`. promtool prints what an
 * expression returned when it differs from the expected (nothing), so the answer is read from
 * that line; the series here use plain label values (no commas or braces) to keep it simple.
 * `ruleFiles` (absolute paths) are evaluated too, so a query may read their recorded series.
 */
export function promtool(series: Record<string, string>, evalTime: string, interval = '1m', ruleFiles: readonly string[] = []): VectorQuery & { exprs: string[] } {
  const exprs: string[] = [];
  const query = async (expr: string): Promise<Array<{ labels: Record<string, string>; value: number }>> => {
    exprs.push(expr);
    const dir = mkdtempSync(join(tmpdir(), 'sg-promql-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), 'groups: []\n');
      const test = { rule_files: ['rules.yml', ...ruleFiles], evaluation_interval: interval, tests: [{ interval, input_series: Object.entries(series).map(([s, values]) => ({ series: s, values })), promql_expr_test: [{ expr, eval_time: evalTime, exp_samples: [] }] }] };
      writeFileSync(join(dir, 'test.yml'), JSON.stringify(test));
      const out = await exec('promtool', ['test', 'rules', 'test.yml'], { cwd: dir }).then(
        () => '',
        (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
      );
      if (out === '') return [];
      const got = /got: (.*)$/m.exec(out);
      assert.ok(got, `promtool failed without a result (a bad expression?): ${out}\n${expr}`);
      return [...(got[1] ?? '').matchAll(/\{([^}]*)\} ([-+0-9.Ee]+|NaN|[-+]?Inf)/g)].map((m) => ({
        labels: Object.fromEntries([...(m[1] ?? '').matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)].map((l) => [l[1], l[2]])),
        value: Number(m[2]),
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return Object.assign(query, { exprs });
}

