import { readFileSync } from 'node:fs';
import { LineCounter, parse as parseYamlValue, parseDocument, isMap, isSeq, type Document } from 'yaml';
import type { z } from 'zod';
import { ErrorCode, SurgeGuardError, errorMessage } from './errors.ts';
import { deepFreeze } from './freeze.ts';
import { cut, echo, redactUrlValue, redactUrls } from './redact.ts';

/** Where one configuration value came from, so an error can point at what the user wrote. */
type Origin = { kind: 'file'; file: string } | { kind: 'env'; name: string } | { kind: 'flag'; name: string } | { kind: 'default' };

export interface ConfigSources {
  /** Path of a YAML file; its text is read here. */
  file?: string;
  /** YAML text given directly (tests, ConfigMaps read elsewhere); `file` names it in errors. */
  fileText?: string;
  /** Environment; only `SURGEGUARD_*` names are read. Nested keys use `__` (SURGEGUARD_KAFKA__BROKERS). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Command-line values keyed by dotted config path (`listen`, `kafka.brokers`). */
  flags?: Readonly<Record<string, unknown>>;
}

/** Environment variables with the prefix that are not configuration keys. */
const RESERVED_ENV = new Set(['SURGEGUARD_CONFIG', 'SURGEGUARD_CACHE_DIR', 'SURGEGUARD_NODE', 'SURGEGUARD_NODE_MAJOR', 'SURGEGUARD_FAILURE_HEADS']);
/**
 * The test runner's knobs (`SURGEGUARD_TEST_GROUPS`, `_TIMEOUT_MS`, `_CONCURRENCY`, ...) reach every
 * process a test starts; read as configuration they made every agent and controller refuse to start.
 */
const RESERVED_ENV_PREFIX = 'SURGEGUARD_TEST_';
const ENV_PREFIX = 'SURGEGUARD_';

export interface ConfigIssue {
  /** The dotted key path as the user wrote it (`kafka.brokers`). */
  path: string;
  /** `config.yaml line 4`, `environment SURGEGUARD_LISTEN`, `flag --listen` or `default`. */
  where: string;
  message: string;
}

/**
 * Loads one component's configuration: defaults from the schema, then the YAML file, then
 * `SURGEGUARD_*` variables, then flags. The result is validated and deep-frozen; nothing
 * reads the environment after this. Errors list every problem with the key path, where it
 * was written, the value, and what is allowed.
 */
export function loadConfig<S extends z.ZodType>(schema: S, sources: ConfigSources = {}): Readonly<z.output<S>> {
  const origins = new Map<string, Origin>();
  const parsed = sources.file !== undefined || sources.fileText !== undefined ? readDocument(sources.file ?? '<config>', sources.fileText, origins) : undefined;
  const { doc, lines } = parsed ?? {};
  const merged: Record<string, unknown> = parsed?.value ?? {};

  for (const [name, raw] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || RESERVED_ENV.has(name) || name.startsWith(RESERVED_ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map(snakeToCamel);
    setPath(merged, path, coerceScalar(raw));
    recordOrigins(getPath(merged, path), path, { kind: 'env', name }, origins);
  }

  for (const [key, raw] of Object.entries(sources.flags ?? {})) {
    if (raw === undefined) continue;
    const path = key.split('.');
    setPath(merged, path, typeof raw === 'string' ? coerceScalar(raw) : raw);
    recordOrigins(getPath(merged, path), path, { kind: 'flag', name: `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` }, origins);
  }

  const result = schema.safeParse(merged, { reportInput: true });
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) => describeIssue(issue, schema, { origins, doc, lines, merged }));
    throw configError(issues);
  }
  return deepFreeze(result.data) as Readonly<z.output<S>>;
}

/** Parses the YAML file into plain values, recording where each key was written. */
function readDocument(file: string, given: string | undefined, origins: Map<string, Origin>): { doc: Document; lines: LineCounter; value: Record<string, unknown> } {
  const text = given ?? readConfigFile(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { path: '', where: pos ? `${file} line ${pos.line} column ${pos.col}` : file, message: `invalid YAML: ${firstLine(e.message)}` };
    });
    throw configError(issues);
  }
  const value: unknown = toJs(doc, file);
  const cycle = cyclePath(value, []);
  if (cycle) {
    // An alias inside the node it names (`a: &x [*x]`) makes an endless value; walking it
    // would overflow the stack, so it is refused before anything reads it.
    throw configError([{ path: cycle.join('.'), where: `${file}${lineOf(cycle, { origins, doc, lines, merged: {} })}`, message: 'a YAML alias refers to a node that contains it (an endless value); copy the values instead' }]);
  }
  if (!isPlainObject(value)) {
    throw configError([{ path: '', where: file, message: `the file must hold a mapping of keys, got ${describe(value)}` }]);
  }
  recordOrigins(value, [], { kind: 'file', file }, origins);
  return { doc, lines, value };
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SurgeGuardError(ErrorCode.ConfigUnreadable, `cannot read config file ${file}: ${(cause as Error).message}`, { cause, details: { file } });
  }
}

