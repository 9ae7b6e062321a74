// Replay and forecasting benchmark (`npm run bench:replay`): every trace of the replay contract's
// benchmark table with its convention and one policy configuration; forecast error on the validation
// split; batched CPU inference for 1,000 series; replay speed. Needs ../shared/data (not in the clone);
// where ../shared/tools/replay_score.py exists, every policy summary is checked against it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { silentLogger } from '../common/logger.ts';
import { createMetricRegistry } from '../common/metrics.ts';
import { conventionCapacity, conventionStartupSteps } from '../replay/convention.ts';
import { runPolicy } from '../replay/engine.ts';
import { outputCsv } from '../replay/output.ts';
import { replayDemand } from '../replay/replay.ts';
import { formatQuality, PRINT_PRECISION } from '../replay/summary-text.ts';
import { parseTrace, type Trace } from '../replay/trace.ts';
import { DEFAULT_POLICY_SETTINGS } from '../controller/scaling/policy.ts';
import { seasonSteps, type Forecaster } from '../inference/forecaster.ts';
import { createHoltWintersForecaster } from '../inference/holt-winters.ts';
import { defaultModelPath, loadForecaster } from '../inference/load.ts';
import { createOnnxForecaster, type OrtRuntime } from '../inference/onnx-forecaster.ts';
import { createSeasonalNaiveForecaster } from '../inference/seasonal-naive.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, '../shared');
const DATA = join(SHARED, 'data');
const SCORER = join(SHARED, 'tools/replay_score.py');

interface BenchTrace {
  name: string;
  file: string;
  timeColumn: string;
  valueColumn: string;
  bucketSeconds?: number;
}

const TRACES: BenchTrace[] = [
  ...['AAPL', 'AMZN', 'FB', 'GOOG', 'IBM', 'KO'].map((s) => ({ name: `Twitter_volume_${s}`, file: `nab/realTweets/Twitter_volume_${s}.csv`, timeColumn: 'timestamp', valueColumn: 'value' })),
  { name: 'nyc_taxi', file: 'nab/realKnownCause/nyc_taxi.csv', timeColumn: 'timestamp', valueColumn: 'value' },
  { name: 'AzureLLM code (15s)', file: 'traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv', timeColumn: 'TIMESTAMP', valueColumn: 'value', bucketSeconds: 15 },
  { name: 'wp_peyton_manning', file: 'traces/wikipedia_pageviews/prophet_example_wp_peyton_manning.csv', timeColumn: 'ds', valueColumn: 'y' },
];

const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : 'inf');

function loadTrace(t: BenchTrace): Trace {
  const file = join(DATA, t.file);
  return parseTrace(readFileSync(file, 'utf8'), { file, timeColumn: t.timeColumn, valueColumn: t.valueColumn, bucketSeconds: t.bucketSeconds, fill: 'previous' });
}

/** Checks one policy run against the reference scorer, to the precision the summary prints. */
function checkWithScorer(run: { dir: string; name: string; csv: string; meta: object }, want: { quality: number; cost: number }): string {
  const { dir, name, csv, meta } = run;
  if (!existsSync(SCORER)) return 'n/a (no ../shared/tools)';
  const out = join(dir, `${name.replace(/\W+/g, '_')}.csv`);
  writeFileSync(out, csv);
  writeFileSync(`${out}.json`, JSON.stringify(meta));
  const ref = JSON.parse(execFileSync('python3', [SCORER, '--decisions', out], { encoding: 'utf8' }).replace(/\bInfinity\b/g, '"inf"')) as Record<string, number | string>;
  const q = typeof ref.quality_figure === 'number' ? ref.quality_figure : Infinity;
  const okQ = formatQuality(q) === formatQuality(want.quality);
  const okC = Number(ref.cost_vs_default_hpa).toFixed(PRINT_PRECISION.costRatio) === want.cost.toFixed(PRINT_PRECISION.costRatio);
  const okRows = ref.ready_replicas_rows_disagreeing === 0 && ref.existing_replicas_rows_disagreeing === 0;
  return okQ && okC && okRows ? 'agrees' : `DISAGREES (scorer ${formatQuality(q)} / ${String(ref.cost_vs_default_hpa)})`;
}

