// Capacity benchmark (`npm run bench:capacity`, issue 18): the policy's targets replayed on GPU nodes
// (replay/nodes.ts) with node lead times of 3, 5 and 10 minutes, the cluster autoscaler alone
// (nodes come when pods are Pending) and with SurgeGuard's forecast-sized placeholders (nodes
// requested at the horizon node lead + pod startup). A subset of the out-of-sample rows of the replay
// table (bench/dev-table.ts; series that trained the model are never scored) so that it runs in a few
// minutes on 2 cores. Writes its section of bench/RESULTS.md. Needs ../shared/data (not in the clone).
//   node bench/capacity.ts [--only REGEX]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY_SETTINGS } from '../controller/scaling/policy.ts';
import { createHoltWintersForecaster } from '../inference/holt-winters.ts';
import { defaultModelPath } from '../inference/load.ts';
import { conventionCapacity, conventionStartupSteps } from '../replay/convention.ts';
import { runPolicy } from '../replay/engine.ts';
import { simulateFleet } from '../replay/fleet.ts';
import type { NodeRunResult } from '../replay/nodes.ts';
import { replayOnNodes } from '../replay/replay.ts';
import { ALL_TRACES, loadDevTrace, readTrainingCorpus, splitByCorpus } from './dev-table.ts';
import { writeResultsSection } from './results-section.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, '../shared/data');

/** The rows: fine intervals, where a node lead of minutes is several intervals, and three 5-minute social traces. */
const ROWS = /^(AzureLLM|worldcup98 \d\d-\d\d|Twitter_volume_(AAPL|GOOG|KO))/;
const LEADS_MINUTES = [3, 5, 10];
/** The cluster every row runs on: one GPU per replica, 8 per node, no free GPU at the start. */
const CLUSTER = { gpusPerReplica: 1, gpusPerNode: 8, gpusFree: 0 };
const SCALE_DOWN_SECONDS = 600;
const PLACEHOLDERS = { capGpus: 16, stabilizationSeconds: 600 };

const steps = (seconds: number, interval: number): number => Math.ceil(seconds / interval - 1e-9);
const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const cell = (r: NodeRunResult): string => `${pct(r.unserved / (r.demand || 1))} / ${r.pendingPodIntervals} / ${r.meanPendingSeconds.toFixed(0)} s / ${r.p95PendingSeconds.toFixed(0)} s / ${r.gpuNodeHours.toFixed(1)}`;

interface Totals {
  unserved: [number, number];
  demand: number;
  pending: [number, number];
  nodeHours: [number, number];
}

