import type { Logger } from '../../common/logger.ts';
import { ErrorCode, SurgeGuardError } from '../../common/errors.ts';
import { family, unavailable, withOptionalLabels, type Collector, type CollectContext, type Sample, type Unavailable } from '../collector.ts';
import type { ExecFn } from '../exec.ts';
import { HOLDER_LABELS, type GpuHolders } from '../gpu-holders.ts';
import type { GpuInventory } from '../gpu-inventory.ts';
import { normalizePciBusId } from '../pci.ts';
import { GPU_FIELDS, cellBool, gpuIdentity, parseGpuCsv, rowToSamples, type GpuIdentity, type GpuRow } from './gpu-csv.ts';
import { parseMigDevices, type MigDevice } from './mig.ts';

export interface GpuCollectorConfig {
  readonly nvidiaSmiPath: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  /**
   * PCIe replays and MIG instances exist only in `-q` output, which is slower: it is read at this
   * longer interval (all of `-q` when a GPU has MIG on, `-q -d PCIE` otherwise).
   */
  readonly pcieReplayIntervalSeconds: number;
}

export interface GpuCollectorDeps {
  readonly exec: ExecFn;
  readonly logger: Logger;
  readonly node: string;
  readonly inventory: GpuInventory;
  /** Who holds each GPU, from the gpu_allocation collector; a held GPU's series carry `pod`, `namespace`, `container`. */
  readonly holders: GpuHolders;
}

const GPU_LABELS = ['node', 'gpu', 'uuid', 'gpu_model'] as const;
/** A series of one whole GPU: its holder's labels when one container holds it. */
const perGpu = (name: string, type: 'gauge' | 'counter', help: string, extra: readonly string[] = []): ReturnType<typeof family> => withOptionalLabels(family(name, type, help, [...GPU_LABELS, ...extra]), HOLDER_LABELS);
const g = (name: string, help: string, extra: readonly string[] = []): ReturnType<typeof family> => perGpu(name, 'gauge', help, extra);
/** A series of one MIG instance: no holder labels, since the GPU's holder is not the instance's. */
const migFamily = (name: string, help: string): ReturnType<typeof family> => family(name, 'gauge', help, [...GPU_LABELS, 'gpu_instance', 'compute_instance', 'mig_device']);

export const GPU_FAMILIES = [
  g('surgeguard_gpu_utilization_ratio', 'Share of time a kernel ran on the GPU over the last sample period (utilization.gpu).'),
  g('surgeguard_gpu_memory_utilization_ratio', 'Share of time device memory was read or written (utilization.memory).'),
  g('surgeguard_gpu_memory_used_bytes', 'Device memory in use.'),
  g('surgeguard_gpu_memory_total_bytes', 'Device memory in total.'),
  g('surgeguard_gpu_temperature_celsius', 'GPU core temperature.'),
  g('surgeguard_gpu_memory_temperature_celsius', 'HBM memory temperature, where the GPU reports it.'),
  g('surgeguard_gpu_power_watts', 'Power draw (power.draw, or power.draw.instant where power.draw is N/A).'),
  g('surgeguard_gpu_power_limit_watts', 'Power limit in force.'),
  g('surgeguard_gpu_sm_clock_hertz', 'Current SM clock.'),
  g('surgeguard_gpu_memory_clock_hertz', 'Current memory clock.'),
  g('surgeguard_gpu_throttle_reason', 'Clock event (throttle) reason: 1 while active.', ['reason']),
  perGpu('surgeguard_gpu_ecc_volatile_errors_total', 'counter', 'ECC errors since the driver loaded, by type (corrected, uncorrected).', ['type']),
  perGpu('surgeguard_gpu_ecc_aggregate_errors_total', 'counter', 'ECC errors over the GPU\'s lifetime (includes the volatile ones), by type.', ['type']),
  g('surgeguard_gpu_retired_pages', 'Device memory pages retired, by cause (pre-Ampere GPUs).', ['cause']),
  g('surgeguard_gpu_retired_pages_pending', '1 when a page retirement waits for the next driver reload.'),
  g('surgeguard_gpu_remapped_rows', 'Rows remapped (Ampere and later), by the kind of error that caused it (correctable, uncorrectable).', ['kind']),
  g('surgeguard_gpu_row_remap_pending', '1 when a row remapping waits for the next GPU reset (Ampere and later).'),
  g('surgeguard_gpu_row_remap_failure', '1 when a row remapping failed (Ampere and later).'),
  g('surgeguard_gpu_recovery_action', 'The recovery action the driver recommends (1 for the current one).', ['action']),
  g('surgeguard_gpu_pcie_link_generation', 'Current PCIe link generation.'),
  g('surgeguard_gpu_pcie_link_width', 'Current PCIe link width (lanes).'),
  perGpu('surgeguard_gpu_pcie_replays_total', 'counter', 'PCIe replays since the GPU was reset (from nvidia-smi -q, read at a longer interval).'),
  g('surgeguard_gpu_fan_ratio', 'Fan speed as a share of its maximum.'),
  g('surgeguard_gpu_mig_enabled', '1 when MIG mode is enabled.'),
  migFamily('surgeguard_gpu_mig_memory_used_bytes', 'Memory in use on a MIG instance (nvidia-smi -q, read at the PCIe replay interval).'),
  migFamily('surgeguard_gpu_mig_memory_total_bytes', 'Memory of a MIG instance.'),
  migFamily('surgeguard_gpu_mig_multiprocessors', 'Streaming multiprocessors of a MIG instance.'),
  g('surgeguard_gpu_info', 'GPU inventory; the value is always 1.', ['pci_bus_id', 'driver_version', 'vbios_version']),
  family('surgeguard_gpu_nvidia_smi_available', 'gauge', 'Whether nvidia-smi was found at the configured path (1), or is missing and looked for again with backoff, so no GPU is seen (0).', ['node', 'path']),
] as const;

