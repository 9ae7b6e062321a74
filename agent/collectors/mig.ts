import { normalizePciBusId } from '../pci.ts';

/**
 * One MIG instance as `nvidia-smi -q` describes it: the memory it shares and its multiprocessors.
 * nvidia-smi reports no per-instance utilization (DCGM's profiling fields do); memory is what it has.
 */
export interface MigDevice {
  /** The MIG device index on its GPU (the "MIG Dev" column of the table). */
  readonly index: string;
  readonly gpuInstance: string;
  readonly computeInstance: string;
  readonly multiprocessors?: number;
  readonly memoryTotalBytes?: number;
  readonly memoryUsedBytes?: number;
}

const MIB = 1024 * 1024;

/**
 * Parses the "MIG Device" blocks of `nvidia-smi -q`, per normalised PCI bus id of their GPU. Lines
 * it does not know are skipped; a block without its index or instance ids is dropped, not guessed.
 */
export function parseMigDevices(text: string): Map<string, MigDevice[]> {
  const out = new Map<string, MigDevice[]>();
  let bus: string | undefined;
  let cur: Partial<Block> | undefined;
  let section = '';
  const flush = (): void => {
    if (bus && cur?.index !== undefined && cur.gpuInstance !== undefined && cur.computeInstance !== undefined) {
      const list = out.get(bus) ?? [];
      list.push({ index: cur.index, gpuInstance: cur.gpuInstance, computeInstance: cur.computeInstance, ...(cur.multiprocessors !== undefined ? { multiprocessors: cur.multiprocessors } : {}), ...(cur.total !== undefined ? { memoryTotalBytes: cur.total } : {}), ...(cur.used !== undefined ? { memoryUsedBytes: cur.used } : {}) });
      out.set(bus, list);
    }
    cur = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    const head = /^GPU\s+([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.\d)\s*$/.exec(line);
    if (head?.[1]) {
      flush();
      bus = normalizePciBusId(head[1]);
      continue;
    }
    if (/^ {4}MIG Device\s*$/.test(line)) {
      flush();
      cur = {};
      section = '';
      continue;
    }
    // A line indented like a GPU's own sections ends the MIG block.
    if (cur && /^ {4}\S/.test(line)) flush();
    if (!cur) continue;
    const kv = /^\s+([^:]+?)\s*:\s*(.*?)\s*$/.exec(line);
    if (!kv) {
      section = line.trim();
      continue;
    }
    const [, key, value] = kv as unknown as [string, string, string];
    read(cur, section === 'Shared FB Memory Usage' ? `memory ${key}` : key, value);
  }
  flush();
  return out;
}

interface Block {
  index: string;
  gpuInstance: string;
  computeInstance: string;
  multiprocessors: number | undefined;
  total: number | undefined;
  used: number | undefined;
}

/** Takes one `key : value` line of a MIG block (memory keys prefixed with their section). */
function read(b: Partial<Block>, key: string, value: string): void {
  if (key === 'Index') b.index = value;
  else if (key === 'GPU Instance ID') b.gpuInstance = value;
  else if (key === 'Compute Instance ID') b.computeInstance = value;
  else if (key === 'Multiprocessor count') b.multiprocessors = number(value);
  else if (key === 'memory Total') b.total = mib(value);
  else if (key === 'memory Used') b.used = mib(value);
}

function number(v: string): number | undefined {
  const n = Number(v);
  return v !== '' && Number.isFinite(n) ? n : undefined;
}

function mib(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*MiB$/.exec(v);
  return m ? Number(m[1]) * MIB : undefined;
}
