import { ErrorCode, SurgeGuardError } from '../common/errors.ts';
import { splitCsvLine } from './csv.ts';
import { parseTimestamp } from './timestamp.ts';

/** The longest gap filled with invented demand unless the user raises it: 12 times the longest in the benchmark's traces. */
export const DEFAULT_MAX_GAP_INTERVALS = 288;

/**
 * The most intervals a trace may have after bucketing and gap filling. Replay keeps several numbers
 * per interval for each run (the policy's, the comparisons', 404 baselines'), so this bounds memory.
 */
export const MAX_TRACE_INTERVALS = 10_000_000;

/** How a trace file is read: interval rows (the default) or one row per request counted into buckets. */
export interface TraceOptions {
  readonly file: string;
  readonly timeColumn: string;
  readonly valueColumn: string;
  /** Seconds per bucket in per-request mode; interval mode when absent. */
  readonly bucketSeconds?: number;
  /**
   * Per-request mode: what one request adds to its bucket, as a weighted sum of its columns (tokens:
   * ContextTokens and GeneratedTokens); each request counts 1 when absent.
   */
  readonly weights?: readonly RequestWeight[];
  /** What fills a gap longer than one interval or an empty value cell: the previous value (default) or zero. */
  readonly fill: 'previous' | 'zero';
  /**
   * The longest gap filled (missing intervals between two rows, or a run of empty value cells); a
   * longer one is an error naming its line. Default {@link DEFAULT_MAX_GAP_INTERVALS}.
   */
  readonly maxGapIntervals?: number;
}

/** One column of a request's weight and its factor (`GeneratedTokens*1`). */
export interface RequestWeight {
  readonly column: string;
  readonly factor: number;
}

/**
 * Reads `--weight-columns`: comma-separated column names, each with an optional `*FACTOR`
 * (`ContextTokens*0.1,GeneratedTokens`). Undefined for a malformed list, so the caller names the flag.
 */
export function parseWeights(text: string): RequestWeight[] | undefined {
  const out: RequestWeight[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([^*\s][^*]*?)\s*(?:\*\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*)?$/.exec(part);
    if (!m) return undefined;
    const factor = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isFinite(factor) || factor <= 0) return undefined;
    out.push({ column: m[1] as string, factor });
  }
  return out.length > 0 ? out : undefined;
}

/** How many rows or intervals each of the contract's input rules changed, for the summary. */
export interface TraceChanges {
  /** Rows whose timestamp repeated the row before's, summed into it. */
  readonly duplicateRowsSummed: number;
  /** Gaps of missing rows that were filled, and the intervals inserted for them. */
  readonly gapsFilled: number;
  readonly gapIntervalsFilled: number;
  /** Rows with an empty value cell (no data recorded), filled. */
  readonly emptyValuesFilled: number;
  /** The longest run of filled intervals: a gap of missing rows or a run of empty values. */
  readonly longestGapIntervals: number;
  /** Per-request mode: buckets without a request, counted as 0 as the contract says. */
  readonly emptyBuckets: number;
  /** What filled the gaps and empty values. */
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
  /** What the input rules changed (absent where the series was built some other way). */
  readonly changes?: TraceChanges;
}

/** One data row as parsed. */
interface Row {
  readonly ts: number;
  /** Undefined where the value cell is empty: no data was recorded for the interval. */
  readonly value: number | undefined;
  readonly line: number;
}

/** Rows as read, kept as plain numbers (an empty value cell is NaN) so a long trace costs 24 bytes a row. */
interface Rows {
  readonly ts: number[];
  readonly value: number[];
  readonly line: number[];
  duplicates: number;
}

/** Parses a trace CSV's text per the replay contract; errors name the file and line. */
export function parseTrace(text: string, opts: TraceOptions): Trace {
  const reader = new TraceReader(opts);
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) reader.line(lines[i] ?? '', i + 1);
  return reader.finish();
}

