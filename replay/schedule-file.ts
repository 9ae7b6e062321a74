// `surgeguard replay --schedule FILE`: campaign windows for a replay, in the PredictiveScaler's own
// shape, so the file an operator replays is the one they apply. It may be the scaler's manifest
// (spec.schedule), a mapping with `schedule:`, or the list itself; YAML or JSON.
import { LineCounter, isMap, isSeq, parseDocument, type Node, type YAMLSeq } from 'yaml';
import { ErrorCode, SurgeGuardError } from '../common/errors.ts';
import { DEFAULT_PRESCALE_SECONDS, type CampaignWindow } from '../controller/scaling/campaign.ts';

/** The CRD's limits (controller/crd/predictive-scaler.ts), checked here because no API server reads this file. */
const MAX_WINDOWS = 50;
const KEYS = new Set(['name', 'start', 'durationSeconds', 'demandMultiplier', 'prescaleSeconds']);
/** RFC 3339 date-time, as the CRD's `format: date-time` asks: a date, a time and a zone. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses campaign windows from `text` (the contents of `file`, named in errors). Each bad window is an
 * InputInvalid error naming the file, the line and the window; nothing is half-read.
 */
export function parseScheduleFile(text: string, file: string): CampaignWindow[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const fail = (node: Node | null | undefined, message: string): SurgeGuardError => {
    const pos = node?.range ? lines.linePos(node.range[0]) : undefined;
    return new SurgeGuardError(ErrorCode.InputInvalid, `${file}${pos ? ` line ${pos.line}` : ''}: ${message}`, { details: { file, ...(pos ? { line: pos.line } : {}) } });
  };
  const bad = doc.errors[0];
  if (bad) {
    const pos = lines.linePos(bad.pos[0]);
    throw new SurgeGuardError(ErrorCode.InputInvalid, `${file} line ${pos.line}: invalid YAML: ${bad.message.split('\n')[0] ?? ''}`, { details: { file, line: pos.line } });
  }
  const list = windowList(doc.contents);
  if (!list) throw fail(doc.contents as Node | null, 'expected a list of schedule windows, a mapping with schedule:, or a PredictiveScaler with spec.schedule');
  if (list.items.length > MAX_WINDOWS) throw fail(list, `at most ${MAX_WINDOWS} windows (the CRD's limit), got ${list.items.length}`);
  const seen = new Set<string>();
  return list.items.map((item, i) => {
    const node = item as Node;
    if (!isMap(node)) throw fail(node, `schedule[${i}] must be a mapping with name, start, durationSeconds and demandMultiplier`);
    const w = node.toJSON() as Record<string, unknown>;
    const at = `schedule[${i}]${typeof w.name === 'string' && w.name ? ` (${w.name})` : ''}`;
    const why = windowProblem(w, seen);
    if (why) throw fail(node, `${at}: ${why}`);
    seen.add(w.name as string);
    return { name: w.name as string, startSeconds: Date.parse(w.start as string) / 1000, durationSeconds: w.durationSeconds as number, demandMultiplier: w.demandMultiplier as number, prescaleSeconds: (w.prescaleSeconds as number | undefined) ?? DEFAULT_PRESCALE_SECONDS };
  });
}

/** What is wrong with one window as the CRD's schema would say it, or undefined. */
function windowProblem(w: Record<string, unknown>, seen: ReadonlySet<string>): string | undefined {
  const unknown = Object.keys(w).find((k) => !KEYS.has(k));
  if (unknown !== undefined) return `unknown key ${unknown} (known: ${[...KEYS].join(', ')})`;
  if (typeof w.name !== 'string' || w.name === '') return 'name must be a non-empty string';
  if (seen.has(w.name)) return `name ${w.name} is used by an earlier window`;
  // YAML reads an unquoted timestamp as a string here (the core schema has no timestamp type).
  if (typeof w.start !== 'string' || !DATE_TIME.test(w.start) || !Number.isFinite(Date.parse(w.start))) return `start must be an RFC 3339 date-time such as 2026-12-01T18:00:00Z, got ${JSON.stringify(w.start)}`;
  if (!isInteger(w.durationSeconds, 60)) return `durationSeconds must be an integer >= 60, got ${JSON.stringify(w.durationSeconds)}`;
  const m = w.demandMultiplier;
  if (typeof m !== 'number' || !(m > 0 && m <= 100)) return `demandMultiplier must be a number in (0, 100], got ${JSON.stringify(m)}`;
  if (w.prescaleSeconds !== undefined && !isInteger(w.prescaleSeconds, 0)) return `prescaleSeconds must be an integer >= 0, got ${JSON.stringify(w.prescaleSeconds)}`;
  return undefined;
}

function isInteger(v: unknown, min: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** The sequence of windows in any of the three accepted shapes, or undefined. */
function windowList(root: unknown): YAMLSeq | undefined {
  if (isSeq(root)) return root;
  if (!isMap(root)) return undefined;
  const direct = root.get('schedule', true);
  if (isSeq(direct)) return direct;
  const spec = root.get('spec', true);
  const inSpec = isMap(spec) ? spec.get('schedule', true) : undefined;
  return isSeq(inSpec) ? inSpec : undefined;
}

/**
 * Windows on replay's clock: the policy step at interval t is told t x interval seconds, and it decides
 * at the end of that interval, which on the wall clock is the trace's start + (t + 1) x interval.
 */
export function onReplayClock(windows: readonly CampaignWindow[], x: { traceStartSeconds: number; intervalSeconds: number }): CampaignWindow[] {
  const shift = x.traceStartSeconds + x.intervalSeconds;
  return windows.map((w) => ({ ...w, startSeconds: w.startSeconds - shift }));
}