export async function run(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: opt } = parseArgs({ args: argv, options: { only: { type: 'string' } } });
  if (!existsSync(DATA)) {
    console.log(`bench/capacity: the benchmark traces are not at ${DATA}; nothing to run`);
    return;
  }
  const { scored, trained } = splitByCorpus(ALL_TRACES, readTrainingCorpus(dirname(defaultModelPath())));
  const only = opt.only ? new RegExp(opt.only, 'i') : undefined;
  const rows = scored.filter((t) => ROWS.test(t.name) && (!only || only.test(t.name)));
  const lines: string[] = [];
  const totals = new Map<number, Totals>(LEADS_MINUTES.map((m) => [m, { unserved: [0, 0], demand: 0, pending: [0, 0], nodeHours: [0, 0] }]));
  const t0 = performance.now();
  for (const t of rows) {
    const trace = loadDevTrace(DATA, t);
    const dt = trace.intervalSeconds;
    const params = { intervalSeconds: dt, capacity: conventionCapacity(trace.demand), startupSteps: conventionStartupSteps(dt), minReplicas: 1, maxReplicas: 10000, settings: DEFAULT_POLICY_SETTINGS };
    const forecaster = createHoltWintersForecaster();
    const policyRun = await runPolicy({ forecaster }, trace.demand, params);
    const fleet = { capacity: params.capacity, startupSteps: params.startupSteps, minReplicas: 1, maxReplicas: 10000 };
    const unlimited = simulateFleet(trace.demand, policyRun.targets, fleet);
    for (const minutes of LEADS_MINUTES) {
      const n = steps(minutes * 60, dt);
      const nodes = { ...CLUSTER, nodeLeadSteps: n, scaleDownDelaySteps: steps(SCALE_DOWN_SECONDS, dt), placeholders: { capGpus: PLACEHOLDERS.capGpus, stabilizationSteps: steps(PLACEHOLDERS.stabilizationSeconds, dt) } };
      const r = await replayOnNodes(forecaster, trace.demand, { params, fleet, run: policyRun, nodes });
      const sum = totals.get(minutes) as Totals;
      sum.demand += r.without.demand;
      sum.unserved[0] += r.without.unserved;
      sum.unserved[1] += r.with.unserved;
      sum.pending[0] += r.without.pendingPodIntervals;
      sum.pending[1] += r.with.pendingPodIntervals;
      sum.nodeHours[0] += r.without.gpuNodeHours;
      sum.nodeHours[1] += r.with.gpuNodeHours;
      lines.push(`| ${t.name} | ${trace.demand.length} x ${dt} s | ${params.capacity} | ${params.startupSteps} | ${pct(unlimited.unserved / (unlimited.demand || 1))} | ${minutes} min (${n}) | ${cell(r.without)} | ${cell(r.with)} |`);
      console.error(lines[lines.length - 1]);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const totalLines = LEADS_MINUTES.map((m) => {
    const s = totals.get(m) as Totals;
    return `| ${m} min | ${pct(s.unserved[0] / (s.demand || 1))} | ${pct(s.unserved[1] / (s.demand || 1))} | ${s.pending[0]} | ${s.pending[1]} | ${s.nodeHours[0].toFixed(1)} | ${s.nodeHours[1].toFixed(1)} (${(s.nodeHours[1] / (s.nodeHours[0] || 1)).toFixed(2)}x) |`;
  });
  const md = [
    '<!-- capacity:begin (written by `npm run bench:capacity`) -->',
    '## Capacity ahead of the forecast (issue 18)',
    '',
    `The policy (Holt-Winters, defaults ${JSON.stringify(DEFAULT_POLICY_SETTINGS)}, benchmark convention for capacity and K) replayed once per row; its targets then run on GPU nodes (replay/nodes.ts, docs/capacity.md): ${CLUSTER.gpusPerReplica} GPU per replica, ${CLUSTER.gpusPerNode} GPUs per node, no free GPU at the start (the starting nodes are the starting fleet's, rounded up to whole nodes, and never removed), empty nodes removed after ${SCALE_DOWN_SECONDS / 60} min, nodes paid for from their request. "Autoscaler alone": a pod that does not fit Pends and the autoscaler requests a node when it sees it. "Placeholders": SurgeGuard's forecast-sized placeholders (controller/capacity/placeholders.ts; cap ${PLACEHOLDERS.capGpus} GPUs, stabilization ${PLACEHOLDERS.stabilizationSeconds / 60} min) request nodes for the need at node lead + pod startup.`,
    `Rows: the out-of-sample rows of the replay table whose interval makes a node lead of minutes at least one interval and which run in seconds: the AzureLLM code hour (15 s), the five World Cup 98 one-hour windows (1 min, cold start) and three 5-minute Twitter series (AAPL, GOOG, KO). Never scored, because they trained the model: ${[...new Set(trained.map((x) => x.file))].map((f) => `\`${f}\``).join(', ') || 'none'}. Node lead in minutes, rounded up to whole intervals (in brackets).`,
    '',
    'Each cell: unserved demand (share of demand dropped) / pod-intervals Pending / mean and p95 Pending time per pod created / GPU-node-hours.',
    '',
    '| trace | intervals | capacity | K | unserved, GPUs never short (the contract fleet) | node lead | autoscaler alone | placeholders |',
    '|---|---|---|---|---|---|---|---|',
    ...lines,
    '',
    'Totals over the rows:',
    '',
    '| node lead | unserved, alone | unserved, placeholders | pod-intervals Pending, alone | Pending, placeholders | GPU-node-hours, alone | GPU-node-hours, placeholders |',
    '|---|---|---|---|---|---|---|',
    ...totalLines,
    '',
    `Run time: ${seconds.toFixed(0)} s for ${rows.length} rows on this machine (${process.arch}, Node ${process.versions.node}).`,
    '',
    '**Reading these numbers.** READING',
    '<!-- capacity:end -->',
  ].join('\n');
  console.log(md);
  if (only) return;
  const keep = (old: string | undefined): string => {
    const reading = old?.match(/\*\*Reading these numbers\.\*\*[\s\S]*?(?=\n<!-- capacity:end)/)?.[0];
    return reading ? md.replace('**Reading these numbers.** READING', () => reading) : md;
  };
  writeResultsSection('capacity', md, { keep });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
