import { ErrorCode, SurgeGuardError } from '../../common/errors.ts';

/**
 * A streaming reader of a Prometheus range-query answer (`resultType: "matrix"`) that writes the
 * series it is asked for into one Float64Array each, on the query's step grid, as the body
 * arrives (issue 21). The batch form's start-up backfill reads every scaler's series from one
 * answer of about 60 MB at 1,000 scalers x 2,880 steps; JSON.parse of that body would hold the
 * text, then millions of small arrays and strings at once (bench/backfill.ts measures both).
 *
 * It is a complete JSON tokenizer (so that a malformed or truncated body is refused, with the byte
 * offset and the path where it went wrong) under a walker that knows only the paths it needs:
 * `status`, `error`, `errorType`, `warnings`/`infos`, `data.resultType`, and each
 * `data.result[i]`'s `metric` and `values`. Key order is not assumed (`values` before `metric`
 * goes through a scratch array); anything else is tokenized and dropped. Strings are decoded only
 * where read, and the values of series nobody asked for are not parsed at all.
 */

/** What to read out of the answer. */
export interface MatrixQuery {
  /** The range query's start, step and number of grid points (start + k * step, k < points). */
  readonly startSeconds: number;
  readonly stepSeconds: number;
  readonly points: number;
  /** The label names that pick a series, in the order their values are joined in `wanted`. */
  readonly labels: readonly string[];
  /** The series wanted: their label values joined by "\u0000", mapped to an index into `series`. */
  readonly wanted: ReadonlyMap<string, number>;
}

/** What was read. */
export interface MatrixAnswer {
  /** Per wanted index: the series on the grid (NaN where it has no sample), or undefined when none matched or two did. */
  readonly series: ReadonlyArray<Float64Array | undefined>;
  /** Wanted indexes that two or more series matched (their `series` entry is undefined). */
  readonly duplicates: ReadonlySet<number>;
  /** Series in the answer, wanted or not. */
  readonly seriesCount: number;
  /** Series that lack one of `labels` (they cannot belong to a scaler). */
  readonly unlabelled: number;
  /** Samples whose timestamp is not on the query's grid (dropped). */
  readonly offGrid: number;
  /** Prometheus's warnings and infos (the first few). */
  readonly warnings: readonly string[];
  /** Bytes read. */
  readonly bytes: number;
}

/** Feeds the body in chunks of any size; `end()` checks that the JSON is complete and returns the answer. */
export interface MatrixParser {
  write(chunk: Uint8Array): void;
  end(): MatrixAnswer;
}

// Lexer modes. A string, number or literal in progress has its own mode; the rest say what may come next.
const M_VALUE = 0;
const M_VALUE_OR_CLOSE = 1;
const M_KEY_OR_CLOSE = 2;
const M_KEY = 3;
const M_COLON = 4;
const M_COMMA_OR_CLOSE = 5;
const M_DONE = 6;
const M_STRING = 7;
const M_NUMBER = 8;
const M_LITERAL = 9;

// What a container is, by its path. C_TOP is the virtual parent of the root value.
const C_TOP = 0;
const C_ROOT = 1;
const C_DATA = 2;
const C_RESULT = 3;
const C_SERIES = 4;
const C_METRIC = 5;
const C_VALUES = 6;
const C_POINT = 7;
const C_MESSAGES = 8;
const C_SKIP = 9;

const OBJ = 1;
const ARR = 2;
/** Deeper than any Prometheus answer; a bound so that a hostile body cannot grow the stacks. */
const MAX_DEPTH = 64;
/** A captured string longer than this is refused (label values and samples are short). */
const MAX_STRING = 1 << 20;
const MAX_WARNINGS = 5;

// Parsed, not computed with **, so that each is the exact double.
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const SAMPLE_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A sample's text as Prometheus writes it (Go's strconv: "NaN", "+Inf", "-Inf", or a decimal). */
export function parseSampleValue(text: string): number | undefined {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return SAMPLE_TEXT.test(text) ? Number(text) : undefined;
}

