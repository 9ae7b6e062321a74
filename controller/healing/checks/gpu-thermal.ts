import type { HealingConfig } from '../config.ts';
import type { CheckContext, Finding, HealthCheck } from '../types.ts';
import { gpuQuery, type GpuSource } from './gpu-source.ts';

/** Hardware slowdowns: the GPU protects itself. Software caps (sw_power_cap) are policy, not faults. */
const REASONS = 'hw_thermal_slowdown|hw_power_brake_slowdown';

/**
 * The gpu-thermal check: a hardware thermal or power-brake slowdown active in every sample of
 * the sustain window (at least three, so one scrape cannot trigger it). Degraded: the node is
 * drained after its replacements are ready. Reads rules/gpu-source.yaml's unified series from the
 * configured `gpu.source`.
 */
export function gpuThermalCheck(_deps: unknown, config: HealingConfig['checks'], source: GpuSource = 'auto'): HealthCheck {
  return {
    name: 'gpu-thermal',
    async run(ctx: CheckContext): Promise<Finding[]> {
      if (!ctx.query) return [];
      const w = `${config.thermalSustainSeconds}s`;
      const series = await ctx.query(gpuQuery(source, 'surgeguard:gpu_throttle_reason:flag', (x) => `min_over_time(${x}[${w}]) == 1 and count_over_time(${x}[${w}]) >= 3`, `reason=~"${REASONS}"`));
      const byNode = new Map<string, Finding>();
      for (const s of series) {
        const node = s.labels.node;
        if (!node) continue;
        const gpus = [...((byNode.get(node)?.evidence.gpus as string[]) ?? []), `${s.labels.gpu}:${s.labels.reason}`];
        byNode.set(node, { check: 'gpu-thermal', severity: 'warning', fault: 'degraded', target: { kind: 'Node', name: node }, summary: `hardware slowdown (${s.labels.reason}) for ${w} on GPU ${s.labels.gpu} of node ${node}`, evidence: { gpus, sustained: w } });
      }
      return [...byNode.values()];
    },
  };
}
