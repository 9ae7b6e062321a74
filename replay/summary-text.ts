import type { ReplayResult, ScoredRun } from './replay.ts';
import type { Score } from './summary.ts';

/** The figures the summary prints, at the precision the reference scorer is compared to. */
export const PRINT_PRECISION = { quality: 3, costRatio: 3, fraction: 6 } as const;

/** Formats a quality figure the way the summary prints it (Infinity as "inf"). */
export function formatQuality(q: number): string {
  return Number.isFinite(q) ? q.toFixed(PRINT_PRECISION.quality) : 'inf';
}

function row(name: string, s: Score): string {
  return `  ${name.padEnd(22)} ${formatQuality(s.qualityFigure).padStart(8)} ${s.costVsDefaultHpa.toFixed(PRINT_PRECISION.costRatio).padStart(9)}x ${s.unservedFraction.toFixed(PRINT_PRECISION.fraction).padStart(10)} ${String(s.unservedIntervals).padStart(9)} ${String(s.cost).padStart(12)}`;
}

/** The human summary of a replay: the policy's figures and the comparisons, as a small table. */
export function summaryText(result: ReplayResult, meta: { forecaster: string; intervals: number; demand: number }): string {
  const lines: string[] = [];
  const f = result.fleet;
  lines.push(`replayed ${meta.intervals} intervals, ${meta.demand} requests; forecaster ${meta.forecaster}`);
  const sources = Object.entries(result.run.sources).map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(`forecasts by: ${sources}; surges seen: ${result.run.surges}`);
  if (!result.score) {
    lines.push(`backlog: max ${f.maxBacklog ?? 0}, sum over intervals ${f.backlogIntervalSum ?? 0}, left at the end ${f.unserved}`);
    lines.push(`intervals with work left over: ${f.unservedIntervals}; cost ${f.cost} pod-intervals`);
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
  return `${lines.join('\n')}\n`;
}

function comparisonLabel(c: ScoredRun): string {
  return c.name === 'holt-winters' ? 'holt-winters only' : c.name;
}
