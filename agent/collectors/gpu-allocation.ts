import { DISABLED, family, type Collector, type Sample } from '../collector.ts';
import type { GpuHolders } from '../gpu-holders.ts';
import type { GpuInventory } from '../gpu-inventory.ts';
import type { DeviceAllocation, PodResourcesClient } from '../pod-resources.ts';

export interface GpuAllocationConfig {
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly resourceNames: readonly string[];
}

export interface GpuAllocationDeps {
  readonly client: PodResourcesClient;
  readonly inventory: GpuInventory;
  /** Filled from each List for the gpu collector, which puts the holder's labels on the GPU's own series. */
  readonly holders: GpuHolders;
  readonly node: string;
}

export const GPU_ALLOCATION_FAMILIES = [
  family('surgeguard_gpu_allocation', 'gauge', 'Which pod and container hold the GPU, from the kubelet pod-resources API; the value is always 1.', ['node', 'gpu', 'uuid', 'namespace', 'pod', 'container']),
] as const;

/**
 * The gpu_allocation collector: asks the kubelet's pod-resources API (gRPC v1 List) which
 * container holds each GPU, exports it as `surgeguard_gpu_allocation` and hands it to the gpu
 * collector's series through {@link GpuHolders}. Disabled when the socket is not mounted.
 */
export function createGpuAllocationCollector(deps: GpuAllocationDeps, config: GpuAllocationConfig): Collector {
  const wanted = new Set(config.resourceNames);
  return {
    name: 'gpu_allocation',
    intervalMs: config.intervalSeconds * 1000,
    timeoutMs: config.timeoutSeconds * 1000 + 500,
    families: GPU_ALLOCATION_FAMILIES,
    async collect() {
      let allocations: DeviceAllocation[] | undefined;
      try {
        allocations = await deps.client.list(config.timeoutSeconds * 1000);
      } catch (err) {
        // Not knowing the holders is not knowing them: the GPU series lose their pod labels
        // at their next cycle rather than keep a holder that may have gone.
        deps.holders.clear();
        throw err;
      }
      if (allocations === undefined) {
        deps.holders.clear();
        return DISABLED;
      }
      const gpus = allocations.filter((a) => wanted.has(a.resourceName));
      deps.holders.update(gpus);
      const samples: Sample[] = [];
      for (const a of gpus) {
        // The NVIDIA device plugin names GPUs by UUID (MIG devices by MIG UUID).
        const gpu = deps.inventory.byUuidOf(a.deviceId);
        samples.push({ name: 'surgeguard_gpu_allocation', labels: { node: deps.node, gpu: gpu?.index ?? '', uuid: a.deviceId, namespace: a.namespace, pod: a.pod, container: a.container }, value: 1 });
      }
      return samples;
    },
    close() {
      deps.client.close();
      return Promise.resolve();
    },
  };
}
