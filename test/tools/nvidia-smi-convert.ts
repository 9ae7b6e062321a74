// Converts real nvidia-smi output that only exists as `-q` text or `-q -x` XML (the ECC,
// retired-page, remapped-row, MIG and corrupt cases) into the CSV that
// `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` would print for the same
// GPUs, so the gpu collector's parser can be tested on them. Also reads the captured
// `--format=csv` files (with header and units) the same way.
//   node test/tools/nvidia-smi-convert.ts FILE [fields,comma,separated]
import { readFileSync } from 'node:fs';
import { GPU_FIELDS } from '../../agent/collectors/gpu-csv.ts';

/** One GPU as a flat map: normalised path (`fb_memory_usage/used`) to the printed value. */
type Flat = Map<string, string>;

const THROTTLE_TEXT: Record<string, string[]> = {
  gpu_idle: ['idle'],
  applications_clocks_setting: ['applications_clocks_setting'],
  sw_power_cap: ['sw_power_cap'],
  hw_slowdown: ['hw_slowdown'],
  hw_thermal_slowdown: ['hw_slowdown/hw_thermal_slowdown', 'hw_thermal_slowdown'],
  hw_power_brake_slowdown: ['hw_slowdown/hw_power_brake_slowdown', 'hw_power_brake_slowdown'],
  sw_thermal_slowdown: ['sw_thermal_slowdown'],
  sync_boost: ['sync_boost'],
};

function throttlePaths(reason: string): string[] {
  const text = (THROTTLE_TEXT[reason] ?? []).flatMap((p) => [`clocks_event_reasons/${p}`, `clocks_throttle_reasons/${p}`]);
  return [...text, `clocks_event_reasons/clocks_event_reason_${reason}`, `clocks_throttle_reasons/clocks_throttle_reason_${reason}`];
}

/** Field -> where the value is in -q text or XML, first match wins. */
const PATHS: Record<string, string[]> = {
  uuid: ['gpu_uuid', 'uuid'],
  name: ['product_name'],
  'pci.bus_id': ['pci/bus_id', 'pci/pci_bus_id', '@id'],
  driver_version: ['@driver_version'],
  vbios_version: ['vbios_version'],
  'utilization.gpu': ['utilization/gpu', 'utilization/gpu_util'],
  'utilization.memory': ['utilization/memory', 'utilization/memory_util'],
  'memory.used': ['fb_memory_usage/used'],
  'memory.total': ['fb_memory_usage/total'],
  'temperature.gpu': ['temperature/gpu_current_temp', 'temperature/gpu_temp'],
  'temperature.memory': ['temperature/memory_current_temp', 'temperature/memory_temp'],
  'power.draw': ['gpu_power_readings/power_draw', 'power_readings/power_draw'],
  'power.draw.instant': ['gpu_power_readings/instantaneous_power_draw', 'gpu_power_readings/instant_power_draw'],
  'power.limit': ['gpu_power_readings/current_power_limit', 'power_readings/power_limit', 'power_readings/current_power_limit'],
  'clocks.current.sm': ['clocks/sm', 'clocks/sm_clock'],
  'clocks.current.memory': ['clocks/memory', 'clocks/mem_clock'],
  'retired_pages.single_bit_ecc.count': ['retired_pages/single_bit_ecc', 'retired_pages/multiple_single_bit_retirement/retired_count'],
  'retired_pages.double_bit.count': ['retired_pages/double_bit_ecc', 'retired_pages/double_bit_retirement/retired_count'],
  'retired_pages.pending': ['retired_pages/pending_page_blacklist', 'retired_pages/pending_page_retirement', 'retired_pages/pending_retirement', 'retired_pages/pending_blacklist'],
  'remapped_rows.correctable': ['remapped_rows/correctable_error', 'remapped_rows/remapped_row_corr'],
  'remapped_rows.uncorrectable': ['remapped_rows/uncorrectable_error', 'remapped_rows/remapped_row_unc'],
  'remapped_rows.pending': ['remapped_rows/pending', 'remapped_rows/remapped_row_pending'],
  'remapped_rows.failure': ['remapped_rows/remapping_failure_occurred', 'remapped_rows/remapped_row_failure'],
  gpu_recovery_action: ['gpu_recovery_action'],
  'pcie.link.gen.current': ['pci/gpu_link_info/pcie_generation/current', 'pci/pci_gpu_link_info/pcie_gen/current_link_gen'],
  'pcie.link.width.current': ['pci/gpu_link_info/link_width/current', 'pci/pci_gpu_link_info/link_widths/current_link_width'],
  'fan.speed': ['fan_speed'],
  'mig.mode.current': ['mig_mode/current', 'mig_mode/current_mig'],
};
for (const r of Object.keys(THROTTLE_TEXT)) PATHS[`clocks_throttle_reasons.${r}`] = throttlePaths(r);

