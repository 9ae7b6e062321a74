import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetricRegistry, type MetricRegistry } from '../../../common/metrics.ts';
import type { ForecastRequest, Forecaster } from '../../../inference/forecaster.ts';
import type { FallbackReason, OnnxForecaster } from '../../../inference/onnx-forecaster.ts';
import { createResilientForecaster, FALLBACK_METRIC } from '../../../inference/resilient-forecaster.ts';
import { capturingLogger } from './helpers.ts';
import { flatForecast } from '../../helpers/forecasts.ts';

// The model for every series it can take, the fallback for the rest: who answers which series,
// what is counted and what is logged. Both forecasters are stand-ins (pure routing logic); the
// real model and Holt-Winters behind it are tested in fallback.test.ts.

/** A forecast whose every value is `v`, so the test can tell who answered a series. */

interface Recorded {
  requests: ForecastRequest[];
  closed: number;
}

/** Answers each series with its history's last value plus `add`; names its sources unless `silent`. */
function standInFallback(add: number, silent = false): Forecaster & Recorded {
  const r: Recorded = { requests: [], closed: 0 };
  return Object.assign(r, {
    name: 'hw',
    runsOn: 'typescript',
    version: 'hw-1',
    forecast: (req: ForecastRequest) => {
      r.requests.push(req);
      return Promise.resolve({ forecasts: req.histories.map((h) => flatForecast((h[h.length - 1] ?? 0) + add, { steps: req.horizonSteps })), sources: silent ? [] : req.histories.map(() => 'hw') });
    },
    close: () => {
      r.closed++;
      return Promise.resolve();
    },
  });
}

/** A model that sends histories shorter than 10 to the fallback ('history'), horizons past 5 ('horizon'), 7 s intervals ('interval'). */
function standInModel(opts: { throws?: Error } = {}): OnnxForecaster & Recorded {
  const r: Recorded = { requests: [], closed: 0 };
  return Object.assign(r, {
    name: 'onnx',
    runsOn: 'onnxruntime cpu',
    version: 'm@1.2.0',
    provider: 'cpu',
    contract: {} as OnnxForecaster['contract'],
    fallbackReason: (length: number, interval: number, horizon: number): FallbackReason | undefined => (interval === 7 ? 'interval' : horizon > 5 ? 'horizon' : length < 10 ? 'history' : undefined),
    forecast: (req: ForecastRequest) => {
      r.requests.push(req);
      if (opts.throws) return Promise.reject(opts.throws);
      return Promise.resolve({ forecasts: req.histories.map((h) => flatForecast(h[h.length - 1] ?? 0, { steps: req.horizonSteps })), sources: req.histories.map(() => 'onnx') });
    },
    close: () => {
      r.closed++;
      return Promise.resolve();
    },
  });
}

async function counted(metrics: MetricRegistry): Promise<Record<string, number>> {
  const { body } = await metrics.render();
  return Object.fromEntries([...body.matchAll(new RegExp(`^${FALLBACK_METRIC}\\{reason="(\\w*)"\\} (\\d+)$`, 'gm'))].map((m) => [m[1], Number(m[2])]));
}

const h = (length: number, last: number): number[] => [...new Array<number>(length - 1).fill(1), last];

