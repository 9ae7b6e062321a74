import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { SurgeGuardError } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { defaultModelPath } from '../../../inference/load.ts';
import { CONTRACT_KEY, checkModelContract } from '../../../inference/model-contract.ts';
import { createOnnxForecaster, modelInputs, type OrtRuntime } from '../../../inference/onnx-forecaster.ts';
import { proto } from './helpers.ts';

// From the model's output tensor to each series' forecast, with a stand-in session whose every
// output names its series, step and quantile, so a value read from the wrong place shows. The
// real model's numbers are held to train.py's in onnx-model.test.ts and golden-inputs.test.ts.

const modelBytes = readFileSync(defaultModelPath());
const shipped = checkModelContract(modelBytes, 'shipped'); // quantiles 0.1, 0.5, 0.9; horizon 12
const H = shipped.horizon;

/**
 * Output of series i, model step s, quantile column q. Not linear in q, so a p10 derived from p50
 * and p90 differs from the model's own.
 */
const named = (i: number, s: number, q: number): number => 1000 * (i + 1) + 10 * s + [0, 2, 3][q]!;

interface StandIn {
  ort: OrtRuntime;
  runs: Record<string, ort.Tensor>[];
  created: InferenceSession.SessionOptions[];
  released: () => number;
}

function standIn(opts: { Q?: number; value?: typeof named; outputLength?: (n: number) => number; inputNames?: readonly string[]; outputNames?: readonly string[]; fail?: (eps: string[]) => boolean } = {}): StandIn {
  const Q = opts.Q ?? 3;
  const value = opts.value ?? named;
  const runs: Record<string, ort.Tensor>[] = [];
  const created: InferenceSession.SessionOptions[] = [];
  let released = 0;
  const session = {
    inputNames: opts.inputNames ?? ['recent', 'seasonal', 'season_available'],
    outputNames: opts.outputNames ?? ['quantiles'],
    run: async (feeds: Record<string, ort.Tensor>) => {
      runs.push(feeds);
      const n = feeds.recent?.dims[0] ?? 0;
      const length = opts.outputLength?.(n) ?? n * H * Q;
      const data = Float32Array.from({ length }, (_, k) => value(Math.floor(k / (H * Q)), Math.floor(k / Q) % H, k % Q));
      return { quantiles: new ort.Tensor('float32', data, [length]) };
    },
    release: async () => void released++,
  };
  return {
    ort: {
      Tensor: ort.Tensor as unknown as OrtRuntime['Tensor'],
      InferenceSession: {
        create: async (_bytes, options) => {
          created.push(options ?? {});
          if (opts.fail?.((options?.executionProviders ?? []) as string[])) throw new Error('cannot create the session');
          return session as unknown as InferenceSession;
        },
      },
    },
    runs,
    created,
    released: () => released,
  };
}

const open = (s: StandIn, bytes: Uint8Array = modelBytes, providers: ('cuda' | 'cpu')[] = ['cpu']) =>
  createOnnxForecaster({ ort: s.ort, logger: silentLogger(), readFile: () => Promise.resolve(bytes) }, { modelPath: 'm.onnx', providers, minHistorySteps: 12 });

const histories = (n: number, length: number): Float64Array[] => Array.from({ length: n }, (_, i) => Float64Array.from({ length }, (_, t) => 10 + i + (t % 7)));

