import { formatTimestamp } from './timestamp.ts';
import type { ReplayResult } from './replay.ts';
import { summaryText } from './summary-text.ts';

export interface ReportInput {
  readonly title: string;
  readonly timestamps: readonly number[];
  readonly demand: readonly number[];
  readonly capacity: number;
  /** K + 1: how far ahead the forecast column looks. */
  readonly leadSteps: number;
  readonly result: ReplayResult;
  readonly forecaster: string;
}

/** Most points drawn per line; longer traces are reduced to per-bucket maxima so spikes stay visible. */
const MAX_POINTS = 1500;
const W = 1100;
const H = 260;

/**
 * Writes a self-contained HTML page (inline SVG, no scripts or external files) showing demand, the
 * forecast band, serving capacity, target and ready replicas, and unserved demand, so it opens offline.
 */
export function htmlReport(input: ReportInput): string {
  const { demand, result, capacity } = input;
  const n = demand.length;
  const served = result.fleet.ready.map((r) => r * capacity);
  const unserved = demand.map((d, i) => Math.max(0, d - (served[i] ?? 0)));
  // The forecast made at t is for interval t+1+K: shift it so each point sits over the interval it predicts.
  const shift = (xs: readonly (number | undefined)[]): (number | undefined)[] => Array.from({ length: n }, (_, t) => xs[t - input.leadSteps]);
  const p10 = shift(result.run.forecastP10);
  const p50 = shift(result.run.forecast);
  const p90 = shift(result.run.forecastP90);
  const top1 = Math.max(1, ...reduce(demand), ...reduce(served), ...reduce(p90.map((v) => v ?? 0)));
  const chart1 = [
    band(reduce(p10.map((v) => v ?? 0)), reduce(p90.map((v) => v ?? 0)), top1, '#9ecae1'),
    line(reduce(served), top1, '#31a354', 'serving capacity'),
    line(reduce(p50.map((v) => v ?? 0)), top1, '#3182bd', 'forecast p50'),
    line(reduce(demand), top1, '#222', 'demand'),
    bars(reduce(unserved), top1, '#de2d26'),
  ].join('');
  const top2 = Math.max(1, ...reduce(result.run.targets), ...reduce(result.fleet.existing));
  const chart2 = [
    line(reduce(result.fleet.existing), top2, '#aaa', 'existing'),
    line(reduce(result.run.targets), top2, '#756bb1', 'target'),
    line(reduce(result.fleet.ready), top2, '#31a354', 'ready'),
  ].join('');
  const from = formatTimestamp(input.timestamps[0] ?? 0);
  const to = formatTimestamp(input.timestamps[n - 1] ?? 0);
  const summary = summaryText(result, { forecaster: input.forecaster, intervals: n, demand: demand.reduce((a, b) => a + b, 0) });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SurgeGuard replay: ${esc(input.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}svg{background:#fafafa;border:1px solid #ddd}pre{background:#f4f4f4;padding:12px}.k span{display:inline-block;margin-right:16px}.k i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}</style>
</head><body>
<h1>SurgeGuard replay: ${esc(input.title)}</h1>
<p>${n} intervals from ${from} to ${to} (UTC)${n > MAX_POINTS ? `; each point is the maximum of about ${Math.ceil(n / MAX_POINTS)} intervals` : ''}.</p>
<h2>Demand, forecast band (p10 to p90, placed at the interval it predicts), serving capacity, unserved demand</h2>
<div class="k">${key('#222', 'demand')}${key('#3182bd', 'forecast p50')}${key('#9ecae1', 'forecast band')}${key('#31a354', 'serving capacity')}${key('#de2d26', 'unserved')}</div>
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="demand and capacity">${chart1}</svg>
<p>requests per interval, 0 to ${fmt(top1)}</p>
<h2>Replicas</h2>
<div class="k">${key('#756bb1', 'target')}${key('#31a354', 'ready')}${key('#aaa', 'existing')}</div>
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="replicas">${chart2}</svg>
<p>replicas, 0 to ${fmt(top2)}</p>
<h2>Summary</h2>
<pre>${esc(summary)}</pre>
</body></html>
`;
}

function reduce(xs: readonly number[]): number[] {
  if (xs.length <= MAX_POINTS) return [...xs];
  const size = Math.ceil(xs.length / MAX_POINTS);
  const out: number[] = [];
  for (let i = 0; i < xs.length; i += size) {
    let m = -Infinity;
    for (let j = i; j < Math.min(xs.length, i + size); j++) m = Math.max(m, xs[j] ?? 0);
    out.push(m);
  }
  return out;
}

function xy(i: number, count: number, v: number, top: number): string {
  const x = count > 1 ? (i * (W - 10)) / (count - 1) + 5 : W / 2;
  const y = H - 5 - (Math.max(0, v) * (H - 10)) / top;
  return `${x.toFixed(1)},${y.toFixed(1)}`;
}

function line(ys: readonly number[], top: number, color: string, label: string): string {
  const pts = ys.map((v, i) => xy(i, ys.length, v, top)).join(' ');
  return `<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${pts}"><title>${label}</title></polyline>`;
}

function band(lo: readonly number[], hi: readonly number[], top: number, color: string): string {
  const upper = hi.map((v, i) => xy(i, hi.length, v, top));
  const lower = lo.map((v, i) => xy(i, lo.length, v, top)).reverse();
  return `<polygon fill="${color}" fill-opacity="0.5" stroke="none" points="${[...upper, ...lower].join(' ')}"/>`;
}

function bars(ys: readonly number[], top: number, color: string): string {
  return ys
    .map((v, i) => (v > 0 ? `<line x1="${xy(i, ys.length, 0, top).split(',')[0]}" x2="${xy(i, ys.length, 0, top).split(',')[0]}" y1="${H - 5}" y2="${xy(i, ys.length, v, top).split(',')[1]}" stroke="${color}" stroke-width="1.5"/>` : ''))
    .join('');
}

function key(color: string, label: string): string {
  return `<span><i style="background:${color}"></i>${label}</span>`;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
