import type { Logger } from '../../common/logger.ts';
import { BlindError, family, type Collector, type Sample } from '../collector.ts';
import type { GpuInventory } from '../gpu-inventory.ts';
import type { KernelLineSource, KernelLogState } from '../kernel-log.ts';
import { normalizePciBusId } from '../pci.ts';

export interface XidCollectorConfig {
  readonly intervalSeconds: number;
}

export interface XidCollectorDeps {
  readonly source: KernelLineSource;
  readonly inventory: GpuInventory;
  readonly node: string;
  /** Logs each change of the kernel log's state (blind, and readable again) once. */
  readonly logger?: Logger;
}

const LABELS = ['node', 'gpu', 'uuid', 'pci_bus_id', 'xid'] as const;

export const XID_FAMILIES = [
  family('surgeguard_gpu_xid_errors_total', 'counter', 'NVIDIA XID errors seen in the kernel log since the agent started, by GPU and code.', LABELS),
  family('surgeguard_gpu_xid_last_timestamp_seconds', 'gauge', 'Unix time at which the agent read the last XID error of this GPU and code.', LABELS),
  family('surgeguard_kernel_log_readable', 'gauge', 'Whether the xid collector can read the kernel log (1) or is blind to XID errors (0), with the reason.', ['node', 'source', 'path', 'reason']),
] as const;

/** One parsed `NVRM: Xid (PCI:0000:9b:00): 119, pid=..., ...` line. */
export interface XidEvent {
  readonly pciBusId: string;
  readonly xid: string;
}

const XID_LINE = /NVRM: Xid \((PCI:[0-9a-fA-F:.]+)\): (\d+)\b/;
const GPU_AT = /NVRM: GPU at (PCI:[0-9a-fA-F:.]+): (GPU-[0-9a-fA-F-]+)/;

/** Parses an XID line; undefined for any other line. */
export function parseXidLine(line: string): XidEvent | undefined {
  const m = XID_LINE.exec(line);
  const bus = m?.[1] ? normalizePciBusId(m[1]) : undefined;
  return bus && m?.[2] ? { pciBusId: bus, xid: m[2] } : undefined;
}

/**
 * The xid collector: counts `NVRM: Xid` lines per GPU and code from a kernel log source.
 * GPU index and UUID come from the gpu collector's inventory, or from the driver's own
 * `NVRM: GPU at PCI:...: GPU-<uuid>` lines when nvidia-smi has not answered.
 */
export function createXidCollector(deps: XidCollectorDeps, config: XidCollectorConfig): Collector {
  const counts = new Map<string, { bus: string; xid: string; count: number; lastMs: number }>();
  const uuidFromLog = new Map<string, string>();

  function ingest(line: string, nowMs: number): void {
    const at = GPU_AT.exec(line);
    const atBus = at?.[1] ? normalizePciBusId(at[1]) : undefined;
    if (atBus && at?.[2]) uuidFromLog.set(atBus, at[2]);
    const ev = parseXidLine(line);
    if (!ev) return;
    const k = `${ev.pciBusId}/${ev.xid}`;
    const entry = counts.get(k) ?? { bus: ev.pciBusId, xid: ev.xid, count: 0, lastMs: 0 };
    entry.count++;
    entry.lastMs = nowMs;
    counts.set(k, entry);
  }

  function samplesOf(e: { bus: string; xid: string; count: number; lastMs: number }): Sample[] {
    const gpu = deps.inventory.byPciBusId(e.bus);
    const labels = { node: deps.node, gpu: gpu?.index ?? '', uuid: gpu?.uuid || uuidFromLog.get(e.bus) || '', pci_bus_id: e.bus, xid: e.xid };
    return [
      { name: 'surgeguard_gpu_xid_errors_total', labels, value: e.count },
      { name: 'surgeguard_gpu_xid_last_timestamp_seconds', labels, value: e.lastMs / 1000 },
    ];
  }

  let lastReason: string | undefined;
  function logChange(st: KernelLogState): void {
    if (st.reason === lastReason) return;
    const first = lastReason === undefined;
    lastReason = st.reason;
    if (st.readable && !first) deps.logger?.info({ collector: 'xid', source: st.source, path: st.path }, 'kernel log readable again; XID errors are counted');
    else if (!st.readable) deps.logger?.warn({ collector: 'xid', code: 'SG_COLLECTOR_FAILED', source: st.source, path: st.path, reason: st.reason, errno: st.detail }, `cannot read kernel log ${st.path} (${st.reason}: ${st.detail ?? ''}); XID errors are not seen`);
  }

  return {
    name: 'xid',
    intervalMs: config.intervalSeconds * 1000,
    timeoutMs: 5000,
    families: XID_FAMILIES,
    collect(ctx) {
      for (const line of deps.source.read()) ingest(line, ctx.nowMs);
      const st = deps.source.state();
      logChange(st);
      // Counts read before the log became unreadable stay: they are still true, and a counter
      // that vanished and came back would look like a reset to rate().
      const samples = [...counts.values()].flatMap((e) => samplesOf(e));
      samples.push({ name: 'surgeguard_kernel_log_readable', labels: { node: deps.node, source: st.source, path: st.path, reason: st.reason }, value: st.readable ? 1 : 0 });
      if (!st.readable) {
        return Promise.reject(new BlindError(`cannot read kernel log ${st.path} (${st.reason}: ${st.detail ?? ''})`, samples, { details: { collector: 'xid', path: st.path, reason: st.reason } }));
      }
      return Promise.resolve(samples);
    },
    close() {
      deps.source.close();
      return Promise.resolve();
    },
  };
}
