// LLM serving benchmark (`npm run bench:llm`, issue 16): (1) the Azure LLM code trace replayed in
// requests and in tokens (ContextTokens + GeneratedTokens per 15 s), every fleet scored in tokens, the
// unit a GPU saturates on; (2) the panic window (replay --panic) off and on over the out-of-sample
// development table (bench/dev-table.ts). Writes its section of bench/RESULTS.md. Needs ../shared/data.
//   node bench/llm.ts [--only REGEX]   (--only: table 2 rows matching; nothing written)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { conventionCapacity, conventionStartupSteps } from '../replay/convention.ts';
import { simulateFleet, type FleetParams } from '../replay/fleet.ts';
import { outputCsv } from '../replay/output.ts';
import type { PolicyRun } from '../replay/engine.ts';
import { replayDemand, type ReplayResult } from '../replay/replay.ts';
import { computeBaselines, scoreTargets, type Score } from '../replay/summary.ts';
import { formatQuality } from '../replay/summary-text.ts';
import { DEFAULT_MAX_TRACE_MIB, readTraceFile } from '../replay/trace-file.ts';
import type { Trace } from '../replay/trace.ts';
import { DEFAULT_POLICY_SETTINGS } from '../controller/scaling/policy.ts';
import { createHoltWintersForecaster } from '../inference/holt-winters.ts';
import { defaultModelPath } from '../inference/load.ts';
import { ALL_TRACES, loadDevTrace, readTrainingCorpus, splitByCorpus } from './dev-table.ts';
import { writeResultsSection } from './results-section.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, '../shared/data');
const AZURE = 'traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv';
const BUCKET = 15;
const SCORER = join(ROOT, '../shared/tools/replay_score.py');
const TMP = mkdtempSync(join(tmpdir(), 'sg-bench-llm-'));