/**
 * Reads a trace one line at a time (so a file is never held whole in memory) and builds the series at
 * the end. Rows with the same timestamp are merged as they come: only distinct timestamps are kept.
 */
export class TraceReader {
  private readonly opts: TraceOptions;
  private header: { timeIdx: number; valueIdx: number; weightIdx: number[]; line: number } | undefined;
  private readonly rows: Rows = { ts: [], value: [], line: [], duplicates: 0 };
  private lastLine = 0;

  constructor(opts: TraceOptions) {
    this.opts = opts;
  }

  /** Takes line number `lineNo` (1-based) of the file, without its line break. */
  line(raw: string, lineNo: number): void {
    this.lastLine = lineNo;
    if (raw.trim() === '') return;
    if (!this.header) {
      this.header = this.readHeader(splitCsvLine(raw), lineNo);
      return;
    }
    const fields = splitCsvLine(raw);
    const row = parseRow(fields, { timeIdx: this.header.timeIdx, valueIdx: this.header.valueIdx, line: lineNo, file: this.opts.file });
    if (this.opts.bucketSeconds === undefined) this.addIntervalRow(row);
    else {
      this.rows.ts.push(row.ts);
      if (this.opts.weights) this.rows.value.push(requestWeight(fields, this.header.weightIdx, this.opts, lineNo));
    }
  }

  /** The series, once every line was given. */
  finish(): Trace {
    if (!this.header) throw inputError(this.opts.file, 1, 'the file is empty; expected a header line');
    if (this.rows.ts.length === 0) throw inputError(this.opts.file, this.header.line + 1, 'no data rows after the header');
    return this.opts.bucketSeconds !== undefined ? bucketRequests(this.rows, this.opts.bucketSeconds, this.opts) : intervalSeries(this.rows, this.opts);
  }

  private readHeader(header: string[], line: number): { timeIdx: number; valueIdx: number; weightIdx: number[]; line: number } {
    const at = { file: this.opts.file, line };
    const timeIdx = columnIndex(header, this.opts.timeColumn, at, '--time-column');
    const valueIdx = this.opts.bucketSeconds !== undefined ? -1 : columnIndex(header, this.opts.valueColumn, at, '--value-column');
    const weightIdx = (this.opts.bucketSeconds !== undefined ? (this.opts.weights ?? []) : []).map((w) => columnIndex(header, w.column, at, '--weight-columns'));
    return { timeIdx, valueIdx, weightIdx, line };
  }

