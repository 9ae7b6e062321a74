import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ExecFn } from '../agent/exec.ts';

/** One GPU of a captured `nvidia-smi --query-gpu=... --format=csv` file: field name to the cell as printed. */
export type CapturedGpu = ReadonlyMap<string, string>;

/** The captures the demo's nodes answer from (nvidia_gpu_exporter's H100 idle and load files, MIT; demo/data/NOTICE). */
export const H100_CAPTURES = {
  idle: 'nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle__query-gpu.csv',
  load: 'nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load__query-gpu.csv',
} as const;

/** Reads a capture from demo/data (sources and dist/ sit at different depths, so both are tried). */
export function readCapture(name: string): CapturedGpu {
  for (const rel of [`./data/${name}`, `../../demo/data/${name}`]) {
    try {
      return parseCapturedCsv(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8'))[0] ?? new Map();
    } catch {
      // Not at this depth; try the next.
    }
  }
  return parseCapturedCsv(readFileSync(fileURLToPath(new URL(`./data/${name}`, import.meta.url)), 'utf8'))[0] ?? new Map();
}

/** Parses a `--format=csv` capture (header with units) into one map per GPU, the units taken off as `nounits` prints. */
export function parseCapturedCsv(text: string): CapturedGpu[] {
  const [header = '', ...rows] = text.trim().split(/\r?\n/);
  const fields = header.split(', ').map((h) => h.replace(/ \[[^\]]+\]$/, ''));
  return rows.map((row) => new Map(row.split(', ').map((cell, i) => [fields[i] ?? '', cell.replace(/ (%|MiB|W|MHz)$/, '')])));
}

/**
 * An ExecFn that prints what `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` would
 * on a node whose GPU is `gpu()` (read at each call, so the demo can swap idle and load captures
 * and inject a fault). Fields the capture lacks are refused with nvidia-smi's own message, as a
 * driver that does not know them would; the older `clocks_throttle_reasons.*` names read the
 * capture's `clocks_event_reasons.*` cells (the driver renamed them). Other calls (`-q -d PCIE`)
 * print nothing.
 */
export function capturedNvidiaSmi(gpu: () => CapturedGpu): ExecFn {
  return (_file, args) => {
    const q = args.find((a) => a.startsWith('--query-gpu='));
    if (!q) return Promise.resolve({ stdout: '', stderr: '', exitCode: 0 });
    const g = gpu();
    const cells: string[] = [];
    for (const f of q.slice('--query-gpu='.length).split(',')) {
      const v = g.get(f) ?? g.get(f.replace(/^clocks_throttle_reasons\./, 'clocks_event_reasons.'));
      if (v === undefined) return Promise.resolve({ stdout: `Field "${f}" is not a valid field to query.\n\n`, stderr: '', exitCode: 2 });
      cells.push(v);
    }
    return Promise.resolve({ stdout: `${cells.join(', ')}\n`, stderr: '', exitCode: 0 });
  };
}