function invalid(message: string, offset: number, path: string): SurgeGuardError {
  return new SurgeGuardError(ErrorCode.PrometheusResponseInvalid, `Prometheus range response: ${message} at byte ${offset}${path ? ` (${path})` : ''}`, { details: { offset, path } });
}

function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Creates a parser for one answer. */
export function createMatrixParser(q: MatrixQuery): MatrixParser {
  return new MatrixStream(q);
}

/** Parses a whole body at once (tests, small answers). */
export function parseMatrix(body: Uint8Array | string, q: MatrixQuery): MatrixAnswer {
  const p = createMatrixParser(q);
  p.write(typeof body === 'string' ? new TextEncoder().encode(body) : body);
  return p.end();
}

class MatrixStream implements MatrixParser {
  private readonly q: MatrixQuery;
  private mode = M_VALUE;
  private offset = 0;
  private depth = 0;
  private readonly kind = new Uint8Array(MAX_DEPTH + 1);
  private readonly ctx = new Uint8Array(MAX_DEPTH + 1);
  private readonly count = new Int32Array(MAX_DEPTH + 1);
  /** The current key of each object level whose keys are read (undefined where not). */
  private readonly key: Array<string | undefined> = new Array<string | undefined>(MAX_DEPTH + 1);

  // The token in progress.
  private strIsKey = false;
  private capture = false;
  private escape = 0;
  private escaped = false;
  private ascii = true;
  private buf = new Uint8Array(256);
  private len = 0;

  // The answer.
  private status: string | undefined;
  private error: string | undefined;
  private errorType: string | undefined;
  private resultType: string | undefined;
  private sawResult = false;
  private readonly warnings: string[] = [];
  private readonly series: Array<Float64Array | undefined>;
  private readonly duplicates = new Set<number>();
  private seriesCount = 0;
  private unlabelled = 0;
  private offGrid = 0;

  // The series in progress.
  private labelValues: Array<string | undefined>;
  private metricSeen = false;
  /** Where samples go: an array, null to drop them, undefined while the metric is not known yet (scratch). */
  private target: Float64Array | null | undefined;
  private scratch: Float64Array | undefined;
  private scratchUsed = false;
  private pointTime = NaN;
  private pointIndex = 0;

  constructor(q: MatrixQuery) {
    if (!(q.stepSeconds > 0) || !Number.isInteger(q.points) || q.points < 0) throw new SurgeGuardError(ErrorCode.Internal, `matrix query: bad grid (step ${q.stepSeconds}, points ${q.points})`);
    this.q = q;
    let size = 0;
    for (const i of q.wanted.values()) size = Math.max(size, i + 1);
    this.series = new Array<Float64Array | undefined>(size).fill(undefined);
    this.labelValues = new Array<string | undefined>(q.labels.length).fill(undefined);
    this.ctx[0] = C_TOP;
  }