/** ECC totals: the sum of the parts a driver prints (old: single/double bit totals; new: SRAM + DRAM). */
function eccTotal(g: Flat, kind: 'corrected' | 'uncorrected', scope: 'volatile' | 'aggregate'): string {
  const old = g.get(`ecc_errors/${scope}/${kind === 'corrected' ? 'single_bit' : 'double_bit'}/total`);
  if (old !== undefined) return csvCell(old);
  const word = kind === 'corrected' ? 'correctable' : 'uncorrectable';
  const parts = [...g.entries()].filter(([k]) => k.startsWith(`ecc_errors/${scope}/`) && new RegExp(`^(sram|dram)_${word}(_parity|_sec-ded|_secded)?$`).test(k.split('/').pop() ?? ''));
  // Newer drivers print SRAM uncorrectable both split (parity, SEC-DED) and summed; count the sum once.
  const hasSum = parts.some(([k]) => k.endsWith(`sram_${word}`));
  const used = parts.filter(([k]) => !hasSum || !/_(parity|sec-ded|secded)$/.test(k));
  const nums = used.map(([, v]) => Number(v)).filter(Number.isFinite);
  return nums.length === 0 ? '[N/A]' : String(nums.reduce((a, b) => a + b, 0));
}

const UNIT = /\s*(%|MiB|W|MHz|C|x|bank\(s\))$/;

/** A -q/XML value as nounits CSV prints it. */
function csvCell(v: string | undefined): string {
  if (v === undefined) return '[N/A]';
  const t = v.trim();
  if (t === 'N/A' || t === '' || t === 'Requested functionality has been deprecated' || t === 'Not Supported' || t === 'Unknown Error') return t === 'Unknown Error' ? '[Unknown Error]' : '[N/A]';
  return t.replace(UNIT, '');
}

function fieldOf(g: Flat, index: number, field: string): string {
  if (field === 'index') return String(index);
  const ecc = /^ecc\.errors\.(corrected|uncorrected)\.(volatile|aggregate)\.total$/.exec(field);
  if (ecc) return eccTotal(g, ecc[1] as 'corrected', ecc[2] as 'volatile');
  for (const p of PATHS[field] ?? []) if (g.has(p)) return csvCell(g.get(p));
  return '[N/A]';
}

function norm(s: string): string {
  return s.trim().toLowerCase().replace(/\s+/g, '_').replace(/\./g, '');
}

/** Parses `nvidia-smi -q` text into one flat map per GPU. Throws when a GPU block is cut short. */
export function parseQueryText(text: string): Flat[] {
  const gpus: Flat[] = [];
  let driver = '';
  let cur: Flat | undefined;
  const stack: Array<{ indent: number; key: string }> = [];
  for (const line of text.split(/\r?\n/)) {
    const head = /^GPU ([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.\d)\s*$/.exec(line);
    if (head) {
      cur = new Map([['@id', head[1] ?? ''], ['@driver_version', driver]]);
      gpus.push(cur);
      stack.length = 0;
      continue;
    }
    const m = /^(\s*)([^:]+?)\s*(?::\s?(.*))?$/.exec(line);
    if (!m || line.trim() === '') continue;
    const indent = m[1]?.length ?? 0;
    const key = norm(m[2] ?? '');
    if (!cur) {
      if (key === 'driver_version') driver = (m[3] ?? '').trim();
      continue;
    }
    while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? 0) >= indent) stack.pop();
    const path = [...stack.map((s) => s.key), key].join('/');
    if (m[3] !== undefined && m[3].trim() !== '') cur.set(path, m[3].trim());
    stack.push({ indent, key });
  }
  for (const [i, g] of gpus.entries()) {
    if (!g.has('fb_memory_usage/total')) throw new Error(`GPU ${i} (${g.get('@id')}) ends before "FB Memory Usage": not complete nvidia-smi -q output`);
  }
  return gpus;
}

