import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { SurgeGuardError } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { checkModelContract } from '../../../inference/model-contract.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { defaultModelPath, loadForecaster } from '../../../inference/load.ts';
import { capturingLogger, recordingOrt } from './helpers.ts';
import { createOnnxForecaster, type OrtRuntime } from '../../../inference/onnx-forecaster.ts';

const modelPath = defaultModelPath();
const bytes = readFileSync(modelPath);
const refs = JSON.parse(readFileSync(new URL('../../../inference/models/reference-outputs.json', import.meta.url), 'utf8')) as {
  cases: { name: string; recent: number[]; seasonal: number[]; season_available: number; quantiles: number[][] }[];
};

/** Replaces text inside the model bytes with text of the same length, so protobuf framing stays valid. */
function patched(from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const at = bytes.indexOf(from);
  assert.ok(at >= 0, `${from} not in the model`);
  const out = Buffer.from(bytes);
  out.write(to, at);
  return out;
}

function modelError(fn: () => unknown): SurgeGuardError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SurgeGuardError);
    assert.equal(err.code, 'SG_MODEL_INVALID');
    return err;
  }
  assert.fail('expected SG_MODEL_INVALID');
}

test('the bundled model carries a contract that is checked on load', () => {
  const c = checkModelContract(bytes, modelPath);
  assert.equal(c.name, 'surgeguard-forecaster');
  assert.ok(c.quantiles.includes(0.5) && c.quantiles.includes(0.9));
  assert.ok(c.horizon >= 9, 'horizon reaches K+1 for the 15 s convention');
  assert.ok(c.intervalSeconds.includes(300));
});

test('contract check: wrong version, missing contract, corrupt bytes', () => {
  assert.match(modelError(() => checkModelContract(patched('"version": "1.', '"version": "9.'), 'm.onnx')).message, /m\.onnx: model contract rejected: version/);
  assert.match(modelError(() => checkModelContract(patched('surgeguard.contract', 'surgeguard.contrakt'), 'm.onnx')).message, /no surgeguard\.contract metadata/);
  const e = modelError(() => checkModelContract(bytes.subarray(0, 1000), 'm.onnx'));
  assert.equal(e.details.reason, 'corrupt');
});

test('ONNX Runtime outputs equal the reference outputs the training script computed with numpy', async () => {
  const model = await createOnnxForecaster({ ort: ort as unknown as OrtRuntime, logger: silentLogger(), readFile: (p) => readFile(p) }, { modelPath, providers: ['cpu'], minHistorySteps: 1 });
  try {
    const c = model.contract;
    const n = refs.cases.length;
    assert.ok(n >= 3);
    const recent = new Float32Array(refs.cases.flatMap((r) => r.recent));
    const seasonal = new Float32Array(refs.cases.flatMap((r) => r.seasonal));
    const avail = new Float32Array(refs.cases.map((r) => r.season_available));
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    const out = await session.run({
      recent: new ort.Tensor('float32', recent, [n, c.inputLength]),
      seasonal: new ort.Tensor('float32', seasonal, [n, c.seasonalContext + c.horizon]),
      season_available: new ort.Tensor('float32', avail, [n, 1]),
    });
    const got = out.quantiles?.data as Float32Array;
    const want = refs.cases.flatMap((r) => r.quantiles.flat());
    assert.equal(got.length, want.length);
    want.forEach((w, i) => assert.ok(Math.abs((got[i] ?? NaN) - w) <= 1e-3 + 1e-4 * Math.abs(w), `output ${i}: ${got[i]} vs ${w}`));
    await session.release();
  } finally {
    await model.close();
  }
});

test('the forecaster batches series in one run and keeps quantiles ordered', async () => {
  const model = await createOnnxForecaster({ ort: ort as unknown as OrtRuntime, logger: silentLogger(), readFile: (p) => readFile(p) }, { modelPath, providers: ['cpu'], minHistorySteps: 1 });
  try {
    const histories = Array.from({ length: 50 }, (_, i) => Float64Array.from({ length: 400 }, (_, t) => 100 + 50 * Math.sin((t + i) / 20)));
    const batch = await model.forecast({ histories, intervalSeconds: 300, horizonSteps: 3 });
    assert.equal(batch.forecasts.length, 50);
    for (const f of batch.forecasts) for (let s = 0; s < 3; s++) assert.ok(f.p10[s]! <= f.p50[s]! && f.p50[s]! <= f.p90[s]!);
    assert.equal(model.fallbackReason(400, 7, 3), 'interval');
    assert.equal(model.fallbackReason(400, 300, 13), undefined, '13 steps of 300 s are 3 steps of the 1800 s model interval');
    assert.equal(model.fallbackReason(400, 300, 288 * 13), 'horizon', 'past even the coarsest model interval');
    assert.equal(model.fallbackReason(4000, 15, 13), undefined, 'a 180 s startup at 15 s reads 60 s sums');
    assert.equal(model.fallbackReason(400, 100, 3), undefined, '300 s model steps from three 100 s intervals');
  } finally {
    await model.close();
  }
});

test('CUDA that cannot start falls back to CPU and says so', async () => {
  const tried: string[][] = [];
  const model = await createOnnxForecaster({ ort: recordingOrt(tried, 'cuda'), logger: silentLogger(), readFile: (p) => readFile(p) }, { modelPath, providers: ['cuda', 'cpu'], minHistorySteps: 1 });
  assert.deepEqual(tried, [['cuda', 'cpu'], ['cpu']]);
  assert.equal(model.provider, 'cpu');
  assert.equal(model.runsOn, 'onnxruntime cpu');
  await model.close();
});

test('without the CUDA provider library the CUDA attempt is skipped (no native error on CPU machines)', async () => {
  const tried: string[][] = [];
  const { logger, lines } = capturingLogger();
  const f = await loadForecaster({ logger, metrics: createMetricRegistry(), readFile: (p) => readFile(p), ort: recordingOrt(tried), hasCudaProvider: () => false }, { modelPath, providers: ['cuda', 'cpu'], minHistorySteps: 1 });
  assert.deepEqual(tried, [['cpu']]);
  assert.equal(f.runsOn, 'onnxruntime cpu');
  assert.ok(lines.some((l) => l.msg === 'CUDA execution provider not installed; the model runs on CPU'));
  await f.close();
});