  /** Checks time order and sums a row into the one before when it has the same timestamp. */
  private addIntervalRow(row: Row): void {
    const r = this.rows;
    const last = r.ts.length - 1;
    if (last >= 0 && row.ts < (r.ts[last] as number)) {
      throw inputError(this.opts.file, row.line, `row is earlier than the row before it (line ${r.line[last]}); rows must be in time order`);
    }
    const value = row.value ?? NaN;
    if (last >= 0 && row.ts === r.ts[last]) {
      const prev = r.value[last] as number;
      // An empty cell adds no data; rows that are all empty stay a gap.
      r.value[last] = Number.isNaN(prev) && Number.isNaN(value) ? NaN : (Number.isNaN(prev) ? 0 : prev) + (Number.isNaN(value) ? 0 : value);
      r.duplicates++;
      return;
    }
    r.ts.push(row.ts);
    r.value.push(value);
    r.line.push(row.line);
  }
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

/** Mutable figures while a series is built. */
interface Counts {
  gaps: number;
  gapIntervals: number;
  empties: number;
  longest: number;
}

function intervalSeries(rows: Rows, opts: TraceOptions): Trace {
  const intervalSeconds = mostCommonSpacing(rows.ts);
  if (intervalSeconds === undefined) throw inputError(opts.file, rows.line[0] ?? 1, 'need at least two distinct timestamps to know the interval length');
  const out: Trace = { timestamps: [], demand: [], intervalSeconds, warnings: [] };
  const counts: Counts = { gaps: 0, gapIntervals: 0, empties: 0, longest: 0 };
  const empties = new EmptyRuns(opts, counts);
  for (let i = 0; i < rows.ts.length; i++) {
    const row: Row = { ts: rows.ts[i] as number, value: Number.isNaN(rows.value[i]) ? undefined : rows.value[i], line: rows.line[i] as number };
    fillGapBefore(row, out, opts, counts);
    if (out.demand.length >= MAX_TRACE_INTERVALS) throw tooManyIntervals(opts.file, row.line);
    out.timestamps.push(row.ts);
    out.demand.push(row.value ?? fillValue(out, opts));
    empties.note(row, out.warnings);
  }
  empties.note(undefined, out.warnings);
  const changes: TraceChanges = {
    duplicateRowsSummed: rows.duplicates,
    gapsFilled: counts.gaps,
    gapIntervalsFilled: counts.gapIntervals,
    emptyValuesFilled: counts.empties,
    longestGapIntervals: counts.longest,
    emptyBuckets: 0,
    fill: opts.fill,
  };
  return { ...out, changes };
}

function maxGap(opts: TraceOptions): number {
  return opts.maxGapIntervals ?? DEFAULT_MAX_GAP_INTERVALS;
}

/** What fills an interval without data: the previous value (0 before the first), or 0 with `--fill zero`. */
function fillValue(out: Trace, opts: TraceOptions): number {
  // Missing data in an aggregated series is not zero demand, unless the user says so (--fill zero).
  return opts.fill === 'zero' ? 0 : (out.demand[out.demand.length - 1] ?? 0);
}

/** Warns once per run of consecutive empty value cells, naming the run's first line and its length. */
class EmptyRuns {
  private readonly opts: TraceOptions;
  private readonly counts: Counts;
  private first: number | undefined;
  private count = 0;
  /** Where the run's warning sits, so that warnings stay in file order while the run's length is unknown. */
  private slot = -1;

  constructor(opts: TraceOptions, counts: Counts) {
    this.opts = opts;
    this.counts = counts;
  }

