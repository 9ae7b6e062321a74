import type { NodeRunResult } from './nodes.ts';
import type { NodeRuns, ReplayResult, ScoredRun } from './replay.ts';
import type { Score } from './summary.ts';
import type { TraceChanges } from './trace.ts';

/** The figures the summary prints, at the precision the reference scorer is compared to. */
export const PRINT_PRECISION = { quality: 3, costRatio: 3, fraction: 6 } as const;

/** Formats a quality figure the way the summary prints it (Infinity as "inf"). */
export function formatQuality(q: number): string {
  return Number.isFinite(q) ? q.toFixed(PRINT_PRECISION.quality) : 'inf';
}

function row(name: string, s: Score): string {
  return `  ${name.padEnd(22)} ${formatQuality(s.qualityFigure).padStart(8)} ${s.costVsDefaultHpa.toFixed(PRINT_PRECISION.costRatio).padStart(9)}x ${s.unservedFraction.toFixed(PRINT_PRECISION.fraction).padStart(10)} ${String(s.unservedIntervals).padStart(9)} ${String(s.cost).padStart(12)}`;
}

/** What the summary says besides the figures. */
export interface SummaryMeta {
  readonly forecaster: string;
  readonly intervals: number;
  readonly demand: number;
  /** What one unit of demand is: requests (the default), or weighted columns such as tokens. */
  readonly unit?: string;
  /** What the input rules changed in the trace (summed, filled), when it was read from rows. */
  readonly changes?: TraceChanges;
  readonly maxReplicas?: number;
  /** The campaign windows the run was given (--schedule), and how many of them fall in the trace. */
  readonly campaigns?: { readonly file: string; readonly windows: number; readonly inTrace: number };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * One line saying how many rows or intervals each input rule of the contract changed: rows with a
 * repeated timestamp summed, gaps and empty values filled (with what), empty buckets counted as 0.
 */
export function inputChangesText(c: TraceChanges): string {
  const fill = c.fill === 'zero' ? '0' : 'the previous value';
  const parts: string[] = [];
  if (c.duplicateRowsSummed > 0) parts.push(`${plural(c.duplicateRowsSummed, 'row')} with a repeated timestamp summed into the row before`);
  if (c.gapsFilled > 0) parts.push(`${plural(c.gapIntervalsFilled, 'missing interval')} in ${plural(c.gapsFilled, 'gap')} filled with ${fill}`);
  if (c.emptyValuesFilled > 0) parts.push(`${plural(c.emptyValuesFilled, 'empty value')} filled with ${fill}`);
  if (c.gapsFilled > 0 || c.emptyValuesFilled > 0) parts.push(`longest gap ${plural(c.longestGapIntervals, 'interval')}`);
  if (c.emptyBuckets > 0) parts.push(`${plural(c.emptyBuckets, 'bucket')} without a request counted as 0`);
  return `input: ${parts.length > 0 ? parts.join('; ') : 'no rows summed, no gaps or empty values filled'}`;
}

/** The human summary of a replay: the policy's figures and the comparisons, as a small table. */
export function summaryText(result: ReplayResult, meta: SummaryMeta): string {
  const lines: string[] = [];
  const f = result.fleet;
  lines.push(`replayed ${meta.intervals} intervals, ${meta.demand} ${meta.unit ?? 'requests'}; forecaster ${meta.forecaster}`);
  if (meta.changes) lines.push(inputChangesText(meta.changes));
  if (result.maxReplicasCapped) {
    lines.push(
      `note: demand is high enough for --max-replicas ${meta.maxReplicas ?? ''} to cap the starting fleet or the reactive baselines, which the contract leaves uncapped; every fleet here is capped, so the reference scorer may differ on this run`,
    );
  }
  const sources = Object.entries(result.run.sources).map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(`forecasts by: ${sources}; surges seen: ${result.run.surges}`);
  if (meta.campaigns) lines.push(campaignText(meta.campaigns, result.run.reasons.Campaign ?? 0));
  if (!result.score) {
    lines.push(`backlog: max ${f.maxBacklog ?? 0}, sum over intervals ${f.backlogIntervalSum ?? 0}, left at the end ${f.unserved}`);
    lines.push(`intervals with work left over: ${f.unservedIntervals}; cost ${f.cost} pod-intervals`);
    if (result.nodes) lines.push(...nodesText(result.nodes));
    return `${lines.join('\n')}\n`;
  }
  const s = result.score;
  lines.push('');
  lines.push(`  ${'policy'.padEnd(22)} ${'quality'.padStart(8)} ${'cost/HPA'.padStart(10)} ${'unserved'.padStart(10)} ${'intervals'.padStart(9)} ${'cost'.padStart(12)}`);
  lines.push(row('surgeguard', s));
  for (const c of result.comparisons) lines.push(row(comparisonLabel(c), c.score));
  lines.push(`  ${'default HPA'.padEnd(22)} ${''.padStart(8)} ${(1).toFixed(PRINT_PRECISION.costRatio).padStart(9)}x ${s.defaultHpaUnservedFraction.toFixed(PRINT_PRECISION.fraction).padStart(10)} ${''.padStart(9)} ${String(s.defaultHpaCost).padStart(12)}`);
  lines.push(`  ${'best reactive, same cost'.padEnd(22)} ${''.padStart(8)} ${''.padStart(10)} ${s.bestReactiveUnservedFractionAtEqualCost.toFixed(PRINT_PRECISION.fraction).padStart(10)}`);
  lines.push('');
  lines.push('quality = unserved demand / best reactive baseline\'s at equal cost (lower is better; 1 = no better than reactive);');
  lines.push('unserved = fraction of demand dropped; cost = pod-intervals (starting pods included).');
  if (result.nodes) lines.push('', ...nodesText(result.nodes));
  return `${lines.join('\n')}\n`;
}

/** What the campaign windows did, and what the figures then mean: the reactive baselines had no calendar. */
function campaignText(c: NonNullable<SummaryMeta['campaigns']>, bound: number): string {
  return `campaign windows: ${plural(c.windows, 'window')} from ${c.file}, ${c.inTrace} within the trace; a window set the target in ${plural(bound, 'interval')}. The policy and its comparisons knew the calendar and the reactive baselines did not: the quality figure then measures a forecast given outside knowledge`;
}

function nodeRow(name: string, r: NodeRunResult): string {
  return `  ${name.padEnd(22)} ${(r.unserved / (r.demand || 1)).toFixed(PRINT_PRECISION.fraction).padStart(10)} ${String(r.pendingPodIntervals).padStart(9)} ${r.meanPendingSeconds.toFixed(0).padStart(8)} ${r.p95PendingSeconds.toFixed(0).padStart(8)} ${r.gpuNodeHours.toFixed(2).padStart(10)}`;
}

/** The node model's lines (replay/nodes.ts): the same targets on GPU nodes, without and with placeholders. */
export function nodesText(n: NodeRuns): string[] {
  const s = n.settings;
  return [
    `on GPU nodes: new nodes Ready ${s.nodeLeadSteps} interval(s) after their request; ${s.gpusFree} GPUs free at the start; ${s.gpusPerNode} per node, ${s.gpusPerReplica} per replica; empty nodes removed after ${s.scaleDownDelaySteps} interval(s)`,
    `  ${'nodes'.padEnd(22)} ${'unserved'.padStart(10)} ${'Pending'.padStart(9)} ${'mean s'.padStart(8)} ${'p95 s'.padStart(8)} ${'node-hours'.padStart(10)}`,
    nodeRow('autoscaler alone', n.without),
    nodeRow('with placeholders', n.with),
    `Pending = pod-intervals Pending; mean/p95 s = Pending time per pod created; placeholders: cap ${s.placeholders?.capGpus ?? 0} GPUs, released ${s.placeholders?.stabilizationSteps ?? 0} interval(s) after the need falls.`,
  ];
}

function comparisonLabel(c: ScoredRun): string {
  if (c.name === 'holt-winters') return 'holt-winters only';
  // The model with its fallback (`onnx+holt-winters`).
  return c.name.includes('+') ? 'model (onnx)' : c.name;
}
