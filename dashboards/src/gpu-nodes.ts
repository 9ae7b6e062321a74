import type { Dashboard } from '@grafana/schema';
import { dashboard, labelVariable } from './lib.ts';

const sel = 'node=~"$node", gpu_model=~"$gpu_model"';

/** GPU nodes: utilization, memory, temperature, power and hardware errors per GPU. */
export function gpuNodes(): Dashboard {
  return dashboard({
    uid: 'surgeguard-gpu-nodes',
    title: 'SurgeGuard / GPU nodes',
    description: 'What the SurgeGuard agents read from nvidia-smi and the kernel log on every GPU node.',
    variables: [labelVariable('node', 'Node', 'surgeguard_gpu_info'), labelVariable('gpu_model', 'GPU model', 'surgeguard_gpu_info{node=~"$node"}')],
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
          { expr: `max by (node, gpu) (surgeguard_gpu_temperature_celsius{${sel}})`, legend: '{{node}} GPU {{gpu}} core' },
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
          { expr: `max by (node, gpu) (surgeguard_gpu_power_watts{${sel}})`, legend: '{{node}} GPU {{gpu}}' },
          { expr: `max by (node, gpu) (surgeguard_gpu_power_limit_watts{${sel}})`, legend: '{{node}} GPU {{gpu}} limit' },
        ],
      },
      {
        title: 'GPU utilization per GPU',
        type: 'timeseries',
        unit: 'percentunit',
        description: 'Share of time a kernel ran, per GPU.',
        queries: [{ expr: `max by (node, gpu) (surgeguard_gpu_utilization_ratio{${sel}})`, legend: '{{node}} GPU {{gpu}}' }],
      },
      {
        title: 'XID errors',
        type: 'table',
        required: true,
        description: 'NVIDIA XID errors counted in the kernel log since each agent started, by GPU and code. 13, 31, 43, 45, 94 are usually the application; 48, 74, 79, 95, 119, 120 the node (SurgeGuardGpuXidCritical).',
        queries: [{ expr: 'sum by (node, gpu, uuid, xid) (surgeguard_gpu_xid_errors_total{node=~"$node"})' }],
      },
      {
        title: 'ECC errors',
        type: 'timeseries',
        required: true,
        description: 'Volatile ECC errors per interval, corrected and uncorrected. Any uncorrected error fires SurgeGuardGpuEccUncorrectable.',
        queries: [{ expr: `sum by (node, gpu, type) (increase(surgeguard_gpu_ecc_errors_total{scope="volatile", ${sel}}[$__rate_interval]))`, legend: '{{node}} GPU {{gpu}} {{type}}' }],
      },
      {
        title: 'Throttle reasons',
        type: 'timeseries',
        description: 'Active clock throttle reasons per GPU (idle left out). Thermal ones for 5 minutes fire SurgeGuardGpuThermalSlowdown.',
        queries: [{ expr: `max by (node, gpu, reason) (surgeguard_gpu_throttle_reason{reason!="gpu_idle", ${sel}}) > 0`, legend: '{{node}} GPU {{gpu}} {{reason}}' }],
      },
      {
        title: 'Remapped rows and retired pages',
        type: 'table',
        description: 'Memory repairs per GPU: remapped rows (Ampere and later) and retired pages (older GPUs).',
        queries: [
          { expr: `max by (node, gpu, kind) (surgeguard_gpu_remapped_rows{${sel}})` },
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
    ],
  });
}
