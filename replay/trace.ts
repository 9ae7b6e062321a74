import { ErrorCode, SurgeGuardError } from '../common/errors.ts';
import { splitCsvLine } from './csv.ts';
import { parseTimestamp } from './timestamp.ts';

/** How a trace file is read: interval rows (the default) or one row per request counted into buckets. */
export interface TraceOptions {
  readonly file: string;
  readonly timeColumn: string;
  readonly valueColumn: string;
  /** Seconds per bucket in per-request mode; interval mode when absent. */
  readonly bucketSeconds?: number;
  /** What fills a gap longer than one interval or an empty value cell: the previous value (default) or zero. */
  readonly fill: 'previous' | 'zero';
}

/** A demand series on a regular grid, as replay and the forecasters see it. */
export interface Trace {
  /** Epoch seconds at the start of each interval. */
  readonly timestamps: number[];
  /** Requests that arrived in each interval. */
  readonly demand: number[];
  readonly intervalSeconds: number;
  /**
   * Gaps that were filled, one line each: a run of missing rows names the file line after it, a run of
   * empty value cells names its first line.
   */
  readonly warnings: string[];
}

interface Row {
  readonly ts: number;
  /** Undefined where the value cell is empty: no data was recorded for the interval. */
  value: number | undefined;
  readonly line: number;
}

/** Parses a trace CSV's text per the replay contract; errors name the file and line. */
export function parseTrace(text: string, opts: TraceOptions): Trace {
  const lines = text.split(/\r?\n/);
  let headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) throw inputError(opts.file, 1, 'the file is empty; expected a header line');
  const header = splitCsvLine(lines[headerIndex] ?? '');
  const perRequest = opts.bucketSeconds !== undefined;
  const at = { file: opts.file, line: headerIndex + 1 };
  const timeIdx = columnIndex(header, opts.timeColumn, at, '--time-column');
  const valueIdx = perRequest ? -1 : columnIndex(header, opts.valueColumn, at, '--value-column');
  const rows: Row[] = [];
  for (let i = ++headerIndex; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') continue;
    rows.push(parseRow(splitCsvLine(raw), { timeIdx, valueIdx, line: i + 1, file: opts.file }));
  }
  if (rows.length === 0) throw inputError(opts.file, headerIndex + 1, 'no data rows after the header');
  return perRequest ? bucketRequests(rows, opts.bucketSeconds ?? 1, opts.file) : intervalSeries(rows, opts);
}

function columnIndex(header: string[], name: string, at: { file: string; line: number }, flag: string): number {
  const idx = header.indexOf(name);
  if (idx < 0) throw inputError(at.file, at.line, `no column "${name}" (${flag}); the header has: ${header.map((h) => `"${h}"`).join(', ')}`);
  return idx;
}

function parseRow(fields: string[], at: { timeIdx: number; valueIdx: number; line: number; file: string }): Row {
  const tsText = fields[at.timeIdx];
  if (tsText === undefined || tsText === '') throw inputError(at.file, at.line, 'missing timestamp');
  const ts = parseTimestamp(tsText);
  if (ts === undefined || !Number.isFinite(ts)) {
    throw inputError(at.file, at.line, `cannot read timestamp "${tsText}"; expected epoch seconds or ISO 8601 such as 2015-02-26 21:42:53`);
  }
  if (at.valueIdx < 0) return { ts, value: 1, line: at.line };
  const valueText = fields[at.valueIdx] ?? '';
  // An empty cell (or a row that ends before the value column) is a gap, as in the reference scorer.
  if (valueText === '') return { ts, value: undefined, line: at.line };
  const value = Number(valueText);
  if (!Number.isFinite(value) || value < 0) throw inputError(at.file, at.line, `value "${valueText}" is not a non-negative number`);
  return { ts, value, line: at.line };
}

function intervalSeries(rows: Row[], opts: TraceOptions): Trace {
  const merged = mergeRows(rows, opts.file);
  const intervalSeconds = mostCommonSpacing(merged);
  if (intervalSeconds === undefined) throw inputError(opts.file, merged[0]?.line ?? 1, 'need at least two distinct timestamps to know the interval length');
  const out: Trace = { timestamps: [], demand: [], intervalSeconds, warnings: [] };
  const empties = new EmptyRuns(opts);
  for (const row of merged) {
    fillGapBefore(row, out, opts);
    out.timestamps.push(row.ts);
    out.demand.push(row.value ?? fillValue(out, opts));
    empties.note(row, out.warnings);
  }
  empties.note(undefined, out.warnings);
  return out;
}