function configError(raw: ConfigIssue[]): SurgeGuardError {
  // Keys, variable names and messages can all carry what the user wrote (a 100 kB key, a
  // webhook URL with its token): every part is cut and its URLs redacted before it is shown.
  const issues = raw.map((i) => ({ path: cut(redactUrls(i.path), MAX_PATH_CHARS), where: cut(redactUrls(i.where), MAX_PATH_CHARS), message: cut(redactUrls(i.message), MAX_MESSAGE_CHARS) }));
  const text = issues.map((i) => `  ${i.where}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n');
  return new SurgeGuardError(ErrorCode.ConfigInvalid, `invalid configuration:\n${text}`, { details: { issues } });
}

const MAX_PATH_CHARS = 120;
const MAX_MESSAGE_CHARS = 400;

/** The document as plain values; yaml refuses too many aliases (an alias bomb) with a plain error. */
function toJs(doc: Document, file: string): unknown {
  try {
    return doc.toJS() ?? {};
  } catch (cause) {
    throw configError([{ path: '', where: file, message: `invalid YAML: ${firstLine(errorMessage(cause))}` }]);
  }
}

/** The key path of the first place where `value` contains itself, if it does. */
function cyclePath(value: unknown, path: string[], ancestors: Set<unknown> = new Set()): string[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (ancestors.has(value)) return path;
  ancestors.add(value);
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    const found = cyclePath(v, [...path, k], ancestors);
    if (found) return found;
  }
  ancestors.delete(value);
  return undefined;
}

interface IssueContext {
  origins: Map<string, Origin>;
  doc: Document | undefined;
  lines: LineCounter | undefined;
  merged: Record<string, unknown>;
}

function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType, ctx: IssueContext): ConfigIssue[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const allowed = objectKeysAt(schema, path);
    return issue.keys.map((key) => ({
      path: [...path, key].join('.'),
      where: whereOf([...path, key], ctx),
      message: `unknown key${allowed.length ? `; allowed keys here: ${allowed.join(', ')}` : ''}`,
    }));
  }
  const raw = getPath(ctx.merged, path);
  // A key meant to hold a URL is redacted even when the value is too malformed to look like one.
  const value = typeof raw === 'string' && /url$/i.test(path[path.length - 1] ?? '') ? redactUrlValue(raw) : raw;
  const got = value === undefined ? 'it is missing' : `got ${describe(value)}`;
  return [{ path: path.join('.'), where: whereOf(path, ctx), message: `${issue.message} (${got})` }];
}

function whereOf(path: string[], ctx: IssueContext): string {
  // The value may have been written at this path or at any parent (a whole object from env).
  for (let n = path.length; n >= 0; n--) {
    const origin = ctx.origins.get(path.slice(0, n).join('.'));
    if (!origin) continue;
    if (origin.kind === 'env') return `environment ${origin.name}`;
    if (origin.kind === 'flag') return `flag ${origin.name}`;
    if (origin.kind === 'file') return `${origin.file}${lineOf(path, ctx)}`;
  }
  return 'default';
}

function lineOf(path: string[], ctx: IssueContext): string {
  if (!ctx.doc || !ctx.lines) return '';
  for (let n = path.length; n > 0; n--) {
    const keys = path.slice(0, n).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const parent = keys.length > 1 ? ctx.doc.getIn(keys.slice(0, -1), true) : ctx.doc.contents;
    const last = keys[keys.length - 1];
    let range: [number, number, number] | null | undefined;
    if (isMap(parent)) {
      // Point at the key the user wrote rather than its value.
      const pair = parent.items.find((it) => (it.key as { value?: unknown } | null)?.value === last);
      range = (pair?.key as { range?: [number, number, number] } | null)?.range;
    } else if (isSeq(parent) && typeof last === 'number') {
      range = (parent.items[last] as { range?: [number, number, number] } | undefined)?.range;
    }
    if (range) return ` line ${ctx.lines.linePos(range[0]).line}`;
  }
  return '';
}

/** The keys an object schema allows at `path`, for "allowed keys" hints. */
function objectKeysAt(schema: z.ZodType, path: string[]): string[] {
  let s: unknown = schema;
  for (const seg of [...path, null]) {
    s = unwrap(s);
    if (seg === null) break;
    const def = (s as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown } }).def;
    if (def?.type === 'object') s = def.shape?.[seg];
    else if (def?.type === 'array') s = def.element;
    else if (def?.type === 'record') s = def.valueType;
    else return [];
  }
  const def = (s as { def?: { type?: string; shape?: Record<string, unknown> } } | undefined)?.def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape).sort() : [];
}

function unwrap(s: unknown): unknown {
  for (let i = 0; i < 10; i++) {
    const def = (s as { def?: { type?: string; innerType?: unknown; in?: unknown } } | undefined)?.def;
    if (!def) return s;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault' || def.type === 'readonly') s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else return s;
  }
  return s;
}

/** Env and flag values are YAML scalars: `15` is a number, `true` a boolean, `[a, b]` a list. */
function coerceScalar(raw: string): unknown {
  try {
    const v: unknown = parseYamlValue(raw);
    return v === null && raw.trim() !== '' && raw.trim() !== 'null' && raw.trim() !== '~' ? raw : v;
  } catch {
    // Not valid YAML (an unbalanced bracket, say): keep the text and let the schema judge it.
    return raw;
  }
}

function snakeToCamel(s: string): string {
  return s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function getPath(target: unknown, path: string[]): unknown {
  let node = target;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function recordOrigins(value: unknown, path: string[], origin: Origin, out: Map<string, Origin>): void {
  out.set(path.join('.'), origin);
  if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) recordOrigins(v, [...path, k], origin, out);
  else if (Array.isArray(value)) value.forEach((v, i) => recordOrigins(v, [...path, String(i)], origin, out));
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `a list ${echo(JSON.stringify(v))}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${echo(JSON.stringify(v))}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** Reads the config file path from flags or `SURGEGUARD_CONFIG`, for commands that take `--config`. */
export function configFileFrom(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  return flag ?? env.SURGEGUARD_CONFIG;
}
