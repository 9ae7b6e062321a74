import type { Dashboard } from '@grafana/schema';
import { dashboard, labelVariable } from './lib.ts';

const sel = 'node=~"$node", gpu_model=~"$gpu_model"';

/**
 * A unified GPU series of rules/gpu-source.yaml as gpu.source `auto` reads it: dcgm-exporter for
 * every GPU it reports, the agent for the others.
 */
function unified(metric: string, extra = ''): string {
  const m = extra ? `${sel}, ${extra}` : sel;
  return `(${metric}{source="dcgm", ${m}} or on (node, uuid) ${metric}{source="agent", ${m}})`;
}

/** GPU nodes: utilization, memory, temperature, power and hardware errors per GPU. */
export function gpuNodes(): Dashboard {
  return dashboard({
    uid: 'surgeguard-gpu-nodes',
    title: 'SurgeGuard / GPU nodes',
    description: 'GPU health on every GPU node, from the SurgeGuard agents (nvidia-smi, kernel log) or NVIDIA dcgm-exporter (rules/gpu-source.yaml; DCGM wins for a GPU both report).',
    variables: [labelVariable('node', 'Node', 'surgeguard:gpu_temperature_celsius'), labelVariable('gpu_model', 'GPU model', 'surgeguard:gpu_temperature_celsius{node=~"$node"}')],
    panels: [
      {
        title: 'GPU utilization by node',
        type: 'timeseries',
        required: true,
        unit: 'percentunit',
        description: 'Average share of time a kernel ran, over the GPUs of each node.',
        queries: [{ expr: 'node:surgeguard_gpu_utilization_ratio:avg{node=~"$node"}', legend: '{{node}}' }],
      },
      {
        title: 'GPU utilization by model',
        type: 'timeseries',
        unit: 'percentunit',
        description: 'Average utilization over all GPUs of each model.',
        queries: [{ expr: 'gpu_model:surgeguard_gpu_utilization_ratio:avg{gpu_model=~"$gpu_model"}', legend: '{{gpu_model}}' }],
      },
      {
        title: 'GPU memory used',
        type: 'timeseries',
        required: true,
        unit: 'percentunit',
        description: 'Device memory in use as a share of the total, per GPU.',
        queries: [{ expr: `max by (node, gpu) (surgeguard_gpu_memory_used_bytes{${sel}}) / max by (node, gpu) (surgeguard_gpu_memory_total_bytes{${sel}})`, legend: '{{node}} GPU {{gpu}}' }],
      },
      {
        title: 'GPU temperature',
        type: 'timeseries',
        required: true,
        unit: 'celsius',
        description: 'Core temperature per GPU; HBM temperature where the GPU reports it.',
        queries: [
          { expr: `max by (node, gpu) ${unified('surgeguard:gpu_temperature_celsius')}`, legend: '{{node}} GPU {{gpu}} core' },
          { expr: `max by (node, gpu) (surgeguard_gpu_memory_temperature_celsius{${sel}})`, legend: '{{node}} GPU {{gpu}} memory' },
        ],
      },
      {
        title: 'GPU power',
        type: 'timeseries',
        required: true,
        unit: 'watt',
        description: 'Power draw per GPU against its power limit.',
        queries: [
          { expr: `max by (node, gpu) ${unified('surgeguard:gpu_power_watts')}`, legend: '{{node}} GPU {{gpu}}' },
          { expr: `max by (node, gpu) (surgeguard_gpu_power_limit_watts{${sel}})`, legend: '{{node}} GPU {{gpu}} limit' },
        ],
      },
      {
        title: 'GPU utilization per GPU',
        type: 'timeseries',
        unit: 'percentunit',
        description: 'Share of time a kernel ran, per GPU.',
        queries: [{ expr: `max by (node, gpu) ${unified('surgeguard:gpu_utilization_ratio')}`, legend: '{{node}} GPU {{gpu}}' }],
      },
      {
        title: 'XID errors',
        type: 'table',
        required: true,
        description: 'NVIDIA XID errors counted in the kernel log since each agent started, by GPU and code, and the last code dcgm-exporter saw (DCGM keeps no count). 13, 31, 43, 45, 94 are usually the application; 48, 74, 79, 95, 119, 120 the node (SurgeGuardGpuXidCritical).',
        queries: [{ expr: 'sum by (node, gpu, uuid, xid) (surgeguard_gpu_xid_errors_total{node=~"$node"})' }, { expr: 'max by (node, gpu, uuid) (surgeguard:gpu_xid_last_code{node=~"$node"}) > 0' }],
      },
      {
        title: 'ECC errors',
        type: 'timeseries',
        required: true,
        description: 'Volatile ECC errors per interval, corrected and uncorrected. Any uncorrected error fires SurgeGuardGpuEccUncorrectable.',
        queries: [
          { expr: `max by (node, gpu) (increase(surgeguard:gpu_ecc_volatile_corrected_errors:total{${sel}}[$__rate_interval]))`, legend: '{{node}} GPU {{gpu}} corrected' },
          { expr: `max by (node, gpu) (increase(surgeguard:gpu_ecc_volatile_uncorrected_errors:total{${sel}}[$__rate_interval]))`, legend: '{{node}} GPU {{gpu}} uncorrected' },
        ],
      },
      {
        title: 'Throttle reasons',
        type: 'timeseries',
        description: 'Active thermal and power-brake slowdowns per GPU (the reasons both sources report). Thermal ones for 5 minutes fire SurgeGuardGpuThermalSlowdown.',
        queries: [{ expr: `max by (node, gpu, reason) ${unified('surgeguard:gpu_throttle_reason:flag')} > 0`, legend: '{{node}} GPU {{gpu}} {{reason}}' }],
      },
      {
        title: 'Remapped rows and retired pages',
        type: 'table',
        description: 'Memory repairs per GPU: rows remapped for correctable and uncorrectable errors, a failed remap and a repair pending the next reset (Ampere and later), and retired pages (older GPUs, agent only).',
        queries: [
          { expr: `max by (node, gpu) ${unified('surgeguard:gpu_remapped_rows_correctable:count')}` },
          { expr: `max by (node, gpu) ${unified('surgeguard:gpu_remapped_rows_uncorrectable:count')}` },
          { expr: `max by (node, gpu) ${unified('surgeguard:gpu_row_remap_failure:flag')}` },
          { expr: `max by (node, gpu) ${unified('surgeguard:gpu_memory_repair_pending:flag')}` },
          { expr: `max by (node, gpu, cause) (surgeguard_gpu_retired_pages{${sel}})` },
        ],
      },
      {
        title: 'GPUs per node',
        type: 'timeseries',
        description: 'GPUs each node reports. A drop fires SurgeGuardGpuMissing.',
        queries: [{ expr: 'count by (node) (surgeguard_gpu_info{node=~"$node"})', legend: '{{node}}' }],
      },
      {
        title: 'SM clock',
        type: 'timeseries',
        unit: 'hertz',
        description: 'Current SM clock per GPU; drops with throttling.',
        queries: [{ expr: `max by (node, gpu) (surgeguard_gpu_sm_clock_hertz{${sel}})`, legend: '{{node}} GPU {{gpu}}' }],
      },
      {
        title: 'PCIe replays',
        type: 'timeseries',
        unit: 'ops',
        description: 'PCIe replays per second per GPU; a steady rate points at a bad link or riser.',
        queries: [{ expr: `max by (node, gpu) (rate(surgeguard_gpu_pcie_replays_total{${sel}}[$__rate_interval]))`, legend: '{{node}} GPU {{gpu}}' }],
      },
      {
        title: 'GPUs and utilization by pod',
        type: 'timeseries',
        description: 'GPUs each pod holds and their summed utilization, from the pod, namespace and container labels the agent puts on a held GPU\'s series (an idle or shared GPU has none). The agent\'s series only: the unified set drops the pod labels.',
        queries: [
          { expr: `count by (namespace, pod) (surgeguard_gpu_info{${sel}, pod!=""})`, legend: '{{namespace}}/{{pod}} GPUs' },
          { expr: `sum by (namespace, pod) (surgeguard_gpu_utilization_ratio{${sel}, pod!=""})`, legend: '{{namespace}}/{{pod}} utilization' },
        ],
      },
    ],
  });
}