/** MASE of p50 and pinball of p90 at horizon K+1 on the last 20% of the series (as in train.py). */
async function forecastError(f: Forecaster, demand: number[], intervalSeconds: number, k: number): Promise<{ mase: number; pinball: number }> {
  const n = demand.length;
  const nTrain = n - Math.ceil(0.2 * n);
  const season = seasonSteps(intervalSeconds);
  const m = season < Math.floor(nTrain / 2) ? season : 1;
  let scale = 0;
  for (let i = m; i < nTrain; i++) scale += Math.abs((demand[i] ?? 0) - (demand[i - m] ?? 0));
  scale = scale / (nTrain - m) || 1;
  const series = Float64Array.from(demand);
  let ae = 0;
  let pin = 0;
  let count = 0;
  for (let start = nTrain - 1; start < n - 1 - k; start += 512) {
    const ts: number[] = [];
    for (let t = start; t < Math.min(n - 1 - k, start + 512); t++) ts.push(t);
    const out = await f.forecast({ histories: ts.map((t) => series.subarray(0, t + 1)), intervalSeconds, horizonSteps: k + 1 });
    ts.forEach((t, j) => {
      const y = demand[t + 1 + k] ?? 0;
      const fc = out.forecasts[j];
      ae += Math.abs(y - (fc?.p50[k] ?? 0));
      const e = y - (fc?.p90[k] ?? 0);
      pin += Math.max(0.9 * e, -0.1 * e);
      count++;
    });
  }
  return { mase: ae / count / scale, pinball: pin / count / scale };
}

