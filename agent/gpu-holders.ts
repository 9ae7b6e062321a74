import type { DeviceAllocation } from './pod-resources.ts';

/** The pod and container that hold one whole GPU. */
export interface GpuHolder {
  readonly pod: string;
  readonly namespace: string;
  readonly container: string;
}

/** The labels a held GPU's series carry; dcgm-exporter's names, so queries written for it read ours. */
export const HOLDER_LABELS = ['pod', 'namespace', 'container'] as const;

/**
 * The physical GPU's UUID of a device id the kubelet reports: the NVIDIA device plugin names a
 * whole GPU by its UUID and a time-sliced replica `<uuid>::<n>`. A MIG device (`MIG-...`) is
 * undefined: its UUID does not name its parent GPU, and one GPU's instances have holders of their own.
 */
export function physicalGpuUuid(deviceId: string): string | undefined {
  if (!deviceId.startsWith('GPU-')) return undefined;
  const sep = deviceId.indexOf('::');
  return sep === -1 ? deviceId : deviceId.slice(0, sep);
}

/**
 * Which one container holds each GPU. A GPU that several containers share (time-slicing replicas
 * held by different pods) has no single holder and is left out: putting one of them on the GPU's
 * series would charge it for the others' use, and a series per holder would make `sum()` over the
 * GPU count it once per holder. `surgeguard_gpu_allocation` still lists every holder.
 */
export function holdersByGpu(allocations: readonly DeviceAllocation[]): Map<string, GpuHolder> {
  const seen = new Map<string, GpuHolder | 'shared'>();
  for (const a of allocations) {
    const uuid = physicalGpuUuid(a.deviceId);
    if (uuid === undefined) continue;
    const holder: GpuHolder = { pod: a.pod, namespace: a.namespace, container: a.container };
    const prior = seen.get(uuid);
    if (prior === undefined) seen.set(uuid, holder);
    else if (prior !== 'shared' && !sameHolder(prior, holder)) seen.set(uuid, 'shared');
  }
  const out = new Map<string, GpuHolder>();
  for (const [uuid, h] of seen) if (h !== 'shared') out.set(uuid, h);
  return out;
}

function sameHolder(a: GpuHolder, b: GpuHolder): boolean {
  return a.pod === b.pod && a.namespace === b.namespace && a.container === b.container;
}

/**
 * The GPU holders the gpu_allocation collector read last, shared read-only with the gpu collector,
 * which puts `pod`, `namespace` and `container` on the series of a held GPU at its next cycle.
 * Emptied when a read fails: labels from a list the agent could not read would be a guess.
 */
export class GpuHolders {
  private byUuid = new Map<string, GpuHolder>();

  /** Replaces the holders with those of one successful pod-resources List. */
  update(allocations: readonly DeviceAllocation[]): void {
    this.byUuid = holdersByGpu(allocations);
  }

  clear(): void {
    this.byUuid = new Map();
  }

  /** The labels of the GPU's one holder, or none when no one container holds it. */
  labelsOf(uuid: string): Readonly<Record<string, string>> {
    const h = this.byUuid.get(uuid);
    return h ? { pod: h.pod, namespace: h.namespace, container: h.container } : NO_LABELS;
  }
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