/** Scores targets on a demand series with the reference scorer (the contract as code); its quality figure as printed, or n/a. */
function scorerSays(name: string, x: { trace: Trace; demand: readonly number[]; run: PolicyRun; fleet: FleetParams }): string {
  if (!existsSync(SCORER)) return 'n/a';
  const out = join(TMP, `${name}.csv`);
  writeFileSync(out, outputCsv(x.trace.timestamps, x.demand, x.run, simulateFleet(x.demand, x.run.targets, x.fleet)));
  writeFileSync(`${out}.json`, JSON.stringify({ capacity: x.fleet.capacity, startup_steps: x.fleet.startupSteps, interval_seconds: BUCKET, min_replicas: x.fleet.minReplicas, max_replicas: x.fleet.maxReplicas }));
  const ref = JSON.parse(execFileSync('python3', [SCORER, '--decisions', out], { encoding: 'utf8', maxBuffer: 1 << 26 }).replace(/\bInfinity\b/g, '"inf"')) as Record<string, number | string>;
  const q = typeof ref.quality_figure === 'number' ? ref.quality_figure : Infinity;
  return `${formatQuality(q)} / ${Number(ref.cost_vs_default_hpa).toFixed(2)}x`;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

async function azure(weights: boolean): Promise<Trace> {
  return readTraceFile({
    file: join(DATA, AZURE),
    timeColumn: 'TIMESTAMP',
    valueColumn: 'value',
    bucketSeconds: BUCKET,
    ...(weights ? { weights: [{ column: 'ContextTokens', factor: 1 }, { column: 'GeneratedTokens', factor: 1 }] } : {}),
    fill: 'zero',
    maxBytes: DEFAULT_MAX_TRACE_MIB * 1024 * 1024,
  });
}

function cells(s: Score): string {
  return `${formatQuality(s.qualityFigure)} | ${s.cost} | ${s.costVsDefaultHpa.toFixed(2)}x | ${pct(s.unservedFraction)} | ${s.unservedIntervals}`;
}

/** Table 1: the request-sized and the token-sized fleet, each scored in tokens (and the first in requests). */
async function tokensTable(): Promise<string[]> {
  const req = await azure(false);
  const tok = await azure(true);
  if (req.demand.length !== tok.demand.length) throw new Error(`bench/llm: the request and token series differ in length (${req.demand.length} vs ${tok.demand.length})`);
  const k = conventionStartupSteps(BUCKET);
  const capReq = conventionCapacity(req.demand);
  const tokPerReq = sum(tok.demand) / sum(req.demand);
  // Same mean work per replica: a replica serves capReq requests of the trace's mean size per interval.
  const capTok = Math.round(capReq * tokPerReq);
  const base = { intervalSeconds: BUCKET, startupSteps: k, minReplicas: 1, maxReplicas: 10000, settings: DEFAULT_POLICY_SETTINGS };
  const deps = { forecaster: createHoltWintersForecaster(), comparisons: [] };
  const byReq = await replayDemand(deps, req.demand, { ...base, capacity: capReq }, false);
  const byTok = await replayDemand(deps, tok.demand, { ...base, capacity: capTok }, false);
  const fleetTok = { capacity: capTok, startupSteps: k, minReplicas: 1, maxReplicas: 10000 };
  const fleetReq = { ...fleetTok, capacity: capReq };
  const reqInTokens = scoreTargets(tok.demand, byReq.run.targets, fleetTok, computeBaselines(tok.demand, fleetTok, BUCKET));
  const must = (r: ReplayResult): Score => {
    if (!r.score) throw new Error('bench/llm: a replay returned no score');
    return r.score;
  };
  const cv = (xs: readonly number[]): number => {
    const m = sum(xs) / xs.length;
    return Math.sqrt(sum(xs.map((x) => (x - m) ** 2)) / xs.length) / m;
  };
  return [
    `Trace \`${AZURE}\`: ${req.demand.length} intervals of ${BUCKET} s, ${sum(req.demand)} requests, ${sum(tok.demand)} tokens (ContextTokens + GeneratedTokens), ${tokPerReq.toFixed(0)} tokens per request on average. Coefficient of variation per interval: requests ${cv(req.demand).toFixed(2)}, tokens ${cv(tok.demand).toFixed(2)}; tokens per request per interval vary from ${Math.min(...req.demand.map((r, i) => (r > 0 ? (tok.demand[i] as number) / r : Infinity))).toFixed(0)} to ${Math.max(...req.demand.map((r, i) => (r > 0 ? (tok.demand[i] as number) / r : 0))).toFixed(0)}.`,
    `Capacity: ${capReq} requests per replica per interval (benchmark convention, p95/10 of the request series); in tokens ${capTok} per replica per interval = ${capReq} x ${tokPerReq.toFixed(1)} (the mean tokens per request), so a replica does the same mean work in both units and the two fleets cost about the same. K = ${k}. Holt-Winters, policy defaults.`,
    '',
    '| fleet sized on | scored in | quality figure | cost (pod-intervals) | cost vs default HPA (same unit) | unserved | intervals with unserved | replay_score.py (quality / cost) |',
    '|---|---|---|---|---|---|---|---|',
    `| requests (${capReq}/replica) | requests | ${cells(must(byReq))} | ${scorerSays('req-in-req', { trace: req, demand: req.demand, run: byReq.run, fleet: fleetReq })} |`,
    `| requests (${capReq}/replica) | **tokens** | ${cells(reqInTokens)} | ${scorerSays('req-in-tok', { trace: tok, demand: tok.demand, run: byReq.run, fleet: fleetTok })} |`,
    `| tokens (${capTok}/replica) | **tokens** | ${cells(must(byTok))} | ${scorerSays('tok-in-tok', { trace: tok, demand: tok.demand, run: byTok.run, fleet: fleetTok })} |`,
  ];
}

/** Table 2: the panic window off and on, over the scored development rows. */
async function panicTable(only: RegExp | undefined): Promise<{ lines: string[]; trained: string[]; changed: number; total: number }> {
  const { scored, trained } = splitByCorpus(ALL_TRACES, readTrainingCorpus(dirname(defaultModelPath())));
  const lines: string[] = [];
  let changed = 0;
  let total = 0;
  for (const t of scored.filter((x) => !only || only.test(x.name))) {
    const trace = loadDevTrace(DATA, t);
    const base = { intervalSeconds: trace.intervalSeconds, capacity: conventionCapacity(trace.demand), startupSteps: conventionStartupSteps(trace.intervalSeconds), minReplicas: 1, maxReplicas: 10000, settings: DEFAULT_POLICY_SETTINGS };
    const deps = { forecaster: createHoltWintersForecaster(), comparisons: [] };
    const offRun = await replayDemand(deps, trace.demand, base, false);
    const off = offRun.score;
    const onRun = await replayDemand(deps, trace.demand, { ...base, panic: true }, false);
    const on = onRun.score;
    if (!off || !on) continue;
    const panics = onRun.run.reasons.Panic ?? 0;
    const offTargets = offRun.run.targets;
    const differ = onRun.run.targets.filter((v, i) => v !== offTargets[i]).length;
    total++;
    if (differ > 0) changed++;
    const c = (s: Score): string => `${formatQuality(s.qualityFigure)} / ${s.costVsDefaultHpa.toFixed(2)}x / ${pct(s.unservedFraction)}`;
    lines.push(`| ${t.name} | ${trace.intervalSeconds} s | ${c(off)} | ${c(on)} | ${panics} | ${differ} of ${trace.demand.length} |`);
    console.error(lines[lines.length - 1]);
  }
  return { lines, trained: [...new Set(trained.map((t) => t.file))], changed, total };
}

export async function run(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: opt } = parseArgs({ args: argv, options: { only: { type: 'string' } } });
  if (!existsSync(DATA)) {
    console.log(`bench/llm: the benchmark traces are not at ${DATA}; nothing to run`);
    return;
  }
  const only = opt.only ? new RegExp(opt.only, 'i') : undefined;
  const t1 = await tokensTable();
  console.error(t1.join('\n'));
  const t2 = await panicTable(only);
  const md = [
    '<!-- llm:begin (written by `npm run bench:llm`) -->',
    '## LLM serving (issue 16)',
    '',
    '### Replay in tokens vs requests (Azure LLM code trace)',
    '',
    ...t1,
    '',
    '### The panic window off and on (replay --panic)',
    '',
    `Rows of the replay table (Holt-Winters, policy defaults, benchmark convention). Never scored, because they trained the model: ${t2.trained.map((f) => `\`${f}\``).join(', ') || 'none'}. --panic adds replay/panic-guard.ts: demand per existing replica read through the live controller's guardNeed with a target of one replica's capacity; at 2x the target decide skips the scale-up limit (reason Panic). Each cell: quality figure / cost vs the default HPA / unserved fraction.`,
    '',
    '| trace | interval | panic off | panic on | intervals with reason Panic | intervals whose target changed |',
    '|---|---|---|---|---|---|',
    ...t2.lines,
    '',
    `Rows where panic changed any interval's target: ${t2.changed} of ${t2.total}. A Panic reason with no change is an interval where the scale-up limit would not have bound anyway (at 5 minutes and more it allows 20 doublings per interval).`,
    '',
    '### Reading these numbers',
    '',
    'READING_PLACEHOLDER',
    '<!-- llm:end -->',
  ].join('\n');
  console.log(md);
  if (only) return;
  const keep = (old: string | undefined): string => {
    const prevReading = old && /### Reading these numbers\n\n([\s\S]*?)\n<!-- llm:end -->/.exec(old)?.[1];
    return md.replace('READING_PLACEHOLDER', () => prevReading || '(written by hand after a run)');
  };
  writeResultsSection('llm', md, { keep });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