test('each series goes to the model or, with its reason, to the fallback, and comes back in its place', async () => {
  const metrics = createMetricRegistry();
  const { logger, lines } = capturingLogger();
  const model = standInModel();
  const fallback = standInFallback(1000);
  const f = createResilientForecaster({ logger, metrics }, { primary: model, fallback });
  assert.equal(f.name, 'onnx+hw');
  assert.equal(f.version, 'm@1.2.0');
  const out = await f.forecast({ histories: [h(20, 1), h(3, 2), h(20, 3), h(4, 4)], intervalSeconds: 60, horizonSteps: 2 });
  assert.deepEqual(out.sources, ['onnx', 'hw (fallback: history)', 'onnx', 'hw (fallback: history)']);
  assert.deepEqual(out.forecasts.map((x) => x.p50[0]), [1, 1002, 3, 1004]);
  assert.deepEqual(model.requests.map((r) => r.histories.length), [2]);
  assert.deepEqual(fallback.requests.map((r) => r.histories.length), [2]);
  assert.deepEqual(await counted(metrics), { history: 2 });
  // Each reason is logged once with its own words, however often it recurs; every series is counted.
  await f.forecast({ histories: [h(3, 5)], intervalSeconds: 60, horizonSteps: 2 });
  await f.forecast({ histories: [h(20, 6)], intervalSeconds: 60, horizonSteps: 9 });
  await f.forecast({ histories: [h(20, 7), h(20, 8)], intervalSeconds: 7, horizonSteps: 2 });
  assert.deepEqual(await counted(metrics), { history: 3, horizon: 1, interval: 2 });
  const warned = lines.filter((l) => l.level === 'warn').map((l) => [l.reason, l.msg]);
  assert.deepEqual(warned, [
    ['history', 'forecast fallback: too little history for the model'],
    ['horizon', "forecast fallback: the model's horizon does not reach 9 intervals (pod startup)"],
    ['interval', 'forecast fallback: the model has no interval that 7s divides'],
  ]);
  // No series for the model: the model is not run at all.
  assert.equal(model.requests.length, 1);
  await f.close();
  assert.deepEqual([model.closed, fallback.closed], [1, 1]);
});

test('a model that throws: its series go to the fallback as "error", logged once with the cause', async () => {
  const metrics = createMetricRegistry();
  const { logger, lines } = capturingLogger();
  const f = createResilientForecaster({ logger, metrics }, { primary: standInModel({ throws: new Error('CUDA error: an illegal memory access') }), fallback: standInFallback(1000) });
  const out = await f.forecast({ histories: [h(20, 1), h(3, 2), h(20, 3)], intervalSeconds: 60, horizonSteps: 2 });
  assert.deepEqual(out.sources, ['hw (fallback: error)', 'hw (fallback: history)', 'hw (fallback: error)']);
  assert.deepEqual(out.forecasts.map((x) => x.p50[0]), [1001, 1002, 1003]);
  assert.deepEqual(await counted(metrics), { error: 2, history: 1 });
  const warned = lines.filter((l) => l.level === 'warn').map((l) => [l.reason, l.msg]);
  assert.deepEqual(warned, [
    ['error', 'forecast fallback: model run failed: CUDA error: an illegal memory access'],
    ['history', 'forecast fallback: too little history for the model'],
  ]);
});

test('no model: every series to the fallback, with the load failure or "missing" as reason and the fallback named', async () => {
  const metrics = createMetricRegistry();
  const { logger, lines } = capturingLogger();
  const fallback = standInFallback(0, true);
  const missing = createResilientForecaster({ logger, metrics }, { primary: undefined, fallback });
  assert.deepEqual([missing.name, missing.runsOn, missing.version], ['hw', 'typescript', 'hw-1 (model unavailable)']);
  const out = await missing.forecast({ histories: [h(20, 1), h(20, 2)], intervalSeconds: 60, horizonSteps: 1 });
  // A fallback that names no sources is named by the wrapper.
  assert.deepEqual(out.sources, ['hw (fallback: missing)', 'hw (fallback: missing)']);
  assert.deepEqual(lines.map((l) => l.msg), ['forecast fallback: no model']);

  const corrupt = createResilientForecaster({ logger, metrics }, { primary: undefined, loadFailure: { reason: 'corrupt', message: 'm.onnx: ONNX Runtime cannot load the model: bad' }, fallback: standInFallback(0) });
  assert.deepEqual((await corrupt.forecast({ histories: [h(20, 1)], intervalSeconds: 60, horizonSteps: 1 })).sources, ['hw (fallback: corrupt)']);
  assert.equal(lines.at(-1)?.msg, 'forecast fallback: m.onnx: ONNX Runtime cannot load the model: bad');
  assert.deepEqual(await counted(metrics), { missing: 2, corrupt: 1 });
  await missing.close();
  assert.equal(fallback.closed, 1);
});