/** What fills an interval without data: the previous value (0 before the first), or 0 with `--fill zero`. */
function fillValue(out: Trace, opts: TraceOptions): number {
  // Missing data in an aggregated series is not zero demand, unless the user says so (--fill zero).
  return opts.fill === 'zero' ? 0 : (out.demand[out.demand.length - 1] ?? 0);
}

/** Warns once per run of consecutive empty value cells, naming the run's first line and its length. */
class EmptyRuns {
  private readonly opts: TraceOptions;
  private first: number | undefined;
  private count = 0;
  /** Where the run's warning sits, so that warnings stay in file order while the run's length is unknown. */
  private slot = -1;

  constructor(opts: TraceOptions) {
    this.opts = opts;
  }

  /** Notes the next row (undefined at the end of the file) and writes the warning of a run it ends. */
  note(row: Row | undefined, warnings: string[]): void {
    if (row !== undefined && row.value === undefined) {
      if (this.first === undefined) {
        this.first = row.line;
        this.slot = warnings.push('') - 1;
      }
      this.count++;
      return;
    }
    if (this.first === undefined) return;
    const n = this.count;
    const fill = this.opts.fill === 'zero' ? '0' : 'the previous value';
    warnings[this.slot] = `${this.opts.file}:${this.first}: ${n} empty value${n > 1 ? 's' : ''} (no data) from this row on, filled with ${fill}`;
    this.first = undefined;
    this.count = 0;
  }
}

/** Checks time order and sums rows with the same timestamp. */
function mergeRows(rows: Row[], file: string): Row[] {
  const merged: Row[] = [];
  for (const row of rows) {
    const last = merged[merged.length - 1];
    if (last && row.ts < last.ts) throw inputError(file, row.line, `row is earlier than the row before it (line ${last.line}); rows must be in time order`);
    // An empty cell adds no data; rows that are all empty stay a gap.
    if (last && row.ts === last.ts) last.value = last.value === undefined && row.value === undefined ? undefined : (last.value ?? 0) + (row.value ?? 0);
    else merged.push({ ...row });
  }
  return merged;
}

/** Fills whole missing intervals before a row and warns once for the gap, naming the row's line. */
function fillGapBefore(row: Row, out: Trace, opts: TraceOptions): void {
  const prevTs = out.timestamps[out.timestamps.length - 1];
  if (prevTs === undefined) return;
  // Irregular spacing near one interval is not a gap; only whole missing intervals are filled.
  const missing = Math.round((row.ts - prevTs) / out.intervalSeconds) - 1;
  if (missing <= 0) return;
  const fill = fillValue(out, opts);
  for (let k = 1; k <= missing; k++) {
    out.timestamps.push(prevTs + k * out.intervalSeconds);
    out.demand.push(fill);
  }
  out.warnings.push(`${opts.file}:${row.line}: gap of ${missing} interval${missing > 1 ? 's' : ''} before this row, filled with ${opts.fill === 'zero' ? '0' : 'the previous value'}`);
}

/** The most common spacing between consecutive rows (the smaller one on a tie), rounded to milliseconds. */
function mostCommonSpacing(rows: Row[]): number | undefined {
  const counts = new Map<number, number>();
  for (let i = 1; i < rows.length; i++) {
    const gap = Math.round(((rows[i]?.ts ?? 0) - (rows[i - 1]?.ts ?? 0)) * 1000) / 1000;
    counts.set(gap, (counts.get(gap) ?? 0) + 1);
  }
  let best: number | undefined;
  let bestCount = 0;
  for (const [gap, n] of counts) {
    if (n > bestCount || (n === bestCount && best !== undefined && gap < best)) {
      best = gap;
      bestCount = n;
    }
  }
  return best;
}

function bucketRequests(rows: Row[], bucketSeconds: number, file: string): Trace {
  let start = Infinity;
  let end = -Infinity;
  for (const r of rows) {
    start = Math.min(start, r.ts);
    end = Math.max(end, r.ts);
  }
  const n = Math.floor((end - start) / bucketSeconds) + 1;
  if (n > 50_000_000) throw inputError(file, rows[0]?.line ?? 2, `the trace spans ${n} buckets of ${bucketSeconds}s; use a larger --bucket`);
  const demand = new Array<number>(n).fill(0);
  for (const r of rows) demand[Math.floor((r.ts - start) / bucketSeconds)]! += 1;
  const timestamps = demand.map((_, i) => start + i * bucketSeconds);
  return { timestamps, demand, intervalSeconds: bucketSeconds, warnings: [] };
}

function inputError(file: string, line: number, message: string): SurgeGuardError {
  return new SurgeGuardError(ErrorCode.InputInvalid, `${file}:${line}: ${message}`, { details: { file, line } });
}