test("at the model's own interval each series reads its own rows: p10, p50, p90 of every step", async () => {
  const s = standIn();
  const m = await open(s);
  const out = await m.forecast({ histories: histories(3, 400), intervalSeconds: 300, horizonSteps: H });
  assert.deepEqual(out.sources, ['onnx', 'onnx', 'onnx']);
  assert.equal(m.version, `surgeguard-forecaster@${shipped.version}`);
  assert.equal(s.runs.length, 1, 'one run for the batch');
  assert.deepEqual([s.runs[0]?.recent?.dims, s.runs[0]?.seasonal?.dims, s.runs[0]?.season_available?.dims], [[3, shipped.inputLength], [3, shipped.seasonalContext + H], [3, 1]]);
  out.forecasts.forEach((f, i) => {
    assert.deepEqual([...f.p10], Array.from({ length: H }, (_, st) => named(i, st, 0)), `series ${i} p10`);
    assert.deepEqual([...f.p50], Array.from({ length: H }, (_, st) => named(i, st, 1)), `series ${i} p50`);
    assert.deepEqual([...f.p90], Array.from({ length: H }, (_, st) => named(i, st, 2)), `series ${i} p90`);
  });
  await m.close();
  assert.equal(s.released(), 1);
});

test('at a coarser model interval each model step is spread evenly over the f caller intervals it spans', async () => {
  const s = standIn();
  const m = await open(s);
  // 13 steps of 15 s are past the model's 12: it answers in 60 s steps, four caller intervals each.
  const out = await m.forecast({ histories: histories(2, 4000), intervalSeconds: 15, horizonSteps: 13 });
  assert.deepEqual(out.sources, ['onnx@60s', 'onnx@60s']);
  out.forecasts.forEach((f, i) => {
    assert.equal(f.p50.length, 13);
    assert.deepEqual([...f.p50], Array.from({ length: 13 }, (_, st) => Math.fround(named(i, Math.floor(st / 4), 1)) / 4), `series ${i} p50`);
    assert.deepEqual([...f.p90], Array.from({ length: 13 }, (_, st) => Math.fround(named(i, Math.floor(st / 4), 2)) / 4), `series ${i} p90`);
  });
  // 12 steps are still the model's own: the horizon is inclusive.
  assert.deepEqual((await m.forecast({ histories: histories(1, 4000), intervalSeconds: 15, horizonSteps: 12 })).sources, ['onnx']);
  await m.close();
});

test('without a p10 in the model, p10 mirrors p90 about p50, floored at 0', async () => {
  const bytes = Uint8Array.from(proto.metadata(CONTRACT_KEY, JSON.stringify({ ...shipped, quantiles: [0.5, 0.9] })));
  // Series 0: p50 100 + s, p90 130 + 2s; series 1: p90 over twice p50.
  const value = (i: number, s: number, q: number): number => (i === 0 ? (q === 0 ? 100 + s : 130 + 2 * s) : q === 0 ? 10 : 50);
  const m = await open(standIn({ Q: 2, value }), bytes);
  const [a, b] = (await m.forecast({ histories: histories(2, 400), intervalSeconds: 300, horizonSteps: 3 })).forecasts;
  assert.deepEqual([...(a?.p10 ?? [])], [70, 70, 70]);
  assert.deepEqual([...(a?.p50 ?? [])], [100, 101, 102]);
  assert.deepEqual([...(b?.p10 ?? [])], [0, 0, 0]);
  await m.close();
});

test('an output of the wrong length is an error, not a forecast', async () => {
  for (const outputLength of [(n: number) => n * H * 3 - 1, (n: number) => n * H * 3 + 3, () => 0]) {
    const m = await open(standIn({ outputLength }));
    await assert.rejects(m.forecast({ histories: histories(2, 400), intervalSeconds: 300, horizonSteps: 2 }), (e: unknown) => e instanceof SurgeGuardError && e.code === 'SG_FORECAST_FAILED' && e.message === 'model output has the wrong shape');
    await m.close();
  }
});

test('an empty batch runs nothing; an interval or horizon the model cannot serve is refused', async () => {
  const s = standIn();
  const m = await open(s);
  assert.deepEqual(await m.forecast({ histories: [], intervalSeconds: 300, horizonSteps: 2 }), { forecasts: [], sources: [] });
  assert.equal(s.runs.length, 0);
  await assert.rejects(m.forecast({ histories: histories(1, 400), intervalSeconds: 7, horizonSteps: 2 }), (e: unknown) => e instanceof SurgeGuardError && e.code === 'SG_FORECAST_FAILED' && e.message === 'model cannot forecast 2 steps of 7s');
  await assert.rejects(m.forecast({ histories: histories(1, 400), intervalSeconds: 300, horizonSteps: 288 * 13 }), /model cannot forecast 3744 steps of 300s/);
  assert.equal(s.runs.length, 0);
  await m.close();
});