const UNKNOWN_FIELD = /Field "([^"]+)" is not a valid field to query/;
const NO_DEVICES = /No devices were found/;
/** At most this many unknown fields are dropped in one cycle; each costs one short nvidia-smi call. */
const MAX_DROPS_PER_CYCLE = 48;
/**
 * nvidia-smi missing: looked for again after 10 s, doubling to 5 minutes, so a driver that the
 * GPU operator installs after the agent started is seen within 5 minutes of its arrival.
 */
const MISSING_RETRY_FIRST_MS = 10_000;
const MISSING_RETRY_MAX_MS = 300_000;

/** Parses `nvidia-smi -q -d PCIE`: replays since reset per normalised PCI bus id. */
export function parsePcieReplays(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let bus: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const head = /^GPU\s+([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.\d)\s*$/.exec(line);
    if (head?.[1]) bus = normalizePciBusId(head[1]);
    const m = /^\s*Replays Since Reset\s*:\s*(\d+)\s*$/.exec(line);
    if (m && bus) out.set(bus, Number(m[1]));
  }
  return out;
}

/**
 * The gpu collector: one `nvidia-smi --query-gpu` call per cycle, killed with its process
 * group at the timeout. Fields a driver does not know are dropped once and remembered. When
 * nvidia-smi is not there the collector is unavailable, not failing: it warns once, says so in
 * `surgeguard_gpu_nvidia_smi_available`, and looks again with backoff.
 */
