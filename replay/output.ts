import { formatTimestamp } from './timestamp.ts';
import type { FleetResult } from './fleet.ts';
import type { PolicyRun } from './engine.ts';

/** Rounds a forecast for the output file; figures are recomputed from demand and targets, not from it. */
function fmt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v * 1000) / 1000);
}

/** The replay output file: one row per interval with the contract's columns first, in its order, then the band and the rule that bound the target. */
export function outputCsv(timestamps: readonly number[], demand: readonly number[], run: PolicyRun, fleet: FleetResult): string {
  const lines = ['timestamp,demand,forecast,target_replicas,ready_replicas,existing_replicas,forecast_p10,forecast_p90,reason'];
  for (let t = 0; t < demand.length; t++) {
    lines.push(
      [formatTimestamp(timestamps[t] ?? 0), String(demand[t] ?? 0), fmt(run.forecast[t]), String(run.targets[t] ?? ''), String(fleet.ready[t] ?? ''), String(fleet.existing[t] ?? ''), fmt(run.forecastP10[t]), fmt(run.forecastP90[t]), run.reasonPerInterval[t] ?? ''].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