test('only whole multiples of the caller interval make a model interval; history is counted in model intervals', async () => {
  const m = await open(standIn());
  // 45 s divides 1800 s (40 intervals) but not 60, 300 or 600 s.
  assert.equal(m.fallbackReason(40 * 12, 45, 1), undefined);
  assert.deepEqual((await m.forecast({ histories: histories(1, 40 * 12), intervalSeconds: 45, horizonSteps: 1 })).sources, ['onnx@1800s']);
  assert.equal(m.fallbackReason(4000, 7, 1), 'interval');
  assert.equal(m.fallbackReason(4000, 1000, 1), 'interval', '1800 s and 86400 s are 1.8 and 86.4 intervals of 1000 s');
  // minHistorySteps 12, in model intervals.
  assert.equal(m.fallbackReason(12, 300, 2), undefined);
  assert.equal(m.fallbackReason(11, 300, 2), 'history');
  assert.equal(m.fallbackReason(48, 15, 13), undefined, '12 intervals of 60 s');
  assert.equal(m.fallbackReason(47, 15, 13), 'history');
  await m.close();
});

test('a history just one season and the seasonal context long is marked as having its season', () => {
  // At 300 s the season is a day (288); the window needs t - 288 - C + 1 >= 0.
  const at = { contract: shipped, intervalSeconds: 300, factor: 1 };
  const C = shipped.seasonalContext;
  const enough = Float64Array.from({ length: 288 + C }, (_, t) => t);
  const x = modelInputs([enough], at);
  assert.equal(x.seasonAvailable[0], 1);
  assert.deepEqual([...x.seasonal], Array.from({ length: C + H }, (_, j) => j));
  const short = modelInputs([enough.subarray(1)], at);
  assert.equal(short.seasonAvailable[0], 0);
  assert.deepEqual([...short.seasonal], new Array<number>(C + H).fill(288 + C - 1));
});

test('a graph without the contract inputs or output is refused as "contract" and its session released', async () => {
  for (const [names, missing] of [[{ inputNames: ['recent', 'season_available'] }, 'seasonal'], [{ outputNames: ['q'] }, 'output quantiles']] as const) {
    const s = standIn(names);
    await assert.rejects(open(s), (e: unknown) => e instanceof SurgeGuardError && e.details.reason === 'contract' && e.message === `m.onnx: graph inputs/outputs do not match the contract (missing ${missing})`);
    assert.equal(s.released(), 1);
  }
});

test('session options: CUDA first with its native logs fatal only; CPU alone at warning level; a session that cannot be made is "corrupt"', async () => {
  const cuda = standIn();
  const m = await open(cuda, modelBytes, ['cuda', 'cpu']);
  assert.deepEqual(cuda.created, [{ executionProviders: ['cuda', 'cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 4 }]);
  assert.equal(m.provider, 'cuda');
  await m.close();
  const cpu = standIn();
  await (await open(cpu)).close();
  assert.deepEqual(cpu.created, [{ executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 2 }]);
  // CPU alone failing, and CUDA then its CPU retry failing: both say the model cannot be loaded.
  for (const [providers, tries] of [[['cpu'], 1], [['cuda', 'cpu'], 2]] as const) {
    const s = standIn({ fail: () => true });
    await assert.rejects(open(s, modelBytes, [...providers]), (e: unknown) => e instanceof SurgeGuardError && e.details.reason === 'corrupt' && e.message === 'm.onnx: ONNX Runtime cannot load the model: cannot create the session');
    assert.equal(s.created.length, tries);
  }
});
