// The out-of-sample development table the replay benchmark scores: every demand trace of the replay
// contract's benchmark table and of ../shared/data/traces-dev, plus one-hour cold-start windows, less
// every series that trained the shipped model (inference/models/training-corpus.json names them).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Score } from '../replay/summary.ts';
import { parseTrace, type Trace } from '../replay/trace.ts';

/** One scored row: a whole trace file, or a one-hour window cut from one. */
export interface DevTrace {
  readonly name: string;
  /** Path under ../shared/data. */
  readonly file: string;
  readonly timeColumn: string;
  readonly valueColumn: string;
  readonly bucketSeconds?: number;
  /** A window [from, from + seconds) of the parsed trace, for cold-start cases. */
  readonly window?: { readonly fromIso: string; readonly seconds: number };
  readonly family: 'social' | 'daily' | 'llm' | 'web';
}

const interval = (name: string, file: string, family: DevTrace['family'], cols: Partial<DevTrace> = {}): DevTrace => ({ name, file, timeColumn: 'timestamp', valueColumn: 'value', family, ...cols });

const SERVEGEN = [
  'language_m-large_all-clients',
  'language_m-large_client-142',
  'language_m-large_client-148',
  'language_m-large_client-61',
  'language_m-mid_all-clients',
  'language_m-mid_client-36',
  'language_m-mid_client-60',
  'language_m-mid_client-73',
  'language_m-small_all-clients',
  'language_m-small_client-17',
  'language_m-small_client-38',
  'language_m-small_client-5',
  'multimodal_mm-image_all-clients',
  'multimodal_mm-image_client-12',
  'reason_deepseek-r1_all-clients',
  'reason_deepseek-r1_client-35',
];

const WC98 = 'traces-dev/worldcup98/wc98_requests_per_minute.csv';

/**
 * One-hour windows at 1 minute, each starting 30 minutes before a flash crowd the traces-dev README
 * names (and one quiet tournament hour): the policy starts cold, with no history, as a new target does.
 */
const WC98_WINDOWS = ['1998-05-12T06:01:00Z', '1998-06-10T12:00:00Z', '1998-06-26T13:47:00Z', '1998-07-03T14:03:00Z', '1998-07-08T18:32:00Z'];

/** Every candidate row, before the training series are taken out. */
export const ALL_TRACES: readonly DevTrace[] = [
  ...['AAPL', 'AMZN', 'FB', 'GOOG', 'IBM', 'KO'].map((s) => interval(`Twitter_volume_${s}`, `nab/realTweets/Twitter_volume_${s}.csv`, 'social')),
  interval('nyc_taxi', 'nab/realKnownCause/nyc_taxi.csv', 'daily'),
  interval('wp_peyton_manning', 'traces/wikipedia_pageviews/prophet_example_wp_peyton_manning.csv', 'daily', { timeColumn: 'ds', valueColumn: 'y' }),
  interval('AzureLLM code (15s, 1 h)', 'traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv', 'llm', { timeColumn: 'TIMESTAMP', bucketSeconds: 15 }),
  ...SERVEGEN.map((s) => interval(`servegen ${s.replace('language_', '')}`, `traces-dev/servegen/${s}_req-per-10min.csv`, 'llm')),
  interval('worldcup98 (1 min, 87 d)', WC98, 'web'),
  ...WC98_WINDOWS.map((from) => interval(`worldcup98 ${from.slice(5, 16)} (1 h)`, WC98, 'web', { window: { fromIso: from, seconds: 3600 } })),
];

/** The training corpus the shipped model records beside itself. */
export interface TrainingCorpus {
  readonly model_version: string;
  readonly train: readonly { readonly path: string; readonly sha256: string }[];
}

/** Reads the training corpus of the model at `modelsDir`; an absent file means the model predates it. */
export function readTrainingCorpus(modelsDir: string): TrainingCorpus | undefined {
  const p = join(modelsDir, 'training-corpus.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as TrainingCorpus) : undefined;
}

/** Splits the candidates into those scored and those that trained the model (never scored). */
export function splitByCorpus(all: readonly DevTrace[], corpus: TrainingCorpus | undefined): { scored: DevTrace[]; trained: DevTrace[] } {
  const trainedFiles = new Set(corpus?.train.map((t) => t.path) ?? []);
  return { scored: all.filter((t) => !trainedFiles.has(t.file)), trained: all.filter((t) => trainedFiles.has(t.file)) };
}

/** Loads a row's demand series (the window cut when it has one), read by replay's own parser. */
export function loadDevTrace(dataDir: string, t: DevTrace): Trace {
  const file = join(dataDir, t.file);
  const whole = parseTrace(readFileSync(file, 'utf8'), { file, timeColumn: t.timeColumn, valueColumn: t.valueColumn, bucketSeconds: t.bucketSeconds, fill: 'previous' });
  if (!t.window) return whole;
  const from = Date.parse(t.window.fromIso) / 1000;
  const idx: number[] = [];
  whole.timestamps.forEach((ts, i) => {
    if (ts >= from && ts < from + t.window!.seconds) idx.push(i);
  });
  return { timestamps: idx.map((i) => whole.timestamps[i] as number), demand: idx.map((i) => whole.demand[i] as number), intervalSeconds: whole.intervalSeconds, warnings: [] };
}

/** What the benchmark asks of one row: unserved at most the default HPA's at at most 1.5x its cost, and quality <= 0.5 at 1 minute or finer. */
export function rowGoal(s: Score, intervalSeconds: number): string {
  const hpaOk = s.unservedFraction <= s.defaultHpaUnservedFraction + 1e-12 && s.costVsDefaultHpa <= 1.5;
  const qOk = intervalSeconds > 60 || s.qualityFigure <= 0.5;
  return hpaOk && qOk ? 'met' : `not met (${[hpaOk ? '' : 'vs HPA', qOk ? '' : 'quality > 0.5'].filter(Boolean).join(', ')})`;
}

/** Geometric mean of quality figures; a figure of 0 (nothing unserved) counts as 0.01 so one perfect row does not zero the mean. */
export function geomean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  return Math.exp(xs.reduce((a, q) => a + Math.log(Math.max(0.01, q)), 0) / xs.length);
}
