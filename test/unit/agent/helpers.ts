// Shared by the agent's unit tests: fake process runners and sample lookups.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../../../agent/collector.ts';
import type { ExecFn } from '../../../agent/exec.ts';
import { toQueryCsv } from '../../tools/nvidia-smi-convert.ts';
import { createLogger, type Logger } from '../../../common/logger.ts';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export function fixture(rel: string): string {
  return readFileSync(`${FIXTURES}${rel}`, 'utf8');
}

/**
 * An exec that answers `--query-gpu` from a real capture converted to CSV for exactly the
 * fields asked, and refuses `unknown` fields with nvidia-smi's own message and exit status.
 */
export function execFromCapture(text: string, opts: { unknown?: readonly string[]; calls?: string[][] } = {}): ExecFn {
  return (_file, args) => {
    opts.calls?.push([...args]);
    const q = args.find((a) => a.startsWith('--query-gpu='));
    if (!q) return Promise.resolve({ stdout: '', stderr: '', exitCode: 0 });
    const fields = q.slice('--query-gpu='.length).split(',');
    const bad = fields.find((f) => opts.unknown?.includes(f));
    if (bad) return Promise.resolve({ stdout: `Field "${bad}" is not a valid field to query.\n\n`, stderr: '', exitCode: 2 });
    return Promise.resolve({ stdout: toQueryCsv(text, fields), stderr: '', exitCode: 0 });
  };
}

/** The value of the one sample with this name whose labels include `labels`; undefined when absent. */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

export const ctx = (nowMs = 1_700_000_000_000): { signal: AbortSignal; nowMs: number } => ({ signal: new AbortController().signal, nowMs });

/** A JSON logger whose lines are kept for the test to read back. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const logger = createLogger({ level, destination: { write: (s: string) => void out.push(s) } });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
