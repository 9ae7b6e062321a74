import { normalizePciBusId } from '../pci.ts';
import type { Sample } from '../collector.ts';

/** The throttle reasons asked for; the `clocks_throttle_reasons.*` names work on old and new drivers alike. */
export const THROTTLE_REASONS = [
  'gpu_idle',
  'applications_clocks_setting',
  'sw_power_cap',
  'hw_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
  'sw_thermal_slowdown',
  'sync_boost',
] as const;

/** Every `--query-gpu` field the collector asks for, in order. A driver that lacks one drops it. */
export const GPU_FIELDS: readonly string[] = [
  'index',
  'uuid',
  'name',
  'pci.bus_id',
  'driver_version',
  'vbios_version',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'temperature.memory',
  'power.draw',
  'power.draw.instant',
  'power.limit',
  'clocks.current.sm',
  'clocks.current.memory',
  ...THROTTLE_REASONS.map((r) => `clocks_throttle_reasons.${r}`),
  'ecc.errors.corrected.volatile.total',
  'ecc.errors.corrected.aggregate.total',
  'ecc.errors.uncorrected.volatile.total',
  'ecc.errors.uncorrected.aggregate.total',
  'retired_pages.single_bit_ecc.count',
  'retired_pages.double_bit.count',
  'retired_pages.pending',
  'remapped_rows.correctable',
  'remapped_rows.uncorrectable',
  'remapped_rows.pending',
  'remapped_rows.failure',
  'gpu_recovery_action',
  'pcie.link.gen.current',
  'pcie.link.width.current',
  'fan.speed',
  'mig.mode.current',
];

/** One GPU's row: field name to the cell as printed, already trimmed. */
export type GpuRow = ReadonlyMap<string, string>;

/** Thrown for output that does not have the shape asked for (a corrupt or truncated answer). */
export class CsvShapeError extends Error {
  override readonly name = 'CsvShapeError';
}

/**
 * Parses `--format=csv,noheader,nounits` output for the given fields. nvidia-smi separates
 * cells with ", " and never quotes, so a row with the wrong number of cells is corrupt.
 */
export function parseGpuCsv(text: string, fields: readonly string[]): GpuRow[] {
  const rows: GpuRow[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== fields.length) {
      throw new CsvShapeError(`line ${i + 1} has ${cells.length} cells, expected ${fields.length} for the fields asked: ${truncate(line)}`);
    }
    rows.push(new Map(fields.map((f, j) => [f, cells[j] ?? ''])));
  }
  return rows;
}

/**
 * True for cells that mean "no value": `[N/A]`, `[Not Supported]`, `[Requested functionality
 * has been deprecated]`, `[Unknown Error]`, `N/A`, `ERR!` and the like. They become absent
 * series, never 0, so a dashboard does not draw a GPU at 0 W that really cannot say.
 */
export function isAbsent(cell: string | undefined): boolean {
  if (cell === undefined) return true;
  const c = cell.trim();
  return c === '' || /^\[.*\]$/.test(c) || /^(N\/A|Unknown Error|ERR!|Not Supported|Insufficient Permissions|GPU is lost)$/i.test(c);
}

/** A number, tolerating a unit suffix (`81559 MiB`, `631.95 W`) for output captured without `nounits`. */
export function cellNumber(cell: string | undefined): number | undefined {
  if (isAbsent(cell)) return undefined;
  const m = /^(-?\d+(?:\.\d+)?)(?:\s*[A-Za-z%]+)?$/.exec((cell ?? '').trim());
  return m ? Number(m[1]) : undefined;
}

/** Yes/No, Enabled/Disabled, Active/Not Active as 1/0. */
export function cellBool(cell: string | undefined): number | undefined {
  if (isAbsent(cell)) return undefined;
  const c = (cell ?? '').trim().toLowerCase();
  if (c === 'yes' || c === 'enabled' || c === 'active') return 1;
  if (c === 'no' || c === 'disabled' || c === 'not active') return 0;
  return undefined;
}

const MIB = 1024 * 1024;
const MHZ = 1e6;

/** Scalar series: metric name, the field, and the factor to base units. */
const SCALARS: ReadonlyArray<readonly [string, string, number]> = [
  ['surgeguard_gpu_utilization_ratio', 'utilization.gpu', 0.01],
  ['surgeguard_gpu_memory_utilization_ratio', 'utilization.memory', 0.01],
  ['surgeguard_gpu_memory_used_bytes', 'memory.used', MIB],
  ['surgeguard_gpu_memory_total_bytes', 'memory.total', MIB],
  ['surgeguard_gpu_temperature_celsius', 'temperature.gpu', 1],
  ['surgeguard_gpu_memory_temperature_celsius', 'temperature.memory', 1],
  ['surgeguard_gpu_power_limit_watts', 'power.limit', 1],
  ['surgeguard_gpu_sm_clock_hertz', 'clocks.current.sm', MHZ],
  ['surgeguard_gpu_memory_clock_hertz', 'clocks.current.memory', MHZ],
  ['surgeguard_gpu_pcie_link_generation', 'pcie.link.gen.current', 1],
  ['surgeguard_gpu_pcie_link_width', 'pcie.link.width.current', 1],
  ['surgeguard_gpu_fan_ratio', 'fan.speed', 0.01],
];

