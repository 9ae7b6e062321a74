import type { Attributes } from '@opentelemetry/api';
import type { OtelRename, RenameTable } from '../common/otlp/to-otlp.ts';

/**
 * The agent's series that have a name in the OpenTelemetry semantic conventions for hardware
 * (semconv as shipped in @opentelemetry/semantic-conventions 1.45: `hw.gpu.*`, `hw.errors`,
 * `hw.power`, `hw.temperature`, `hw.fan.speed_ratio`), and how their labels become attributes.
 * Everything else keeps its SurgeGuard name over OTLP. The table, and why some series are not
 * in it, is in docs/agent.md ("OTLP"). The conventions are still in development: the names are
 * written out here, not imported from the package's incubating entry, which may change them in
 * a minor release.
 */

type Labels = Readonly<Record<string, string>>;

/**
 * The pod holding the GPU, in the semantic conventions' Kubernetes names; absent when no one
 * container holds it (the labels are absent then too).
 */
function holder(l: Labels): Attributes {
  return l.pod ? { 'k8s.pod.name': l.pod, 'k8s.namespace.name': l.namespace ?? '', 'k8s.container.name': l.container ?? '' } : {};
}

/** The GPU itself: `hw.id` is its UUID (unique on the host and stable across reboots). */
function gpu(l: Labels): Attributes {
  return {
    'hw.type': 'gpu',
    'hw.id': l.uuid || `pci:${l.pci_bus_id ?? ''}`,
    ...(l.gpu ? { 'hw.name': `gpu${l.gpu}` } : {}),
    ...(l.gpu_model ? { 'hw.model': l.gpu_model } : {}),
    // nvidia-smi sees NVIDIA GPUs only.
    'hw.vendor': 'NVIDIA',
    ...holder(l),
  };
}

/** A sensor on the GPU (temperature, fan): its own component, whose parent is the GPU. */
function part(l: Labels, type: 'temperature' | 'fan', where: string): Attributes {
  return { 'hw.type': type, 'hw.id': `${l.uuid}/${where}`, 'hw.parent': l.uuid ?? '', ...(l.gpu ? { 'hw.name': `gpu${l.gpu} ${where}` } : {}), ...holder(l) };
}

const GPU_ERRORS = { name: 'hw.errors', instrument: 'counter', unit: '{error}', description: 'Errors the GPU reported, by error.type: ecc_corrected, ecc_uncorrected (since the driver loaded), pcie_replay (since the GPU was reset), xid_<code> (seen in the kernel log since the agent started).' } as const;
const TEMPERATURE = { name: 'hw.temperature', instrument: 'gauge', unit: 'Cel', description: 'Temperature of a GPU sensor (hw.sensor_location GPU: the core; GPU_MEMORY: HBM), in degrees Celsius.' } as const;

const RENAMES: Readonly<Record<string, OtelRename>> = {
  surgeguard_gpu_utilization_ratio: {
    name: 'hw.gpu.utilization',
    instrument: 'gauge',
    unit: '1',
    description: 'Fraction of time a kernel ran on the GPU over the last sample period (nvidia-smi utilization.gpu).',
    attributes: (l) => ({ ...gpu(l), 'hw.gpu.task': 'general' }),
  },
  surgeguard_gpu_memory_used_bytes: { name: 'hw.gpu.memory.usage', instrument: 'updowncounter', unit: 'By', description: 'GPU memory used.', attributes: gpu },
  surgeguard_gpu_memory_total_bytes: { name: 'hw.gpu.memory.limit', instrument: 'updowncounter', unit: 'By', description: 'Size of the GPU memory.', attributes: gpu },
  surgeguard_gpu_power_watts: { name: 'hw.power', instrument: 'gauge', unit: 'W', description: 'Instantaneous power drawn by the GPU.', attributes: gpu },
  surgeguard_gpu_temperature_celsius: { ...TEMPERATURE, attributes: (l) => ({ ...part(l, 'temperature', 'core'), 'hw.sensor_location': 'GPU' }) },
  surgeguard_gpu_memory_temperature_celsius: { ...TEMPERATURE, attributes: (l) => ({ ...part(l, 'temperature', 'memory'), 'hw.sensor_location': 'GPU_MEMORY' }) },
  surgeguard_gpu_fan_ratio: { name: 'hw.fan.speed_ratio', instrument: 'gauge', unit: '1', description: 'Fan speed as a fraction of its maximum.', attributes: (l) => part(l, 'fan', 'fan') },
  surgeguard_gpu_ecc_volatile_errors_total: { ...GPU_ERRORS, attributes: (l) => ({ ...gpu(l), 'error.type': `ecc_${l.type ?? ''}` }) },
  surgeguard_gpu_pcie_replays_total: { ...GPU_ERRORS, attributes: (l) => ({ ...gpu(l), 'error.type': 'pcie_replay' }) },
  surgeguard_gpu_xid_errors_total: { ...GPU_ERRORS, attributes: (l) => ({ ...gpu(l), 'error.type': `xid_${l.xid ?? ''}` }) },
};

/** The agent's rename table for the OTLP export. */
export const AGENT_OTEL_RENAMES: RenameTable = new Map(Object.entries(RENAMES));
