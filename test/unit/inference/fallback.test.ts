import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMetricRegistry, type MetricRegistry } from '../../../common/metrics.ts';
import { silentLogger } from '../../../common/logger.ts';
import { replayDemand } from '../../../replay/replay.ts';
import { parseTrace } from '../../../replay/trace.ts';
import { DEFAULT_POLICY_SETTINGS } from '../../../controller/scaling/policy.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import { defaultModelPath, loadForecaster } from '../../../inference/load.ts';
import type { OnnxForecaster } from '../../../inference/onnx-forecaster.ts';
import { createResilientForecaster, FALLBACK_METRIC } from '../../../inference/resilient-forecaster.ts';
import { capturingLogger } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-model-'));
const good = readFileSync(defaultModelPath());
const trace = parseTrace(readFileSync(fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url)), 'utf8'), {
  file: 'aapl.csv',
  timeColumn: 'timestamp',
  valueColumn: 'value',
  fill: 'previous',
}).demand.slice(0, 400);

function badModel(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function wrongContract(): Buffer {
  const out = Buffer.from(good);
  // Same length, different meaning: the quantiles no longer include 0.9.
  const at = out.indexOf('0.9]');
  out.write('0.8]', at);
  return out;
}

async function counted(metrics: MetricRegistry, reason: string): Promise<number> {
  const { body } = await metrics.render();
  const m = new RegExp(`^${FALLBACK_METRIC}\\{reason="${reason}"\\} (\\d+)`, 'm').exec(body);
  return Number(m?.[1] ?? 0);
}

const models: { reason: string; path: () => string; log: RegExp }[] = [
  { reason: 'missing', path: () => join(dir, 'does-not-exist.onnx'), log: /cannot read model/ },
  { reason: 'corrupt', path: () => badModel('corrupt.onnx', good.subarray(0, 5000)), log: /not a readable ONNX model|cannot load the model/ },
  { reason: 'contract', path: () => badModel('wrong.onnx', wrongContract()), log: /model contract rejected: quantiles/ },
];

for (const m of models) {
  test(`a ${m.reason} model: a clear log line, a counter, fallback forecasts and a completed replay`, async () => {
    const { logger, lines } = capturingLogger();
    const metrics = createMetricRegistry();
    const forecaster = await loadForecaster({ logger, metrics, readFile: (p) => readFile(p) }, { modelPath: m.path(), providers: ['cpu'], minHistorySteps: 12 });
    const error = lines.find((l) => l.msg === 'forecasting model unavailable; the Holt-Winters fallback forecasts every series');
    assert.ok(error, JSON.stringify(lines));
    assert.equal(error.level, 'error');
    assert.equal(error.reason, m.reason);
    assert.match(String(error.err), m.log);
    const result = await replayDemand(
      { forecaster, comparisons: [] },
      trace,
      { intervalSeconds: 300, capacity: 20, startupSteps: 1, minReplicas: 1, maxReplicas: 10000, settings: DEFAULT_POLICY_SETTINGS },
      false,
    );
    assert.equal(result.run.targets.length, trace.length);
    assert.deepEqual(Object.keys(result.run.sources), [`holt-winters (fallback: ${m.reason})`]);
    assert.equal(await counted(metrics, m.reason), trace.length);
    assert.ok(lines.some((l) => l.level === 'warn' && l.reason === m.reason && String(l.msg).startsWith('forecast fallback')));
    await forecaster.close();
  });
}

test('a model that throws at run time: the batch goes to the fallback, counted as error', async () => {
  const { logger, lines } = capturingLogger();
  const metrics = createMetricRegistry();
  const throwing = {
    name: 'onnx',
    runsOn: 'onnxruntime cpu',
    version: 'test',
    fallbackReason: () => undefined,
    forecast: () => Promise.reject(new Error('CUDA error: an illegal memory access')),
    close: () => Promise.resolve(),
  } as unknown as OnnxForecaster;
  const f = createResilientForecaster({ logger, metrics }, { primary: throwing, fallback: createHoltWintersForecaster() });
  const out = await f.forecast({ histories: [trace, trace.slice(0, 100)], intervalSeconds: 300, horizonSteps: 2 });
  assert.deepEqual(out.sources, ['holt-winters (fallback: error)', 'holt-winters (fallback: error)']);
  assert.equal(await counted(metrics, 'error'), 2);
  assert.ok(lines.some((l) => /illegal memory access/.test(String(l.msg))));
});

test('too little history or a horizon past every model interval: those series fall back, the rest use the model', async () => {
  const metrics = createMetricRegistry();
  const f = await loadForecaster({ logger: silentLogger(), metrics, readFile: (p) => readFile(p) }, { modelPath: defaultModelPath(), providers: ['cpu'], minHistorySteps: 12 });
  const out = await f.forecast({ histories: [trace, trace.slice(0, 5)], intervalSeconds: 300, horizonSteps: 2 });
  assert.deepEqual(out.sources, ['onnx', 'holt-winters (fallback: history)']);
  assert.equal(await counted(metrics, 'history'), 1);
  // 40 steps of 300 s are 7 steps of the model's 1800 s interval: the model answers from 30-minute sums.
  const coarse = await f.forecast({ histories: [trace], intervalSeconds: 300, horizonSteps: 40 });
  assert.deepEqual(coarse.sources, ['onnx@1800s']);
  assert.equal(coarse.forecasts[0]?.p50.length, 40);
  // Past 12 days even the daily model interval cannot reach: only then the fallback answers.
  const long = await f.forecast({ histories: [trace], intervalSeconds: 300, horizonSteps: 288 * 13 });
  assert.deepEqual(long.sources, ['holt-winters (fallback: horizon)']);
  assert.equal(long.forecasts[0]?.p50.length, 288 * 13);
  assert.equal(await counted(metrics, 'horizon'), 1);
  await f.close();
});
