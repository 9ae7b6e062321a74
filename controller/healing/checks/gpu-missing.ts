import type { CheckContext, Finding, HealthCheck } from '../types.ts';

/** The resource name the NVIDIA device plugin advertises. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/**
 * The gpu-missing check: the agent on a node sees fewer GPUs than the node advertises
 * (allocatable nvidia.com/gpu): a GPU fell off the bus or its driver lost it, fatal. The gpu
 * collector failing on a node with GPUs is a warning for on-call. A node with no agent series
 * at all is left to the AgentDown alert: no data is not a fault.
 */
export function gpuMissingCheck(): HealthCheck {
  return {
    name: 'gpu-missing',
    async run(ctx: CheckContext): Promise<Finding[]> {
      if (!ctx.query) return [];
      const [seen, collector] = await Promise.all([
        ctx.query('count by (node) (surgeguard_gpu_info)'),
        ctx.query('max by (node) (surgeguard_collector_success{collector="gpu"} * on (instance) group_left (node) surgeguard_node_info)'),
      ]);
      const seenBy = new Map(seen.map((s) => [s.labels.node ?? '', s.value]));
      const okBy = new Map(collector.map((s) => [s.labels.node ?? '', s.value]));
      const out: Finding[] = [];
      for (const n of ctx.nodes) {
        const name = n.metadata?.name ?? '';
        const advertised = Number(n.status?.allocatable?.[GPU_RESOURCE] ?? 0);
        if (!(advertised > 0) || !okBy.has(name)) continue;
        if (okBy.get(name) === 0) {
          out.push({ check: 'gpu-missing', severity: 'warning', fault: 'notice', target: { kind: 'Node', name }, summary: `the gpu collector is failing on node ${name}, which advertises ${advertised} GPUs`, evidence: { advertised } });
          continue;
        }
        const count = seenBy.get(name) ?? 0;
        if (count < advertised) {
          out.push({ check: 'gpu-missing', severity: 'critical', fault: 'fatal', target: { kind: 'Node', name }, summary: `node ${name} advertises ${advertised} GPUs, the agent sees ${count}`, evidence: { advertised, seen: count } });
        }
      }
      return out;
    },
  };
}