  /** Notes the next row (undefined at the end of the file) and writes the warning of a run it ends. */
  note(row: Row | undefined, warnings: string[]): void {
    if (row !== undefined && row.value === undefined) {
      if (this.first === undefined) {
        this.first = row.line;
        this.slot = warnings.push('') - 1;
      }
      this.count++;
      this.counts.empties++;
      // Checked as the run grows, so the error names the run's first line whatever its length.
      if (this.count > maxGap(this.opts)) throw gapTooLong(this.opts, this.first, `a run of empty values (no data) longer than ${maxGap(this.opts)} intervals starts at this row`);
      return;
    }
    if (this.first === undefined) return;
    const n = this.count;
    this.counts.longest = Math.max(this.counts.longest, n);
    const fill = this.opts.fill === 'zero' ? '0' : 'the previous value';
    warnings[this.slot] = `${this.opts.file}:${this.first}: ${n} empty value${n > 1 ? 's' : ''} (no data) from this row on, filled with ${fill}`;
    this.first = undefined;
    this.count = 0;
  }
}

/** Fills whole missing intervals before a row and warns once for the gap, naming the row's line. */
function fillGapBefore(row: Row, out: Trace, opts: TraceOptions, counts: Counts): void {
  const prevTs = out.timestamps[out.timestamps.length - 1];
  if (prevTs === undefined) return;
  // Irregular spacing near one interval is not a gap; only whole missing intervals are filled.
  const missing = Math.round((row.ts - prevTs) / out.intervalSeconds) - 1;
  if (missing <= 0) return;
  if (missing > maxGap(opts)) {
    throw gapTooLong(opts, row.line, `gap of ${missing} intervals of ${out.intervalSeconds}s before this row (no rows since ${new Date(prevTs * 1000).toISOString()}), longer than ${maxGap(opts)}`, missing);
  }
  if (out.demand.length + missing >= MAX_TRACE_INTERVALS) throw tooManyIntervals(opts.file, row.line);
  const fill = fillValue(out, opts);
  for (let k = 1; k <= missing; k++) {
    out.timestamps.push(prevTs + k * out.intervalSeconds);
    out.demand.push(fill);
  }
  counts.gaps++;
  counts.gapIntervals += missing;
  counts.longest = Math.max(counts.longest, missing);
  out.warnings.push(`${opts.file}:${row.line}: gap of ${missing} interval${missing > 1 ? 's' : ''} before this row, filled with ${opts.fill === 'zero' ? '0' : 'the previous value'}`);
}

/** A gap the contract would fill with invented demand, but longer than the user allowed. */
function gapTooLong(opts: TraceOptions, line: number, what: string, length?: number): SurgeGuardError {
  const raise = length !== undefined ? `--max-gap-intervals ${length}` : '--max-gap-intervals N';
  return new SurgeGuardError(
    ErrorCode.InputInvalid,
    `${opts.file}:${line}: ${what}; a gap is filled with ${opts.fill === 'zero' ? '0' : 'the previous value'} (invented demand) only up to --max-gap-intervals (default ${DEFAULT_MAX_GAP_INTERVALS}); pass ${raise} to fill it anyway, or cut the trace`,
    { details: { file: opts.file, line, gapIntervals: length, maxGapIntervals: maxGap(opts) } },
  );
}

function tooManyIntervals(file: string, line: number): SurgeGuardError {
  return inputError(file, line, `the trace has more than ${MAX_TRACE_INTERVALS} intervals after gap filling; cut it or use longer intervals`);
}

/** The most common spacing between consecutive rows (the smaller one on a tie), rounded to milliseconds. */
function mostCommonSpacing(ts: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (let i = 1; i < ts.length; i++) {
    const gap = Math.round(((ts[i] as number) - (ts[i - 1] as number)) * 1000) / 1000;
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

/** One request's weight: the weighted sum of its weight columns, each a non-negative number. */
function requestWeight(fields: string[], idx: readonly number[], opts: TraceOptions, line: number): number {
  let w = 0;
  idx.forEach((i, k) => {
    const weight = opts.weights?.[k] as RequestWeight;
    const text = fields[i] ?? '';
    const v = text === '' ? NaN : Number(text);
    if (!Number.isFinite(v) || v < 0) throw inputError(opts.file, line, `${weight.column} "${text}" is not a non-negative number (--weight-columns)`);
    w += v * weight.factor;
  });
  return w;
}

function bucketRequests(rows: Rows, bucketSeconds: number, opts: TraceOptions): Trace {
  const ts = rows.ts;
  let start = Infinity;
  let end = -Infinity;
  for (const t of ts) {
    start = Math.min(start, t);
    end = Math.max(end, t);
  }
  const n = Math.floor((end - start) / bucketSeconds) + 1;
  if (n > MAX_TRACE_INTERVALS) throw inputError(opts.file, 2, `the trace spans ${n} buckets of ${bucketSeconds}s, more than ${MAX_TRACE_INTERVALS}; use a larger --bucket`);
  const demand = new Array<number>(n).fill(0);
  const weighted = opts.weights !== undefined;
  ts.forEach((t, i) => {
    demand[Math.floor((t - start) / bucketSeconds)]! += weighted ? (rows.value[i] as number) : 1;
  });
  const timestamps = demand.map((_, i) => start + i * bucketSeconds);
  let emptyBuckets = 0;
  for (const d of demand) if (d === 0) emptyBuckets++;
  const changes: TraceChanges = { duplicateRowsSummed: 0, gapsFilled: 0, gapIntervalsFilled: 0, emptyValuesFilled: 0, longestGapIntervals: 0, emptyBuckets, fill: opts.fill };
  return { timestamps, demand, intervalSeconds: bucketSeconds, warnings: [], changes };
}

function inputError(file: string, line: number, message: string): SurgeGuardError {
  return new SurgeGuardError(ErrorCode.InputInvalid, `${file}:${line}: ${message}`, { details: { file, line } });
}