  write(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const mode = this.mode;
      if (mode === M_STRING) {
        i = this.stringBytes(chunk, i, n);
        continue;
      }
      const c = chunk[i] as number;
      if (mode === M_NUMBER || mode === M_LITERAL) {
        if (mode === M_NUMBER ? isNumberByte(c) : c >= 0x61 && c <= 0x7a) {
          this.push(c, i);
          i++;
          continue;
        }
        this.endScalarToken(i);
        continue; // the byte that ended it is read again in the new mode
      }
      // Most of an answer is samples: one whole in this chunk and in Prometheus's own spelling is read here.
      if (c === 0x5b && (mode === M_VALUE || mode === M_VALUE_OR_CLOSE) && this.ctx[this.depth] === C_VALUES) {
        const next = this.fastPoint(chunk, i, n);
        if (next > 0) {
          i = next;
          continue;
        }
      }
      i++;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      this.structural(c, this.offset + i - 1);
    }
    this.offset += n;
  }

  end(): MatrixAnswer {
    // A number or literal in progress cannot end the JSON: the root is an object.
    if (this.offset === 0) throw invalid('empty body', 0, '');
    if (this.mode !== M_DONE) throw invalid(`truncated: the body ended inside ${this.mode === M_STRING ? 'a string' : 'the JSON'}`, this.offset, this.path());
    if (this.status !== 'success') {
      const what = this.status === undefined ? 'no "status"' : `status "${this.status}"`;
      const msg = `Prometheus range query failed: ${what}${this.errorType ? ` (${this.errorType})` : ''}${this.error ? `: ${this.error}` : ''}`;
      if (this.status === 'error') throw new SurgeGuardError(ErrorCode.PrometheusRequestFailed, msg, { details: { errorType: this.errorType } });
      throw invalid(what, this.offset, '');
    }
    if (this.resultType !== 'matrix') throw invalid(this.resultType === undefined ? 'no data.resultType' : `data.resultType is "${this.resultType}", expected "matrix"`, this.offset, 'data');
    if (!this.sawResult) throw invalid('no data.result', this.offset, 'data');
    for (const d of this.duplicates) this.series[d] = undefined;
    return { series: this.series, duplicates: this.duplicates, seriesCount: this.seriesCount, unlabelled: this.unlabelled, offGrid: this.offGrid, warnings: this.warnings, bytes: this.offset };
  }

  /**
   * `[1700000000.5,"12.25"]` starting at `i` read in one pass: returns the index after it, or -1
   * to leave it to the general path (split across chunks, whitespace, an exponent, an odd value).
   * A value of up to 15 digits is computed as m / 10^k, which is exactly Number(text) there.
   */
  private fastPoint(chunk: Uint8Array, i: number, n: number): number {
    if (!scanTime(chunk, i + 1, n)) return -1;
    const t = scanned.value;
    const j = scanned.end;
    if (j + 1 >= n || chunk[j] !== 0x2c || chunk[j + 1] !== 0x22 || !scanValue(chunk, j + 2, n)) return -1;
    this.count[this.depth] = (this.count[this.depth] as number) + 1;
    this.mode = M_COMMA_OR_CLOSE;
    if (this.target !== null) {
      this.pointTime = t;
      this.sample(scanned.value);
    }
    this.pointIndex++;
    return scanned.end;
  }

  // ---- lexer ----

  private structural(c: number, at: number): void {
    switch (this.mode) {
      case M_VALUE:
      case M_VALUE_OR_CLOSE:
        if (c === 0x5d && this.mode === M_VALUE_OR_CLOSE) return this.close(at);
        return this.beginValue(c, at);
      case M_KEY_OR_CLOSE:
      case M_KEY:
        if (c === 0x7d && this.mode === M_KEY_OR_CLOSE) return this.close(at);
        if (c !== 0x22) throw invalid(`expected ${this.mode === M_KEY_OR_CLOSE ? 'a key or \'}\'' : 'a key'}, got ${describeByte(c)}`, at, this.path());
        return this.beginString(true);
      case M_COLON:
        if (c !== 0x3a) throw invalid(`expected ':', got ${describeByte(c)}`, at, this.path());
        this.mode = M_VALUE;
        return;
      case M_COMMA_OR_CLOSE:
        return this.afterValue(c, at);
      default:
        throw invalid(`unexpected ${describeByte(c)} after the end of the JSON`, at, '');
    }
  }

  private afterValue(c: number, at: number): void {
    const k = this.kind[this.depth];
    if (c === 0x2c) {
      this.mode = k === OBJ ? M_KEY : M_VALUE;
      return;
    }
    if ((c === 0x7d && k === OBJ) || (c === 0x5d && k === ARR)) return this.close(at);
    throw invalid(`expected ',' or '${k === OBJ ? '}' : ']'}', got ${describeByte(c)}`, at, this.path());
  }

  private beginValue(c: number, at: number): void {
    if (this.depth === 0 && c !== 0x7b) throw invalid(`expected a JSON object, got ${describeByte(c)}`, at, '');
    if (c === 0x7b || c === 0x5b) return this.open(c === 0x7b ? OBJ : ARR, at);
    if (c === 0x22) return this.beginString(false);
    this.len = 0;
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.mode = M_NUMBER;
    else if (c === 0x74 || c === 0x66 || c === 0x6e) this.mode = M_LITERAL;
    else throw invalid(`expected a value, got ${describeByte(c)}`, at, this.path());
    this.push(c, at);
  }

  private beginString(isKey: boolean): void {
    this.strIsKey = isKey;
    this.capture = isKey ? keyedContext(this.ctx[this.depth] as number) : this.wantsString();
    this.escape = 0;
    this.escaped = false;
    this.ascii = true;
    this.len = 0;
    this.mode = M_STRING;
  }

  /** Consumes string bytes from `i`; returns where it stopped (after the closing quote, or n). */
  private stringBytes(chunk: Uint8Array, i: number, n: number): number {
    let j = i;
    while (j < n) {
      const c = chunk[j] as number;
      if (this.escape > 0) {
        if (!this.escapeByte(c)) throw invalid(`bad escape in a string: ${describeByte(c)}`, this.offset + j, this.path());
        if (this.capture) this.push(c, j);
        j++;
        continue;
      }
      // The plain run up to a quote, backslash or control byte.
      const start = j;
      while (j < n) {
        const b = chunk[j] as number;
        if (b === 0x22 || b === 0x5c || b < 0x20) break;
        if (b >= 0x80) this.ascii = false;
        j++;
      }
      if (this.capture && j > start) this.append(chunk, start, j);
      if (j === n) break;
      const b = chunk[j] as number;
      if (b === 0x22) {
        this.endString(this.offset + j);
        return j + 1;
      }
      if (b < 0x20) throw invalid(`control ${describeByte(b)} inside a string`, this.offset + j, this.path());
      this.escape = 1;
      this.escaped = true;
      if (this.capture) this.push(b, j);
      j++;
    }
    return j;
  }

  /** One byte after a backslash (escape 1) or of a \u's four hex digits (escape 2..5); false if invalid. */
  private escapeByte(c: number): boolean {
    if (this.escape === 1) {
      if (c === 0x75) {
        this.escape = 2;
        return true;
      }
      this.escape = 0;
      return c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74;
    }
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
    this.escape = this.escape === 5 ? 0 : this.escape + 1;
    return hex;
  }

  private push(c: number, at: number): void {
    if (this.len === this.buf.length) this.grow(this.len + 1, at);
    this.buf[this.len++] = c;
  }

  private append(chunk: Uint8Array, from: number, to: number): void {
    const need = this.len + (to - from);
    if (need > this.buf.length) this.grow(need, from);
    this.buf.set(chunk.subarray(from, to), this.len);
    this.len = need;
  }

  private grow(need: number, at: number): void {
    if (need > MAX_STRING) throw invalid(`a token longer than ${MAX_STRING} bytes`, this.offset + at, this.path());
    const next = new Uint8Array(Math.min(MAX_STRING, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private text(at: number): string {
    if (this.ascii && !this.escaped && this.len <= 64) {
      let s = '';
      for (let k = 0; k < this.len; k++) s += String.fromCharCode(this.buf[k] as number);
      return s;
    }
    let raw: string;
    try {
      raw = utf8.decode(this.buf.subarray(0, this.len));
    } catch {
      throw invalid('a string that is not UTF-8', at, this.path());
    }
    // Escapes are rare in an answer (label values with quotes or backslashes): JSON.parse of the one string decodes them.
    return this.escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  private endString(at: number): void {
    this.mode = this.strIsKey ? M_COLON : M_COMMA_OR_CLOSE;
    if (this.strIsKey) {
      this.key[this.depth] = this.capture ? this.text(at) : undefined;
      return;
    }
    if (this.capture) this.stringValue(this.text(at), at);
    else this.scalarAt(at, 's');
  }

  private endScalarToken(i: number): void {
    const at = this.offset + i;
    const isNumber = this.mode === M_NUMBER;
    this.mode = M_COMMA_OR_CLOSE;
    if (isNumber) {
      const t = this.text(at);
      if (!NUMBER_TEXT.test(t)) throw invalid(`bad number ${JSON.stringify(t)}`, at, this.path());
      this.numberValue(Number(t), at);
      return;
    }
    const t = this.text(at);
    if (t !== 'true' && t !== 'false' && t !== 'null') throw invalid(`bad literal ${JSON.stringify(t)}`, at, this.path());
    this.scalarAt(at, t === 'null' ? 'n' : 'b');
  }

  private open(k: number, at: number): void {
    const child = this.childContext(k, at);
    if (this.depth === MAX_DEPTH) throw invalid(`nested deeper than ${MAX_DEPTH}`, at, this.path());
    this.bump();
    this.depth++;
    this.kind[this.depth] = k;
    this.ctx[this.depth] = child;
    this.count[this.depth] = 0;
    this.key[this.depth] = undefined;
    this.mode = k === OBJ ? M_KEY_OR_CLOSE : M_VALUE_OR_CLOSE;
    if (child === C_SERIES) this.beginSeries();
    else if (child === C_VALUES && this.target === undefined) this.useScratch();
    else if (child === C_RESULT) this.sawResult = true;
  }

  private close(at: number): void {
    const c = this.ctx[this.depth] as number;
    if (c === C_POINT) this.endPoint(at);
    else if (c === C_METRIC) this.endMetric();
    else if (c === C_SERIES) this.endSeries();
    this.depth--;
    this.mode = this.depth === 0 ? M_DONE : M_COMMA_OR_CLOSE;
  }

  /** Counts an element of the array being filled (its index is the count before). */
  private bump(): void {
    if (this.kind[this.depth] === ARR) this.count[this.depth] = (this.count[this.depth] as number) + 1;
  }

  // ---- walker ----

  /**
   * Checks a value starting here against what its path needs ('o' object, 'a' array, 's' string,
   * 't' number, 'n' null; see expectedAt), naming both where they differ.
   */
  private check(actual: string, at: number): void {
    const e = expectedAt(this.ctx[this.depth] as number, this.key[this.depth], this.count[this.depth] as number);
    if (e !== '' && !e.includes(actual)) throw invalid(`expected ${TYPE_NAMES[e] ?? e}, got ${TYPE_NAMES[actual] ?? actual}`, at, this.path());
  }

  /** The context of a container opening here (its type already checked). */
  private childContext(k: number, at: number): number {
    this.check(k === OBJ ? 'o' : 'a', at);
    const key = this.key[this.depth];
    switch (this.ctx[this.depth]) {
      case C_TOP:
        return C_ROOT;
      case C_ROOT:
        return key === 'data' ? C_DATA : key === 'warnings' || key === 'infos' ? C_MESSAGES : C_SKIP;
      case C_DATA:
        return key === 'result' ? C_RESULT : C_SKIP;
      case C_RESULT:
        return C_SERIES;
      case C_SERIES:
        return key === 'metric' ? C_METRIC : key === 'values' ? C_VALUES : C_SKIP;
      case C_VALUES:
        return C_POINT;
      default:
        return C_SKIP;
    }
  }

  /** Whether the string value starting now is read (decoded), by its path. */
  private wantsString(): boolean {
    const parent = this.ctx[this.depth] as number;
    const key = this.key[this.depth];
    switch (parent) {
      case C_ROOT:
        return key === 'status' || key === 'error' || key === 'errorType';
      case C_DATA:
        return key === 'resultType';
      case C_METRIC:
        return key !== undefined && this.q.labels.includes(key);
      case C_POINT:
        return this.target !== null && this.count[this.depth] === 1;
      case C_MESSAGES:
        return this.warnings.length < MAX_WARNINGS;
      default:
        return false;
    }
  }

  /** A string that wantsString chose to read. */
  private stringValue(s: string, at: number): void {
    this.check('s', at);
    const parent = this.ctx[this.depth] as number;
    const key = this.key[this.depth];
    this.bump();
    if (parent === C_POINT) {
      const v = parseSampleValue(s);
      if (v === undefined) throw invalid(`a sample value ${JSON.stringify(s.slice(0, 40))} that is not a number`, at, this.path());
      this.sample(v);
    } else if (parent === C_ROOT) {
      if (key === 'status') this.status = s;
      else if (key === 'error') this.error = s;
      else if (key === 'errorType') this.errorType = s;
    } else if (parent === C_DATA) this.resultType = s;
    else if (parent === C_METRIC && key !== undefined) this.labelValues[this.q.labels.indexOf(key)] = s;
    else if (parent === C_MESSAGES) this.warnings.push(s);
  }

  /** A string not read, null or a boolean: only checked. */
  private scalarAt(at: number, type: 's' | 'n' | 'b'): void {
    this.check(type, at);
    this.bump();
  }

  private numberValue(v: number, at: number): void {
    this.check('t', at);
    this.bump();
    if (this.ctx[this.depth] === C_POINT) this.pointTime = v;
  }

  private beginSeries(): void {
    this.seriesCount++;
    this.labelValues.fill(undefined);
    this.metricSeen = false;
    this.target = undefined;
    this.scratchUsed = false;
    this.pointIndex = 0;
  }

  private useScratch(): void {
    this.scratch ??= new Float64Array(this.q.points);
    this.scratch.fill(NaN);
    this.scratchUsed = true;
  }

  private endMetric(): void {
    this.metricSeen = true;
    // With the metric known before the values, samples go straight to the series' own array.
    if (!this.scratchUsed) this.target = this.resolve();
  }

  private endSeries(): void {
    if (this.target === undefined || this.scratchUsed) {
      const t = this.resolve();
      if (t && this.scratchUsed && this.scratch) t.set(this.scratch);
    }
    this.target = undefined;
  }

  /** The array a finished metric's samples belong in, or null (not wanted, unlabelled, or a second match). */
  private resolve(): Float64Array | null {
    const vals = this.labelValues;
    for (const v of vals) {
      if (v === undefined) {
        this.unlabelled++;
        return null;
      }
    }
    const idx = this.q.wanted.get(vals.join('\u0000'));
    if (idx === undefined) return null;
    if (this.series[idx] !== undefined || this.duplicates.has(idx)) {
      this.duplicates.add(idx);
      return null;
    }
    const arr = new Float64Array(this.q.points).fill(NaN);
    this.series[idx] = arr;
    return arr;
  }

  private sample(v: number): void {
    const dest = this.target === undefined ? this.scratch : this.target;
    if (!dest) return;
    const pos = (this.pointTime - this.q.startSeconds) / this.q.stepSeconds;
    const k = Math.round(pos);
    if (k < 0 || k >= this.q.points || Math.abs(pos - k) > 1e-6) {
      this.offGrid++;
      return;
    }
    dest[k] = v;
  }

  private endPoint(at: number): void {
    const n = this.count[this.depth] as number;
    if (n !== 2) throw invalid(`a sample of ${n} element${n === 1 ? '' : 's'}, expected [time, "value"]`, at, this.path());
    this.pointIndex++;
  }

  /** Where the parser is, for messages: data.result[3].values[17]. */
  private path(): string {
    const parts: string[] = [];
    for (let d = 1; d <= this.depth; d++) {
      const c = this.ctx[d];
      if (c === C_ROOT) continue;
      if (c === C_DATA) parts.push('data');
      else if (c === C_RESULT) parts.push('.result');
      else if (c === C_SERIES) parts.push(`[${this.seriesCount - 1}]`);
      else if (c === C_METRIC) parts.push('.metric');
      else if (c === C_VALUES) parts.push('.values');
      else if (c === C_POINT) parts.push(`[${this.pointIndex}]`);
      else if (c === C_MESSAGES) parts.push(`.${this.key[d - 1] ?? 'warnings'}`);
      else {
        parts.push('...');
        break;
      }
    }
    return parts.join('');
  }
}

const TYPE_NAMES: Readonly<Record<string, string>> = { o: 'an object', a: 'an array', s: 'a string', t: 'a number', n: 'null', b: 'a boolean', on: 'an object or null', x: 'the end of the [time, "value"] pair' };

/** What a value must be at a path: '' anything, else the letters allowed (see check). */
function expectedAt(parent: number, key: string | undefined, index: number): string {
  switch (parent) {
    case C_TOP:
      return 'o';
    case C_ROOT:
      // An error answer may carry "data": null.
      return key === 'data' ? 'on' : key === 'status' || key === 'error' || key === 'errorType' ? 's' : '';
    case C_DATA:
      return key === 'result' ? 'a' : key === 'resultType' ? 's' : '';
    case C_RESULT:
      return 'o';
    case C_SERIES:
      return key === 'metric' ? 'o' : key === 'values' ? 'a' : '';
    case C_METRIC:
      return 's';
    case C_VALUES:
      return 'a';
    case C_POINT:
      return index === 0 ? 't' : index === 1 ? 's' : 'x';
    default:
      return '';
  }
}

/** What scanTime and scanValue found: the value and the index after it. */
const scanned = { value: 0, end: 0 };

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** A time of up to 15 integer and 9 fraction digits (Prometheus writes seconds with milliseconds). */
function scanTime(chunk: Uint8Array, j: number, n: number): boolean {
  const d0 = j;
  let ip = 0;
  while (j < n && isDigit(chunk[j] as number)) ip = ip * 10 + ((chunk[j++] as number) - 0x30);
  if (j === d0 || j - d0 > 15 || (chunk[d0] === 0x30 && j - d0 > 1) || j >= n) return false;
  scanned.value = ip;
  if (chunk[j] === 0x2e) {
    const f0 = ++j;
    let f = 0;
    while (j < n && isDigit(chunk[j] as number)) f = f * 10 + ((chunk[j++] as number) - 0x30);
    if (j === f0 || j - f0 > 9) return false;
    scanned.value = ip + f / (POW10[j - f0] as number);
  }
  scanned.end = j;
  return true;
}

/**
 * A sample's text up to its closing quote, then the pair's ']'. Up to 15 digits with at most one
 * point it is m / 10^k, exactly what Number(text) gives there; anything else goes through
 * parseSampleValue. False leaves the pair to the general path (which names what is wrong).
 */
function scanValue(chunk: Uint8Array, j: number, n: number): boolean {
  const v0 = j;
  let m = 0;
  let digits = 0;
  let dot = -1;
  let simple = true;
  for (; j < n; j++) {
    const b = chunk[j] as number;
    if (b === 0x22) break;
    if (isDigit(b)) {
      m = m * 10 + (b - 0x30);
      digits++;
    } else if (b === 0x2e && dot < 0) dot = digits;
    else if (b < 0x20 || b === 0x5c || b >= 0x80) return false;
    else simple = false;
  }
  if (j + 1 >= n || chunk[j + 1] !== 0x5d) return false;
  scanned.end = j + 2;
  if (simple && digits > 0 && digits <= 15) {
    scanned.value = dot < 0 ? m : m / (POW10[digits - dot] as number);
    return true;
  }
  const text = latin1(chunk, v0, j);
  // Digits with at most one point (checked above) need no other check: a rate's 17 digits, most often.
  const v = simple && digits > 0 ? Number(text) : parseSampleValue(text);
  if (v === undefined) return false;
  scanned.value = v;
  return true;
}

/** ASCII bytes as a string (a sample's text is short: a loop beats a decoder call per sample). */
function latin1(chunk: Uint8Array, from: number, to: number): string {
  let text = '';
  for (let k = from; k < to; k++) text += String.fromCharCode(chunk[k] as number);
  return text;
}

function keyedContext(c: number): boolean {
  return c === C_ROOT || c === C_DATA || c === C_SERIES || c === C_METRIC;
}

function isNumberByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45;
}