/** Parses `nvidia-smi -q -x` into one flat map per GPU (the XML is plain elements, no mixed content). */
export function parseQueryXml(xml: string): Flat[] {
  const gpus: Flat[] = [];
  let driver = '';
  const stack: string[] = [];
  let cur: Flat | undefined;
  let text = '';
  const body = xml.replace(/<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<!--[\s\S]*?-->/g, '');
  for (const t of body.matchAll(/<(\/?)([A-Za-z_][\w.-]*)([^>]*?)(\/?)>|([^<]+)/g)) {
    const [, close, name, attrs, selfClose, chars] = t;
    if (chars !== undefined) {
      text += chars;
      continue;
    }
    if (!name) continue;
    if (!close) {
      stack.push(name);
      text = '';
      if (name === 'gpu' && stack.length === 2) {
        cur = new Map([['@id', /id="([^"]+)"/.exec(attrs ?? '')?.[1] ?? ''], ['@driver_version', driver]]);
        gpus.push(cur);
      }
      if (!selfClose) continue;
    }
    const path = stack.slice(2).join('/');
    const value = text.trim();
    if (stack.length === 2 && name === 'driver_version') driver = value;
    if (cur && stack.length > 2 && value !== '') cur.set(path, value);
    text = '';
    stack.pop();
    if (name === 'gpu' && stack.length === 1) cur = undefined;
  }
  return gpus;
}

/** Parses the captured `--format=csv` files (header with units) into one flat map per GPU, keyed by field. */
export function parseCapturedCsv(text: string): Map<string, string>[] {
  const [header = '', ...rows] = text.trim().split(/\r?\n/);
  const cols = header.split(', ').map((h) => /^(.*?)(?: \[(.+)\])?$/.exec(h) ?? ['', h, undefined]);
  return rows.map((r) => {
    const cells = r.split(', ');
    return new Map(cols.map((c, i) => [c[1] ?? '', stripUnit(cells[i] ?? '', c[2])]));
  });
}

function stripUnit(v: string, unit: string | undefined): string {
  return unit && v.endsWith(` ${unit}`) ? v.slice(0, -unit.length - 1) : v;
}

const EVENT_ALIAS = (f: string): string => f.replace(/^clocks_throttle_reasons\./, 'clocks_event_reasons.');

/** The CSV nvidia-smi would print for `fields`, from any of the three formats. */
export function toQueryCsv(text: string, fields: readonly string[] = GPU_FIELDS): string {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('timestamp,') || /^[a-z_.]+(?: \[[^\]]+\])?, /.test(trimmed)) {
    return parseCapturedCsv(text)
      .map((g) => fields.map((f) => g.get(f) ?? g.get(EVENT_ALIAS(f)) ?? '[N/A]').join(', '))
      .join('\n')
      .concat('\n');
  }
  const gpus = trimmed.startsWith('<') ? parseQueryXml(text) : parseQueryText(text);
  return gpus
    .map((g, i) => fields.map((f) => fieldOf(g, i, f)).join(', '))
    .join('\n')
    .concat('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, fields] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node test/tools/nvidia-smi-convert.ts FILE [field,field,...]\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(toQueryCsv(readFileSync(file, 'utf8'), fields ? fields.split(',') : GPU_FIELDS));
  }
}
