import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { silentLogger } from '../../../common/logger.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import { cudaProviderInstalled, defaultModelPath, loadForecaster, loadPolicyForecaster, type LoadForecasterDeps } from '../../../inference/load.ts';
import type { OrtRuntime } from '../../../inference/onnx-forecaster.ts';
import { FALLBACK_METRIC } from '../../../inference/resilient-forecaster.ts';
import { capturingLogger, recordingOrt } from './helpers.ts';

// Which execution providers the loader asks ONNX Runtime for, and which forecaster a policy gets.
// The sessions are real CPU sessions of the shipped model; only the provider list is recorded.

const history = Array.from({ length: 600 }, (_, i) => 100 + 30 * Math.sin(i / 20));
const cudaNotInstalled = /CUDA execution provider not installed/;

test('the shipped model is found beside the sources', () => {
  const p = defaultModelPath();
  assert.ok(p.endsWith('inference/models/surgeguard-forecaster.onnx'), p);
  assert.ok(existsSync(p));
});

test('the CUDA provider library is looked for in the folder that holds the CPU binding of this onnxruntime-node', () => {
  // If an upgrade moved the binding (another napi folder), the check would say "not installed" on
  // every GPU machine; this fails instead.
  const bin = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin/napi-v6', process.platform, process.arch);
  assert.ok(existsSync(join(bin, 'onnxruntime_binding.node')), `no binding in ${bin}`);
  assert.equal(cudaProviderInstalled(), existsSync(join(bin, 'libonnxruntime_providers_cuda.so')));
});

test('CUDA is asked for first only when it was asked for and its provider library is installed', async () => {
  const cases: { providers: ('cuda' | 'cpu')[]; installed: boolean; want: string[]; runsOn: string; saysNotInstalled: boolean }[] = [
    { providers: ['cuda', 'cpu'], installed: true, want: ['cuda', 'cpu'], runsOn: 'onnxruntime cuda', saysNotInstalled: false },
    { providers: ['cuda', 'cpu'], installed: false, want: ['cpu'], runsOn: 'onnxruntime cpu', saysNotInstalled: true },
    { providers: ['cpu'], installed: true, want: ['cpu'], runsOn: 'onnxruntime cpu', saysNotInstalled: false },
    { providers: ['cpu'], installed: false, want: ['cpu'], runsOn: 'onnxruntime cpu', saysNotInstalled: false },
  ];
  for (const c of cases) {
    const asked: string[][] = [];
    const { logger, lines } = capturingLogger();
    const f = await loadForecaster({ logger, metrics: createMetricRegistry(), readFile: (p) => readFile(p), ort: recordingOrt(asked), hasCudaProvider: () => c.installed }, { modelPath: defaultModelPath(), providers: c.providers, minHistorySteps: 12 });
    const label = JSON.stringify(c);
    assert.deepEqual(asked[0], c.want, label);
    assert.equal(f.runsOn, c.runsOn, label);
    assert.equal(lines.some((l) => cudaNotInstalled.test(String(l.msg))), c.saysNotInstalled, label);
    const out = await f.forecast({ histories: [history], intervalSeconds: 300, horizonSteps: 2 });
    assert.deepEqual(out.sources, ['onnx'], label);
    await f.close();
  }
});

test('a CPU-only load never asks whether the CUDA provider is installed', async () => {
  let askedInstalled = 0;
  const f = await loadForecaster(
    {
      logger: silentLogger(),
      metrics: createMetricRegistry(),
      readFile: (p) => readFile(p),
      ort: recordingOrt([]),
      hasCudaProvider: () => {
        askedInstalled++;
        return true;
      },
    },
    { modelPath: defaultModelPath(), providers: ['cpu'], minHistorySteps: 12 },
  );
  assert.equal(askedInstalled, 0);
  await f.close();
});

test('a broken native addon is a fallback with reason "error", not a crash', async () => {
  const metrics = createMetricRegistry();
  const { logger, lines } = capturingLogger();
  const deps = {
    logger,
    metrics,
    readFile: (p: string) => readFile(p),
    // The addon fails as it is loaded, before any model is read: a plain Error, not SurgeGuard's.
    get ort(): OrtRuntime {
      throw new Error('onnxruntime_binding.node: undefined symbol');
    },
  } satisfies LoadForecasterDeps;
  const f = await loadForecaster(deps, { modelPath: defaultModelPath(), providers: ['cpu'], minHistorySteps: 12 });
  const out = await f.forecast({ histories: [history], intervalSeconds: 300, horizonSteps: 2 });
  assert.deepEqual(out.sources, ['holt-winters (fallback: error)']);
  const { body } = await metrics.render();
  assert.match(body, new RegExp(`^${FALLBACK_METRIC}\\{reason="error"\\} 1$`, 'm'));
  const logged = lines.find((l) => /forecasting model unavailable/.test(String(l.msg)));
  assert.equal(logged?.reason, 'error');
  assert.match(String(logged?.err), /undefined symbol/);
  await f.close();
});

test('the policy forecaster: holt-winters reads no model; model loads the model with its fallback', async () => {
  const read: string[] = [];
  const deps: LoadForecasterDeps = {
    logger: silentLogger(),
    metrics: createMetricRegistry(),
    readFile: (p) => {
      read.push(p);
      return Promise.resolve(new Uint8Array(readFileSync(p)));
    },
    ort: recordingOrt([]),
    hasCudaProvider: () => false,
  };
  const config = { modelPath: defaultModelPath(), providers: ['cpu'] as const, minHistorySteps: 12 };
  const hw = await loadPolicyForecaster(deps, { ...config, forecaster: 'holt-winters' });
  assert.deepEqual(read, []);
  assert.equal(hw.name, createHoltWintersForecaster().name);
  assert.deepEqual((await hw.forecast({ histories: [history], intervalSeconds: 300, horizonSteps: 2 })).sources, [hw.name]);
  await hw.close();

  const model = await loadPolicyForecaster(deps, { ...config, forecaster: 'model' });
  assert.deepEqual(read, [fileURLToPath(new URL('../../../inference/models/surgeguard-forecaster.onnx', import.meta.url))]);
  assert.equal(model.name, `onnx+${hw.name}`);
  assert.deepEqual((await model.forecast({ histories: [history], intervalSeconds: 300, horizonSteps: 2 })).sources, ['onnx']);
  await model.close();
});
