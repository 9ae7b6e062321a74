import type { GpuIdentity } from './collectors/gpu-csv.ts';

/**
 * The GPUs the gpu collector saw last, shared read-only with the xid and allocation
 * collectors so that a kernel line naming a PCI bus id gets the same `gpu` and `uuid`
 * labels as the nvidia-smi series.
 */
export class GpuInventory {
  private byBus = new Map<string, GpuIdentity>();
  private byUuid = new Map<string, GpuIdentity>();

  /** Replaces the inventory with the GPUs of one successful nvidia-smi answer. */
  update(gpus: readonly GpuIdentity[]): void {
    this.byBus = new Map(gpus.filter((g) => g.pciBusId).map((g) => [g.pciBusId, g]));
    this.byUuid = new Map(gpus.filter((g) => g.uuid).map((g) => [g.uuid, g]));
  }

  /** Looks a GPU up by its normalised PCI bus id. */
  byPciBusId(busId: string): GpuIdentity | undefined {
    return this.byBus.get(busId);
  }

  byUuidOf(uuid: string): GpuIdentity | undefined {
    return this.byUuid.get(uuid);
  }

  all(): GpuIdentity[] {
    return [...this.byBus.values()];
  }
}