async function batchInference(demand: number[]): Promise<{ forecastMs: number; sessionMs: number; provider: string }> {
  const model = await createOnnxForecaster({ ort: ort as unknown as OrtRuntime, logger: silentLogger(), readFile: (p) => readFile(p) }, { modelPath: defaultModelPath(), providers: ['cpu'], minHistorySteps: 12 });
  const series = Float64Array.from(demand);
  const histories = Array.from({ length: 1000 }, (_, i) => series.subarray(0, 2000 + i * 10));
  const times: number[] = [];
  for (let r = 0; r < 25; r++) {
    const t0 = performance.now();
    await model.forecast({ histories, intervalSeconds: 300, horizonSteps: 2 });
    times.push(performance.now() - t0);
  }
  const c = model.contract;
  const session = await ort.InferenceSession.create(readFileSync(defaultModelPath()), { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  const feeds = {
    recent: new ort.Tensor('float32', new Float32Array(1000 * c.inputLength).fill(10), [1000, c.inputLength]),
    seasonal: new ort.Tensor('float32', new Float32Array(1000 * (c.seasonalContext + c.horizon)).fill(10), [1000, c.seasonalContext + c.horizon]),
    season_available: new ort.Tensor('float32', new Float32Array(1000).fill(1), [1000, 1]),
  };
  const st: number[] = [];
  for (let r = 0; r < 25; r++) {
    const t0 = performance.now();
    await session.run(feeds);
    st.push(performance.now() - t0);
  }
  await session.release();
  await model.close();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return { forecastMs: median(times.slice(5)), sessionMs: median(st.slice(5)), provider: model.provider };
}

export async function run(): Promise<void> {
  if (!existsSync(DATA)) {
    console.log(`bench/replay: the benchmark traces are not at ${DATA}; nothing to run`);
    return;
  }
  const logger = silentLogger();
  const model = await loadForecaster({ logger, metrics: createMetricRegistry(), readFile: (p) => readFile(p) }, { modelPath: defaultModelPath(), providers: ['cpu'], minHistorySteps: 12 });
  const hw = createHoltWintersForecaster();
  const sn = createSeasonalNaiveForecaster();
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-'));
  const replayRows: string[] = [];
  const errorRows: string[] = [];
  let speed = '';
  for (const t of TRACES) {
    const trace = loadTrace(t);
    const k = conventionStartupSteps(trace.intervalSeconds);
    const params = { intervalSeconds: trace.intervalSeconds, capacity: conventionCapacity(trace.demand), startupSteps: k, minReplicas: 1, maxReplicas: 10000, settings: DEFAULT_POLICY_SETTINGS };
    const r = await replayDemand({ forecaster: model, comparisons: [sn, hw] }, trace.demand, params, false);
    const s = r.score;
    if (!s) continue;
    const meta = { capacity: params.capacity, startup_steps: k, interval_seconds: trace.intervalSeconds, min_replicas: 1, max_replicas: 10000 };
    const agree = checkWithScorer({ dir, name: t.name, csv: outputCsv(trace.timestamps, trace.demand, r.run, r.fleet), meta }, { quality: s.qualityFigure, cost: s.costVsDefaultHpa });
    const [snS, hwS] = r.comparisons.map((c) => c.score);
    const goal = s.qualityFigure <= 0.5 && s.costVsDefaultHpa <= 1.5 ? 'met' : 'not met';
    replayRows.push(
      `| ${t.name} | ${trace.demand.length} x ${trace.intervalSeconds}s | ${params.capacity} | ${k} | **${formatQuality(s.qualityFigure)}** / ${fmt(s.costVsDefaultHpa, 2)}x | ${formatQuality(snS?.qualityFigure ?? NaN)} / ${fmt(snS?.costVsDefaultHpa ?? NaN, 2)}x | ${formatQuality(hwS?.qualityFigure ?? NaN)} / ${fmt(hwS?.costVsDefaultHpa ?? NaN, 2)}x | ${fmt(s.unservedFraction, 4)} vs ${fmt(s.defaultHpaUnservedFraction, 4)} | ${goal} | ${agree} |`,
    );
    const [eM, eH, eS] = [await forecastError(model, trace.demand, trace.intervalSeconds, k), await forecastError(hw, trace.demand, trace.intervalSeconds, k), await forecastError(sn, trace.demand, trace.intervalSeconds, k)];
    const better = 1 - eM.mase / eH.mase;
    errorRows.push(`| ${t.name} | ${k + 1} | ${fmt(eM.mase)} | ${fmt(eH.mase)} | ${fmt(eS.mase)} | ${fmt(100 * better, 0)}% ${better >= 0.2 ? 'met' : 'not met'} | ${fmt(eM.pinball)} | ${fmt(eH.pinball)} | ${fmt(eS.pinball)} |`);
    if (t.name === 'Twitter_volume_AAPL') {
      const t0 = performance.now();
      await runPolicy({ forecaster: model }, trace.demand, params);
      const sec = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      await replayDemand({ forecaster: model, comparisons: [] }, trace.demand, params, false);
      const full = (performance.now() - t1) / 1000;
      speed = `${Math.round(trace.demand.length / sec)} intervals/s for the policy loop with the model on CPU (${trace.demand.length} intervals in ${sec.toFixed(2)} s); ${Math.round(trace.demand.length / full)} intervals/s for a whole replay with the fleet simulation, the 36 reactive baselines and the score (${full.toFixed(2)} s)`;
    }
    console.error(`bench/replay: ${t.name} done`);
  }
  const aapl = loadTrace(TRACES[0] as BenchTrace).demand;
  const inf = await batchInference(aapl);
  await model.close();
  const md = [
    '<!-- replay:begin (written by `npm run bench:replay`) -->',
    '## Replay: quality figure and cost against the default HPA',
    '',
    `Policy defaults for every trace: ${JSON.stringify(DEFAULT_POLICY_SETTINGS)}; benchmark convention for capacity and K. Each cell: quality figure / cost vs default HPA. Goal: quality <= 0.5 at <= 1.5x.`,
    '',
    '| trace | intervals | capacity | K | SurgeGuard (model) | seasonal-naive | Holt-Winters only | unserved: policy vs default HPA | goal | replay_score.py |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...replayRows,
    '',
    '## Forecast error on the validation split (last 20% of each series), horizon K+1',
    '',
    'MASE of p50 scaled by the in-sample seasonal-naive MAE; pinball loss of p90 on the same scale. Goal: model MASE at least 20% below Holt-Winters.',
    '',
    '| trace | horizon | MASE model | MASE Holt-Winters | MASE seasonal-naive | model vs HW | pinball p90 model | pinball HW | pinball s-naive |',
    '|---|---|---|---|---|---|---|---|---|',
    ...errorRows,
    '',
    '## Speed',
    '',
    `- Batched inference, 1,000 series in one run on ${inf.provider.toUpperCase()} (goal < 20 ms): ${inf.sessionMs.toFixed(2)} ms for the ONNX session run, ${inf.forecastMs.toFixed(2)} ms including building the inputs from histories (median of 20 runs each; the 2-core machine is shared, so expect a few ms of noise).`,
    `- Replay: ${speed}.`,
    `- Machine: ${process.arch}, Node ${process.versions.node}, onnxruntime-node ${(ort as unknown as { env: { versions: { common: string } } }).env.versions.common}.`,
    '<!-- replay:end -->',
  ].join('\n');
  console.log(md);
  const resultsPath = join(ROOT, 'bench/RESULTS.md');
  const old = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '# Benchmark results\n\n';
  const next = /<!-- replay:begin[\s\S]*<!-- replay:end -->/.test(old) ? old.replace(/<!-- replay:begin[\s\S]*<!-- replay:end -->/, md) : `${old.trimEnd()}\n\n${md}\n`;
  writeFileSync(resultsPath, next);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