/** Series with one extra label: metric, label name, label value, field, parser. */
const LABELLED: ReadonlyArray<readonly [string, string, string, string, (c: string | undefined) => number | undefined]> = [
  ['surgeguard_gpu_ecc_volatile_errors_total', 'type=corrected', '', 'ecc.errors.corrected.volatile.total', cellNumber],
  ['surgeguard_gpu_ecc_aggregate_errors_total', 'type=corrected', '', 'ecc.errors.corrected.aggregate.total', cellNumber],
  ['surgeguard_gpu_ecc_volatile_errors_total', 'type=uncorrected', '', 'ecc.errors.uncorrected.volatile.total', cellNumber],
  ['surgeguard_gpu_ecc_aggregate_errors_total', 'type=uncorrected', '', 'ecc.errors.uncorrected.aggregate.total', cellNumber],
  ['surgeguard_gpu_retired_pages', 'cause=single_bit', '', 'retired_pages.single_bit_ecc.count', cellNumber],
  ['surgeguard_gpu_retired_pages', 'cause=double_bit', '', 'retired_pages.double_bit.count', cellNumber],
  ['surgeguard_gpu_remapped_rows', 'kind=correctable', '', 'remapped_rows.correctable', cellNumber],
  ['surgeguard_gpu_remapped_rows', 'kind=uncorrectable', '', 'remapped_rows.uncorrectable', cellNumber],
];

/** The identity labels of one GPU, shared by every series of it. */
export interface GpuIdentity {
  readonly index: string;
  readonly uuid: string;
  readonly model: string;
  /** Normalised (`0000:83:00.0`), or '' when the driver did not say. */
  readonly pciBusId: string;
}

/** Reads the identity of a row; undefined when the row lacks an index (corrupt). */
export function gpuIdentity(row: GpuRow): GpuIdentity | undefined {
  const index = row.get('index');
  if (index === undefined || !/^\d+$/.test(index)) return undefined;
  const busRaw = row.get('pci.bus_id');
  return {
    index,
    uuid: isAbsent(row.get('uuid')) ? '' : (row.get('uuid') ?? ''),
    model: isAbsent(row.get('name')) ? '' : (row.get('name') ?? ''),
    pciBusId: busRaw && !isAbsent(busRaw) ? (normalizePciBusId(busRaw) ?? '') : '',
  };
}

/** `Drain and Reset` -> `drain_and_reset`: a bounded label value. */
function snake(s: string): string {
  return s.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}

/** Turns one GPU row into samples, with `holder` (its pod's labels, or none) on each. Absent cells give no sample at all. */
export function rowToSamples(row: GpuRow, node: string, holder: Readonly<Record<string, string>> = {}): Sample[] {
  const id = gpuIdentity(row);
  if (!id) throw new CsvShapeError(`a row has no GPU index: ${truncate([...row.values()].join(', '))}`);
  const base = { node, gpu: id.index, uuid: id.uuid, gpu_model: id.model, ...holder };
  const out: Sample[] = [];
  const push = (name: string, value: number | undefined, extra: Record<string, string> = {}): void => {
    if (value !== undefined && Number.isFinite(value)) out.push({ name, labels: { ...base, ...extra }, value });
  };
  for (const [name, field, factor] of SCALARS) {
    const v = cellNumber(row.get(field));
    push(name, v === undefined ? undefined : v * factor);
  }
  // power.draw is N/A on some drivers that still report the instant reading.
  push('surgeguard_gpu_power_watts', cellNumber(row.get('power.draw')) ?? cellNumber(row.get('power.draw.instant')));
  for (const r of THROTTLE_REASONS) push('surgeguard_gpu_throttle_reason', cellBool(row.get(`clocks_throttle_reasons.${r}`)), { reason: r });
  for (const [name, l1, l2, field, parse] of LABELLED) {
    const labels = Object.fromEntries([l1, l2].filter(Boolean).map((kv) => kv.split('=') as [string, string]));
    push(name, parse(row.get(field)), labels);
  }
  push('surgeguard_gpu_retired_pages_pending', cellBool(row.get('retired_pages.pending')));
  push('surgeguard_gpu_row_remap_pending', cellBool(row.get('remapped_rows.pending')));
  push('surgeguard_gpu_row_remap_failure', cellBool(row.get('remapped_rows.failure')));
  const action = row.get('gpu_recovery_action');
  if (!isAbsent(action)) push('surgeguard_gpu_recovery_action', 1, { action: snake(action ?? '') });
  push('surgeguard_gpu_mig_enabled', cellBool(row.get('mig.mode.current')));
  const cell = (f: string): string => (isAbsent(row.get(f)) ? '' : (row.get(f) ?? ''));
  push('surgeguard_gpu_info', 1, { pci_bus_id: id.pciBusId, driver_version: cell('driver_version'), vbios_version: cell('vbios_version') });
  return out;
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
