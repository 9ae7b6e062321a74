import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { defaultModelPath } from '../../../inference/load.ts';
import { checkModelContract } from '../../../inference/model-contract.ts';
import { modelInputs } from '../../../inference/onnx-forecaster.ts';

/** Written by inference/training/train.py: what its window() builds after summing each history into model intervals. */
interface Golden {
  readonly model_version: string;
  readonly inputLength: number;
  readonly seasonalContext: number;
  readonly horizon: number;
  readonly histories: Record<string, number[]>;
  readonly cases: readonly {
    readonly history: string;
    readonly intervalSeconds: number;
    readonly factor: number;
    readonly recent: number[];
    readonly seasonal: number[];
    readonly season_available: number;
  }[];
}

const golden = JSON.parse(readFileSync(new URL('../../../inference/models/golden-inputs.json', import.meta.url), 'utf8')) as Golden;
const modelPath = defaultModelPath();
const contract = checkModelContract(readFileSync(modelPath), modelPath);

/** float32-exact, or within 1e-6 relative. */
function assertClose(got: ArrayLike<number>, want: readonly number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    assert.ok(g === Math.fround(w) || Math.abs(g - w) <= 1e-6 * Math.abs(w), `${what}[${i}]: ${g} vs ${w}`);
  }
}

test('golden inputs were written for the bundled model', () => {
  assert.equal(golden.model_version, contract.version);
  assert.deepEqual([golden.inputLength, golden.seasonalContext, golden.horizon], [contract.inputLength, contract.seasonalContext, contract.horizon]);
});

test('golden inputs cover the required (interval, factor) pairs and edge cases', () => {
  const pairs = new Set(golden.cases.map((c) => `${c.intervalSeconds}x${c.factor}`));
  for (const p of ['300x1', '15x4', '600x3']) assert.ok(pairs.has(p), `pair ${p}`);
  const lengths = Object.values(golden.histories).map((h) => h.length);
  assert.ok(lengths.some((n) => n >= 3000), 'a long real excerpt');
  assert.ok(lengths.some((n) => n < contract.inputLength), 'a history shorter than the input length');
  assert.ok(Object.values(golden.histories).some((h) => h.length > 0 && h.every((v) => v === 0)), 'all zeros');
  assert.ok(golden.cases.some((c) => c.season_available === 0) && golden.cases.some((c) => c.season_available === 1));
});

test('modelInputs builds exactly the inputs train.py builds, one batch per (interval, factor)', () => {
  const groups = new Map<string, Golden['cases'][number][]>();
  for (const c of golden.cases) {
    const key = `${c.intervalSeconds}x${c.factor}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const { inputLength: L, seasonalContext: C, horizon: H } = contract;
  for (const [key, cases] of groups) {
    const histories = cases.map((c) => Float64Array.from(golden.histories[c.history] ?? assert.fail(`no history ${c.history}`)));
    const first = cases[0]!;
    const got = modelInputs(histories, { contract, intervalSeconds: first.intervalSeconds, factor: first.factor });
    cases.forEach((c, i) => {
      const what = `${c.history} at ${key}`;
      assertClose(got.recent.subarray(i * L, (i + 1) * L), c.recent, `${what} recent`);
      assertClose(got.seasonal.subarray(i * (C + H), (i + 1) * (C + H)), c.seasonal, `${what} seasonal`);
      assert.equal(got.seasonAvailable[i], c.season_available, `${what} season_available`);
    });
  }
});
