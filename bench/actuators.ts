// Actuator benchmark (`npm run bench:actuators`): the same decisions reaching the fleet directly
// (the scale subresource) or through an HPA that reads surgeguard_desired_replicas
// (replay/hpa-actuator.ts: its tolerance, scale-down window, scale-up rate limit and sync lag), on
// the out-of-sample development table (bench/dev-table.ts, series that trained the model left out),
// with the policy's default forecaster (Holt-Winters). Writes its section of bench/RESULTS.md.
// Needs ../shared/data (not in the clone).
//   node bench/actuators.ts [--only REGEX]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { conventionCapacity, conventionStartupSteps } from '../replay/convention.ts';
import { replayDemand, type ReplayResult } from '../replay/replay.ts';
import { DEFAULT_HPA_ACTUATOR, type HpaActuatorSettings } from '../replay/hpa-actuator.ts';
import { formatQuality } from '../replay/summary-text.ts';
import { DEFAULT_POLICY_SETTINGS } from '../controller/scaling/policy.ts';
import { createHoltWintersForecaster } from '../inference/holt-winters.ts';
import { defaultModelPath } from '../inference/load.ts';
import { ALL_TRACES, loadDevTrace, readTrainingCorpus, splitByCorpus } from './dev-table.ts';
import { writeResultsSection } from './results-section.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, '../shared/data');

/** The actuators compared, each a column. */
const MODES: ReadonlyArray<{ name: string; hpa?: HpaActuatorSettings }> = [
  { name: 'direct' },
  { name: 'hpa (tolerance 0.1, window 0)', hpa: DEFAULT_HPA_ACTUATOR },
  { name: 'hpa (tolerance 0, window 0)', hpa: { ...DEFAULT_HPA_ACTUATOR, tolerance: { up: 0, down: 0 } } },
  { name: 'hpa (tolerance 0.1, window 300 s)', hpa: { ...DEFAULT_HPA_ACTUATOR, scaleDownWindowSeconds: 300 } },
];

/**
 * Mean intervals from a step up the policy decided to the fleet's target reaching it: 0 for the
 * direct actuator by construction; the HPA's sync lag and rate limit add to it.
 */
export function stepUpLag(decided: readonly number[], targets: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (let t = 1; t < decided.length; t++) {
    const want = decided[t] as number;
    if (want <= (decided[t - 1] as number)) continue;
    let k = t;
    while (k < targets.length && (targets[k] as number) < want) k++;
    if (k === targets.length) continue;
    sum += k - t;
    n++;
  }
  return n ? sum / n : 0;
}

const cell = (r: ReplayResult): string => `${formatQuality(r.score?.qualityFigure ?? NaN)} / ${(r.score?.costVsDefaultHpa ?? NaN).toFixed(2)}x`;

export async function run(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: opt } = parseArgs({ args: argv, options: { only: { type: 'string' } } });
  if (!existsSync(DATA)) {
    console.log(`bench/actuators: the benchmark traces are not at ${DATA}; nothing to run`);
    return;
  }
  const { scored, trained } = splitByCorpus(ALL_TRACES, readTrainingCorpus(dirname(defaultModelPath())));
  const only = opt.only ? new RegExp(opt.only, 'i') : undefined;
  const lines: string[] = [];
  // Lags of the rows at the HPA's sync period or finer: at longer intervals it is 0 by construction.
  const lags = MODES.map(() => [] as number[]);
  for (const t of scored.filter((x) => !only || only.test(x.name))) {
    const trace = loadDevTrace(DATA, t);
    const base = { intervalSeconds: trace.intervalSeconds, capacity: conventionCapacity(trace.demand), startupSteps: conventionStartupSteps(trace.intervalSeconds), minReplicas: 1, maxReplicas: 10000, settings: DEFAULT_POLICY_SETTINGS };
    const cells: string[] = [];
    for (const [i, m] of MODES.entries()) {
      const r = await replayDemand({ forecaster: createHoltWintersForecaster(), comparisons: [] }, trace.demand, { ...base, ...(m.hpa ? { hpaActuator: m.hpa } : {}) }, false);
      const lag = r.run.decided ? stepUpLag(r.run.decided, r.run.targets) : 0;
      if (trace.intervalSeconds <= DEFAULT_HPA_ACTUATOR.syncSeconds) lags[i]?.push(lag * trace.intervalSeconds);
      cells.push(`${cell(r)}${m.hpa ? ` (lag ${(lag * trace.intervalSeconds).toFixed(0)} s)` : ''}`);
    }
    lines.push(`| ${t.name} | ${trace.intervalSeconds} s | ${cells.join(' | ')} |`);
    console.error(lines[lines.length - 1]);
  }
  const mean = (xs: readonly number[]): string => (xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1) : '-');
  const md = [
    '<!-- actuators:begin (written by `npm run bench:actuators`) -->',
    '## Actuators: direct and through the HPA (issue 17)',
    '',
    `The same policy (Holt-Winters, defaults ${JSON.stringify(DEFAULT_POLICY_SETTINGS)}) on the rows of the replay table, its decisions reaching the fleet directly or through an HPA that reads \`surgeguard_desired_replicas\` (replay/hpa-actuator.ts: the value served as the controller serves it, then the HPA's tolerance band, scale-down stabilization window, scale-up limit of max(100%, 4 pods) per 15 s sync, and one interval of sync lag at intervals of 15 s or less). Never scored, because they trained the model: ${[...new Set(trained.map((t) => t.file))].map((f) => `\`${f}\``).join(', ') || 'none'}.`,
    'Each cell: quality figure / cost vs the default HPA; "lag": mean seconds from a step up the policy decided to the fleet\'s target reaching it. Window 0 is what docs/hpa.md asks of the HPA (SurgeGuard stabilizes its own decisions); 300 s is the Kubernetes default. Tolerance 0 needs Kubernetes 1.33+ (`behavior.scaleUp.tolerance`).',
    '',
    `| trace | interval | ${MODES.map((m) => m.name).join(' | ')} |`,
    `|---|---|${MODES.map(() => '---').join('|')}|`,
    ...lines,
    '',
    `Mean lag over the rows at ${DEFAULT_HPA_ACTUATOR.syncSeconds} s or finer (at longer intervals the HPA acts within the interval): ${MODES.map((m, i) => `${m.name} ${mean(lags[i] ?? [])} s`).join('; ')}. The live path adds the HPA's read of the metric through the aggregation layer; test/integration/controller/hpa-actuator.test.ts runs it on the real kube-controller-manager.`,
    '<!-- actuators:end -->',
  ].join('\n');
  console.log(md);
  if (only) return;
  writeResultsSection('actuators', md);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
