// Per-target selection judged by the fleet, not by the band (issue 14, docs/forecasting.md sixth round).
// The selection in the product (controller/scaling/selection.ts) ranks forecasters by the pinball loss
// of their p90, which did not rank them the way unserved demand at equal cost does. This screen asks
// whether ranking by what each forecaster's whole policy did to a fleet would: on every scored dev row
// it runs the Holt-Winters policy and the model's policy, each on its own shadow fleet, and builds the
// fleet that, at the end of each interval, takes the target of the candidate whose shadow fleet has
// done best so far (causal: outcomes up to that interval only). Beside it, two fixed blends of the two
// policies' targets (the larger, the mean). Writes its section of bench/RESULTS.md (not with --only).
//
//   npm run bench:selection [-- --only REGEX]
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '../common/logger.ts';
import { createMetricRegistry } from '../common/metrics.ts';
import { conventionCapacity, conventionStartupSteps } from '../replay/convention.ts';
import { simulateFleet, type FleetParams } from '../replay/fleet.ts';
import { replayDemand } from '../replay/replay.ts';
import { formatQuality } from '../replay/summary-text.ts';
import { computeBaselines, scoreTargets, type Score } from '../replay/summary.ts';
import { DEFAULT_POLICY_SETTINGS } from '../controller/scaling/policy.ts';
import { createHoltWintersForecaster } from '../inference/holt-winters.ts';
import { defaultModelPath, loadForecaster } from '../inference/load.ts';
import { ALL_TRACES, geomean, loadDevTrace, readTrainingCorpus, rowGoal, splitByCorpus } from './dev-table.ts';
import { writeResultsSection } from './results-section.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, '../shared/data');

/** How the outcome switch weighs and compares its candidates' shadow fleets. */
export interface OutcomeSwitchSettings {
  /** Intervals after which an outcome counts half. */
  readonly halfLife: number;
  /** Intervals seen before the first switch. */
  readonly earnAfter: number;
  /** Relative improvement needed to switch (0.1 = 10% less unserved, or 10% cheaper). */
  readonly margin: number;
  /** How much dearer than the one in use a candidate with less unserved demand may be (0.1 = 10%). */
  readonly costSlack: number;
}

/**
 * The fleet's targets when each interval takes the candidate whose shadow fleet has done best so far.
 * Each candidate's targets run a fleet of their own (the replay contract's), whose unserved demand and
 * pods are weighed exponentially. At the end of interval t, with outcomes up to t seen, the one in use
 * gives way to a candidate with `margin` less unserved demand at no more than `costSlack` more pods, or
 * `margin` fewer pods at no more unserved demand: a better point at about the same cost, the way the
 * replay's quality figure judges a policy. The first candidate is in use until `earnAfter` intervals.
 */
export function outcomeSwitch(demand: readonly number[], candidates: readonly (readonly number[])[], p: FleetParams, s: OutcomeSwitchSettings): { targets: number[]; switches: number } {
  const fleets = candidates.map((t) => simulateFleet(demand, t, p));
  const w = 1 - Math.pow(0.5, 1 / s.halfLife);
  const unserved = candidates.map(() => 0);
  const pods = candidates.map(() => 0);
  let chosen = 0;
  let switches = 0;
  const targets: number[] = [];
  for (let t = 0; t < demand.length; t++) {
    for (let c = 0; c < candidates.length; c++) {
      const f = fleets[c];
      const short = Math.max(0, (demand[t] ?? 0) - p.capacity * (f?.ready[t] ?? 0)) / p.capacity;
      unserved[c] = (unserved[c] ?? 0) + w * (short - (unserved[c] ?? 0));
      pods[c] = (pods[c] ?? 0) + w * ((f?.existing[t] ?? 0) - (pods[c] ?? 0));
    }
    if (t >= s.earnAfter) {
      const u = unserved[chosen] ?? 0;
      const c0 = pods[chosen] ?? 0;
      for (let b = 0; b < candidates.length; b++) {
        const ub = unserved[b] ?? 0;
        const cb = pods[b] ?? 0;
        const better = (ub < (1 - s.margin) * u && cb <= (1 + s.costSlack) * c0) || (cb < (1 - s.margin) * c0 && ub <= u);
        if (b !== chosen && better) {
          chosen = b;
          switches++;
          break;
        }
      }
    }
    targets.push(candidates[chosen]?.[t] ?? 0);
  }
  return { targets, switches };
}

/** The settings screened: memories of 48 to 1,000 intervals (288 is a day at 5 minutes), each with a margin that keeps one lucky stretch from flapping the choice. */
const SWITCHES: readonly { label: string; s: OutcomeSwitchSettings }[] = [
  { label: 'switch, half-life 48', s: { halfLife: 48, earnAfter: 12, margin: 0.1, costSlack: 0.1 } },
  { label: 'switch, half-life 288', s: { halfLife: 288, earnAfter: 48, margin: 0.2, costSlack: 0.05 } },
  { label: 'switch, half-life 1000', s: { halfLife: 1000, earnAfter: 100, margin: 0.1, costSlack: 0.1 } },
];