export function createGpuCollector(deps: GpuCollectorDeps, config: GpuCollectorConfig): Collector {
  const dropped = new Set<string>();
  let replays = new Map<string, number>();
  let lastReplayReadMs = -Infinity;
  let mig = new Map<string, MigDevice[]>();
  const timeoutMs = config.timeoutSeconds * 1000;
  let missingRetryMs = 0;
  const availability = (value: number): Sample => ({ name: 'surgeguard_gpu_nvidia_smi_available', labels: { node: deps.node, path: config.nvidiaSmiPath }, value });

  function missing(err: NodeJS.ErrnoException): Unavailable {
    if (missingRetryMs === 0) {
      deps.logger.warn({ collector: 'gpu', path: config.nvidiaSmiPath, errno: err.code, retryInMs: MISSING_RETRY_FIRST_MS }, `nvidia-smi not found at ${config.nvidiaSmiPath}; no GPU metrics until it appears (looked for again with backoff up to ${MISSING_RETRY_MAX_MS / 1000} s)`);
    }
    missingRetryMs = missingRetryMs === 0 ? MISSING_RETRY_FIRST_MS : Math.min(missingRetryMs * 2, MISSING_RETRY_MAX_MS);
    return unavailable(missingRetryMs, [availability(0)]);
  }

  function found(): void {
    if (missingRetryMs !== 0) deps.logger.info({ collector: 'gpu', path: config.nvidiaSmiPath }, 'nvidia-smi found; GPU metrics resume');
    missingRetryMs = 0;
  }

  async function query(ctx: CollectContext): Promise<string[] | Unavailable> {
    for (let attempt = 0; attempt <= MAX_DROPS_PER_CYCLE; attempt++) {
      const fields = GPU_FIELDS.filter((f) => !dropped.has(f));
      let res;
      try {
        res = await deps.exec(config.nvidiaSmiPath, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], { timeoutMs, signal: ctx.signal });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return missing(err as NodeJS.ErrnoException);
        throw err;
      }
      found();
      const text = `${res.stdout}\n${res.stderr}`;
      const unknown = UNKNOWN_FIELD.exec(text)?.[1];
      if (res.exitCode !== 0 && unknown && fields.includes(unknown)) {
        dropped.add(unknown);
        deps.logger.info({ collector: 'gpu', field: unknown }, 'nvidia-smi does not know this field; it is no longer asked for');
        continue;
      }
      if (res.exitCode !== 0 && NO_DEVICES.test(text)) return [fields.join(','), ''];
      if (res.exitCode !== 0) {
        throw new SurgeGuardError(ErrorCode.CollectorFailed, `nvidia-smi exited ${res.exitCode}: ${firstLine(text)}`, { details: { collector: 'gpu', exitCode: res.exitCode } });
      }
      return [fields.join(','), res.stdout];
    }
    throw new SurgeGuardError(ErrorCode.CollectorFailed, `nvidia-smi refused more than ${MAX_DROPS_PER_CYCLE} fields`, { details: { collector: 'gpu' } });
  }

  async function refreshReplays(ctx: CollectContext, anyMig: boolean): Promise<void> {
    if (ctx.nowMs - lastReplayReadMs < config.pcieReplayIntervalSeconds * 1000) return;
    lastReplayReadMs = ctx.nowMs;
    try {
      const res = await deps.exec(config.nvidiaSmiPath, anyMig ? ['-q'] : ['-q', '-d', 'PCIE'], { timeoutMs, signal: ctx.signal });
      if (res.exitCode === 0) {
        replays = parsePcieReplays(res.stdout);
        mig = anyMig ? parseMigDevices(res.stdout) : new Map();
      }
    } catch (err) {
      // Replays are a slow extra: a failure here keeps the last values and the main cycle.
      deps.logger.warn({ collector: 'gpu', error: (err as Error).message }, 'reading PCIe replays with nvidia-smi -q failed');
    }
  }

  return {
    name: 'gpu',
    intervalMs: config.intervalSeconds * 1000,
    // The collector may call nvidia-smi a few times in a cycle (dropped fields, replays).
    timeoutMs: timeoutMs * 2 + 1000,
    families: GPU_FAMILIES,
    async collect(ctx) {
      const answer = await query(ctx);
      if (!Array.isArray(answer)) return answer;
      const [fieldList, stdout] = answer as [string, string];
      let rows;
      try {
        rows = parseGpuCsv(stdout, fieldList.split(','));
      } catch (cause) {
        throw new SurgeGuardError(ErrorCode.CollectorFailed, `${config.nvidiaSmiPath} output is not the CSV asked for: ${(cause as Error).message}`, { cause, details: { collector: 'gpu' } });
      }
      const holderOf = (r: GpuRow): Readonly<Record<string, string>> => deps.holders.labelsOf(gpuIdentity(r)?.uuid ?? '');
      const samples: Sample[] = [availability(1), ...rows.flatMap((r) => rowToSamples(r, deps.node, holderOf(r)))];
      const gpus = rows.map(gpuIdentity).filter((x): x is GpuIdentity => x !== undefined);
      deps.inventory.update(gpus);
      if (gpus.length > 0) await refreshReplays(ctx, rows.some((r) => cellBool(r.get('mig.mode.current')) === 1));
      for (const id of gpus) {
        const labels = { node: deps.node, gpu: id.index, uuid: id.uuid, gpu_model: id.model };
        const v = replays.get(id.pciBusId);
        if (v !== undefined) samples.push({ name: 'surgeguard_gpu_pcie_replays_total', labels: { ...labels, ...deps.holders.labelsOf(id.uuid) }, value: v });
        samples.push(...migSamples(labels, mig.get(id.pciBusId) ?? []));
      }
      return samples;
    },
  };
}

/** The series of one GPU's MIG instances. */
function migSamples(gpu: Record<string, string>, devices: readonly MigDevice[]): Sample[] {
  const out: Sample[] = [];
  for (const d of devices) {
    const labels = { ...gpu, gpu_instance: d.gpuInstance, compute_instance: d.computeInstance, mig_device: d.index };
    if (d.memoryUsedBytes !== undefined) out.push({ name: 'surgeguard_gpu_mig_memory_used_bytes', labels, value: d.memoryUsedBytes });
    if (d.memoryTotalBytes !== undefined) out.push({ name: 'surgeguard_gpu_mig_memory_total_bytes', labels, value: d.memoryTotalBytes });
    if (d.multiprocessors !== undefined) out.push({ name: 'surgeguard_gpu_mig_multiprocessors', labels, value: d.multiprocessors });
  }
  return out;
}

function firstLine(s: string): string {
  return (s.trim().split('\n')[0] ?? '').slice(0, 300);
}
