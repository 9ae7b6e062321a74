import { hpaTargets } from './baselines.ts';
import { simulateFleet, type FleetResult } from './fleet.ts';
import { chartAssets } from './report-assets.ts';
import { CHART_SCRIPT, WORDS } from './report-charts.ts';
import type { ReplayResult } from './replay.ts';
import { CAUSE_LABELS, UNSERVED_CAUSES, defaultSurgeSettings, findSurges, surgeOutcome, type Surge, type SurgeOutcome } from './surges.ts';
import { PRINT_PRECISION, formatQuality } from './summary-text.ts';
import type { Score } from './summary.ts';
import { formatTimestamp } from './timestamp.ts';

export interface ReportInput {
  readonly title: string;
  readonly timestamps: readonly number[];
  readonly demand: readonly number[];
  readonly capacity: number;
  /** K + 1: how far ahead the forecast column looks. */
  readonly leadSteps: number;
  readonly result: ReplayResult;
  readonly forecaster: string;
  /** The fleet's bounds (the CLI's defaults when absent), for the default HPA's series. */
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  /** What one unit of demand is (default: requests). */
  readonly unit?: string;
}

/** At most this many surge tables; more are cut to those with the most unserved demand. */
const MAX_SURGE_TABLES = 40;

/**
 * Writes one HTML file that opens offline (uPlot and its license inlined): zoomable series of demand,
 * the forecast band, capacity and replicas for SurgeGuard and the default HPA; the comparison as a
 * table in the demo's words; and a table per surge with its lead time and unserved demand by cause.
 */