interface Column {
  readonly label: string;
  readonly scores: Score[];
  readonly goals: string[];
}

const cell = (s: Score | undefined): string => (s ? `${formatQuality(s.qualityFigure)} / ${s.costVsDefaultHpa.toFixed(2)}x` : '-');

export async function run(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: opt } = parseArgs({ args: argv, options: { only: { type: 'string' } } });
  if (!existsSync(DATA)) {
    console.log(`bench/selection: the benchmark traces are not at ${DATA}; nothing to run`);
    return;
  }
  const { scored } = splitByCorpus(ALL_TRACES, readTrainingCorpus(dirname(defaultModelPath())));
  const only = opt.only ? new RegExp(opt.only, 'i') : undefined;
  const todo = scored.filter((t) => !only || only.test(t.name));
  const model = await loadForecaster({ logger: silentLogger(), metrics: createMetricRegistry(), readFile: (p) => readFile(p) }, { modelPath: defaultModelPath(), providers: ['cpu'], minHistorySteps: 12 });
  const labels = ['Holt-Winters (product)', 'model', ...SWITCHES.map((x) => x.label), 'larger of the two', 'mean of the two'];
  const columns: Column[] = labels.map((label) => ({ label, scores: [], goals: [] }));
  const names: string[] = [];
  const switchCounts: number[][] = SWITCHES.map(() => []);
  for (const t of todo) {
    const trace = loadDevTrace(DATA, t);
    const fleet = { capacity: conventionCapacity(trace.demand), startupSteps: conventionStartupSteps(trace.intervalSeconds), minReplicas: 1, maxReplicas: 10000 } satisfies FleetParams;
    const r = await replayDemand({ forecaster: createHoltWintersForecaster(), comparisons: [model] }, trace.demand, { ...fleet, intervalSeconds: trace.intervalSeconds, settings: DEFAULT_POLICY_SETTINGS }, false);
    const hw = r.run.targets;
    const ml = r.comparisons[0]?.run.targets;
    if (!ml || !r.score) continue;
    names.push(t.name);
    const baselines = computeBaselines(trace.demand, fleet, trace.intervalSeconds);
    const blends = [(a: number, b: number) => Math.max(a, b), (a: number, b: number) => Math.ceil((a + b) / 2)].map((f) => hw.map((a, i) => f(a, ml[i] ?? 0)));
    const switched = SWITCHES.map((x, i) => {
      const o = outcomeSwitch(trace.demand, [hw, ml], fleet, x.s);
      switchCounts[i]?.push(o.switches);
      return o.targets;
    });
    [hw, ml, ...switched, ...blends].forEach((targets, i) => {
      const s = scoreTargets(trace.demand, targets, fleet, baselines);
      columns[i]?.scores.push(s);
      columns[i]?.goals.push(rowGoal(s, trace.intervalSeconds));
    });
    console.error(`${t.name}: ${columns.map((c) => cell(c.scores[c.scores.length - 1])).join(' | ')}`);
  }
  await model.close();
  const lines = names.map((n, i) => `| ${n} | ${columns.map((c) => `${cell(c.scores[i])}${c.goals[i] === 'met' ? '' : ' (not met)'}`).join(' | ')} |`);
  const md = [
    '<!-- selection:begin (written by `npm run bench:selection`) -->',
    '## Selection by the fleet\'s outcome, a screen (issue 14, not in the product)',
    '',
    `On the ${names.length} scored rows (none trained the model), the Holt-Winters policy (the product's default) and the model's policy each run on a shadow fleet; "switch" takes, at the end of each interval, the target of the candidate whose fleet has done best so far (exponentially weighted unserved demand and pods, causal; \`outcomeSwitch\` in bench/selection.ts says the rule). "Larger" and "mean" blend the two policies' targets. Cells: quality figure / cost vs the default HPA, and "(not met)" where the per-row goal is missed. docs/forecasting.md (sixth round) reads it.`,
    '',
    `| row | ${labels.join(' | ')} |`,
    `|---|${labels.map(() => '---').join('|')}|`,
    ...lines,
    `| geometric mean | ${columns.map((c) => formatQuality(geomean(c.scores.map((s) => s.qualityFigure)))).join(' | ')} |`,
    `| rows met | ${columns.map((c) => `${c.goals.filter((g) => g === 'met').length} of ${names.length}`).join(' | ')} |`,
    `| switches (all rows) | - | - | ${switchCounts.map((c) => c.reduce((a, b) => a + b, 0)).join(' | ')} | - | - |`,
    '<!-- selection:end -->',
  ].join('\n');
  console.log(md);
  if (only) return;
  writeResultsSection('selection', md, { after: 'sensitivity' });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