export function htmlReport(input: ReportInput): string {
  const { demand, result, capacity } = input;
  const n = demand.length;
  const k = input.leadSteps - 1;
  const interval = Math.max(1, (input.timestamps[1] ?? 0) - (input.timestamps[0] ?? 0) || 1);
  const unit = input.unit ?? 'requests';
  const fleetParams = { capacity, startupSteps: k, minReplicas: input.minReplicas ?? 1, maxReplicas: input.maxReplicas ?? 10000 };
  const hpaT = hpaTargets(demand, fleetParams, interval);
  const hpa = simulateFleet(demand, hpaT, fleetParams);
  // The HPA's series is drawn only when it is the fleet the score measured (same bounds).
  const hpaShown = !result.score || hpa.cost === result.score.defaultHpaCost;
  const assets = chartAssets();
  const surges = surgeRows({ input, k, hpa, hpaT: hpaShown ? hpaT : undefined, interval, unit });
  const from = formatTimestamp(input.timestamps[0] ?? 0);
  const to = formatTimestamp(input.timestamps[n - 1] ?? 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>SurgeGuard replay: ${esc(input.title)}</title>
<!-- uPlot, inlined so this file opens offline. ${esc(assets.license).replace(/--/g, '- -')} -->
<style>${assets.css}
body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#1d2330;background:#fafbfc}
h2{font-size:16px;margin:20px 0 6px}.chart{background:#fff;border:1px solid #dde1e8;border-radius:6px;overflow:hidden;margin:6px 0}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0;max-width:100%}th,td{border-bottom:1px solid #eceff3;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}caption{text-align:left;font-weight:600;padding:4px 0}.hint{color:#5b6475}
</style></head><body>
<h1 style="font-size:20px">SurgeGuard replay: ${esc(input.title)}</h1>
<p>${n} intervals of ${interval} s from ${from} to ${to} (UTC); ${esc(unit)} one replica serves per interval: ${capacity}; startup: ${k} interval${k === 1 ? '' : 's'} (${k * interval} s); forecaster ${esc(input.forecaster)}.</p>
<h2>How SurgeGuard compares</h2>
${comparisonTable(result)}
<h2>Demand, ${WORDS.band}, capacity of ready pods (${esc(unit)}/s)</h2>
<p class="hint">${WORDS.zoomHint}</p>
<div class="chart" id="demand-chart"></div>
<h2>Replicas: SurgeGuard and the ${WORDS.defaultHpa}</h2>
${hpaShown ? '' : '<p class="hint">The default HPA\'s series is left out: its bounds here differ from those the score used.</p>'}
<div class="chart" id="replica-chart"></div>
<h2>Surges</h2>
${surges}
<script>${assets.js}</script>
<script>${CHART_SCRIPT}
const D = ${JSON.stringify(chartData({ input, interval, hpa: hpaShown ? { fleet: hpa, targets: hpaT } : undefined }))};
const demandChart = sgChart(document.getElementById('demand-chart'), { unit: ${JSON.stringify(`${unit}/s`)}, height: 320, data: [D.x, D.demand, D.p50, D.p90, D.capacity], series: [
  { label: 'demand', stroke: '#1f6feb', width: 2 }, { label: ${JSON.stringify(WORDS.p50)}, stroke: '#bf8700' }, { label: 'forecast p90', stroke: '#f0b72f' }, { label: 'capacity of ready pods', stroke: '#2da44e' }],
  bands: [{ series: [3, 2], fill: 'rgba(240,183,47,0.3)' }] });
const replicaChart = sgChart(document.getElementById('replica-chart'), { unit: 'replicas', height: 240, data: [D.x, D.target, D.ready].concat(D.hpaTarget ? [D.hpaTarget, D.hpaReady] : []).concat(D.others.map((o) => o.targets)), series: [
  { label: 'SurgeGuard target', stroke: '#8250df', width: 2 }, { label: 'SurgeGuard ready', stroke: '#57606a' }].concat(D.hpaTarget ? [{ label: 'default HPA target', stroke: '#cf222e', dash: [4, 3] }, { label: 'default HPA ready', stroke: '#ff8182', show: false }] : []).concat(D.others.map((o) => ({ label: o.name + ' target', stroke: '#0a7ea4', show: false }))) });
window.charts = [demandChart, replicaChart];
for (const b of document.querySelectorAll('button[data-from]')) b.addEventListener('click', () => demandChart.setScale('x', { min: Number(b.dataset.from), max: Number(b.dataset.to) }));
document.body.dataset.ready = 'true';
</script>
</body></html>
`;
}

/** Four significant digits are plenty for a chart and keep a long trace's file small. */
function round(v: number | undefined): number | null {
  return v === undefined || !Number.isFinite(v) ? null : Number(v.toPrecision(4));
}

function chartData(c: { input: ReportInput; interval: number; hpa?: { fleet: FleetResult; targets: number[] } }): Record<string, unknown> {
  const { input, interval } = c;
  const r = input.result;
  const perSecond = (v: number | undefined): number | null => round(v === undefined ? undefined : v / interval);
  // The forecast made at t is for t + 1 + K: shifted so each value sits over the interval it predicts.
  const shifted = (xs: readonly (number | undefined)[]): (number | null)[] => input.demand.map((_, t) => perSecond(xs[t - input.leadSteps]));
  return {
    x: input.timestamps.map((t) => t),
    demand: input.demand.map(perSecond),
    p50: shifted(r.run.forecast),
    p90: shifted(r.run.forecastP90),
    capacity: r.fleet.ready.map((x) => perSecond(x * input.capacity)),
    target: r.run.targets,
    ready: r.fleet.ready,
    hpaTarget: c.hpa?.targets,
    hpaReady: c.hpa?.fleet.ready,
    others: r.comparisons.map((o) => ({ name: o.name, targets: o.run.targets })),
  };
}

function scoreRow(name: string, s: Score, id: string): string {
  return `<tr data-policy="${id}"><td>${esc(name)}</td><td class="quality">${formatQuality(s.qualityFigure)}</td><td class="cost-ratio">${s.costVsDefaultHpa.toFixed(PRINT_PRECISION.costRatio)}×</td><td class="unserved">${s.unservedFraction.toFixed(PRINT_PRECISION.fraction)}</td><td class="intervals">${s.unservedIntervals}</td><td class="cost">${s.cost}</td></tr>`;
}

/** The comparison as a table, in the demo's words; the values are the JSON summary's, at the printed precision. */
function comparisonTable(r: ReplayResult): string {
  const s = r.score;
  if (!s) {
    const f = r.fleet;
    return `<table id="comparison"><thead><tr><th>backlog (unserved work waits)</th><th>value</th></tr></thead><tbody><tr><td>most requests waiting</td><td>${f.maxBacklog ?? 0}</td></tr><tr><td>requests waiting, summed over intervals</td><td>${f.backlogIntervalSum ?? 0}</td></tr><tr><td>left at the end</td><td>${f.unserved}</td></tr><tr><td>${WORDS.unservedIntervals}</td><td>${f.unservedIntervals}</td></tr><tr><td>${WORDS.cost}</td><td>${f.cost}</td></tr></tbody></table>`;
  }
  const rows = [scoreRow('SurgeGuard', s, 'surgeguard'), ...r.comparisons.map((c) => scoreRow(`same policy, forecaster ${c.name}`, c.score, c.name))];
  rows.push(`<tr data-policy="default-hpa"><td>${WORDS.defaultHpa}</td><td></td><td class="cost-ratio">${(1).toFixed(PRINT_PRECISION.costRatio)}×</td><td class="unserved">${s.defaultHpaUnservedFraction.toFixed(PRINT_PRECISION.fraction)}</td><td></td><td class="cost">${s.defaultHpaCost}</td></tr>`);
  const rule = s.bestReactiveRule;
  const ruleCells = rule ? `<td class="cost-ratio">${(rule.cost / s.defaultHpaCost).toFixed(PRINT_PRECISION.costRatio)}×</td><td class="unserved">${(rule.unserved / (s.fleet.demand || 1)).toFixed(PRINT_PRECISION.fraction)}</td><td></td><td class="cost">${rule.cost}</td>` : '<td></td><td></td><td></td><td></td>';
  rows.push(`<tr data-policy="best-reactive-rule"><td>${WORDS.bestReactiveRule}: <span class="rule">${rule ? esc(rule.name) : 'none (every reactive rule cost more)'}</span></td><td></td>${ruleCells}</tr>`);
  rows.push(`<tr data-policy="best-reactive"><td>${WORDS.bestReactive}</td><td></td><td></td><td class="unserved">${s.bestReactiveUnservedFractionAtEqualCost.toFixed(PRINT_PRECISION.fraction)}</td><td></td><td></td></tr>`);
  return `<table id="comparison"><thead><tr><th>policy</th><th>${WORDS.quality}</th><th>${WORDS.costVsHpa}</th><th>${WORDS.unserved}</th><th>${WORDS.unservedIntervals}</th><th>${WORDS.cost}</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function leadText(o: SurgeOutcome, k: number, interval: number): string {
  if (o.leadIntervals === null) return 'never scaled';
  const s = o.leadIntervals * interval;
  const when = o.leadIntervals >= k + 1 ? 'pods ready at the onset' : o.leadIntervals > 0 ? 'before the onset, too late for it' : o.leadIntervals === 0 ? 'in the onset interval' : 'after the onset';
  return `${s > 0 ? '+' : ''}${s} s (${when})`;
}

function outcomeRow(name: string, o: SurgeOutcome, c: { k: number; interval: number }): string {
  const cells = UNSERVED_CAUSES.map((cause) => `<td class="${cause}">${Math.round(o.unserved[cause])}</td>`).join('');
  return `<tr><td>${name}</td><td class="lead">${leadText(o, c.k, c.interval)}</td>${cells}<td class="total">${Math.round(o.total)}</td></tr>`;
}

function surgeTable(s: Surge, i: number, c: { input: ReportInput; k: number; interval: number; unit: string; sg: SurgeOutcome; hpa?: SurgeOutcome }): string {
  const ts = c.input.timestamps;
  const at = (t: number): string => formatTimestamp(ts[t] ?? 0);
  const head = `<tr><th>fleet</th><th>lead time</th>${UNSERVED_CAUSES.map((cause) => `<th>${CAUSE_LABELS[cause]}</th>`).join('')}<th>unserved in all (${esc(c.unit)})</th></tr>`;
  const rows = outcomeRow('SurgeGuard', c.sg, c) + (c.hpa ? outcomeRow('default HPA', c.hpa, c) : '');
  const peak = round((s.peak ?? 0) / c.interval);
  return `<table class="surge" data-onset="${s.onset}" data-end="${s.end}" data-peak="${s.peak}"><caption>Surge ${i + 1}: onset ${at(s.onset)} UTC, peak ${peak} ${esc(c.unit)}/s at ${at(s.peakAt)} UTC, over at ${s.end < ts.length ? `${at(s.end)} UTC` : 'the end of the trace'} <button data-from="${ts[Math.max(0, s.onset - 2 * c.input.leadSteps)] ?? 0}" data-to="${ts[Math.min(ts.length - 1, s.end + c.input.leadSteps)] ?? 0}">show on the chart</button></caption><thead>${head}</thead><tbody>${rows}</tbody></table>`;
}

function surgeRows(c: { input: ReportInput; k: number; hpa: FleetResult; hpaT?: number[]; interval: number; unit: string }): string {
  const { input, k } = c;
  const p = { capacity: input.capacity, startupSteps: k };
  const all = findSurges(input.demand, defaultSurgeSettings(p)).map((s) => ({
    s,
    sg: surgeOutcome(s, input.demand, { ready: input.result.fleet.ready, targets: input.result.run.targets }, p),
    hpa: c.hpaT ? surgeOutcome(s, input.demand, { ready: c.hpa.ready, targets: c.hpaT }, p) : undefined,
  }));
  const kept = all.length <= MAX_SURGE_TABLES ? all : [...all].sort((a, b) => b.sg.total + (b.hpa?.total ?? 0) - a.sg.total - (a.hpa?.total ?? 0)).slice(0, MAX_SURGE_TABLES).sort((a, b) => a.s.onset - b.s.onset);
  const intro = `<p class="hint">A surge starts where demand exceeds twice the median of the 48 intervals before it (and one replica's capacity), and ends after ${2 * (k + 1)} intervals in a row back at or below that level. Lead time: how long before the onset the target first rose (${(k + 1) * c.interval} s or more: the new pods served from the onset on). Unserved demand in ${esc(c.unit)}, by cause (docs/replay.md): <b>onset nobody could see</b>, the first ${k + 1} intervals, which only pods asked for before the surge showed can serve; <b>follow-on</b>, demand above all the surge had shown a startup time earlier; <b>scale-down too early</b>, demand the fleet had served earlier in the surge with pods it has since removed; <b>sustained</b>, a level seen a startup time earlier that the fleet still did not meet.${all.length > kept.length ? ` ${all.length} surges found; the ${kept.length} with the most unserved demand are shown.` : ` ${all.length} surge${all.length === 1 ? '' : 's'} found.`}</p>`;
  return intro + kept.map((x, i) => surgeTable(x.s, i, { input, k, interval: c.interval, unit: c.unit, sg: x.sg, hpa: x.hpa })).join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
