import type { HealingConfig } from '../config.ts';
import type { CheckContext, Finding, HealthCheck } from '../types.ts';
import { gpuQuery, type GpuSource } from './gpu-source.ts';

/**
 * The gpu-ecc check. Uncorrectable volatile errors increasing, or a row remap that failed,
 * mean results may be wrong: fatal. Pending page retirement or row remapping (applied at the
 * next GPU reset) and a high rate of corrected errors mean wear: degraded, drained gently.
 */
export function gpuEccCheck(_deps: unknown, config: HealingConfig['checks'], source: GpuSource = 'auto'): HealthCheck {
  return {
    name: 'gpu-ecc',
    async run(ctx: CheckContext): Promise<Finding[]> {
      if (!ctx.query) return [];
      const w = `${config.eccWindowSeconds}s`;
      const [uncorrected, failed, pending, corrected] = await Promise.all([
        ctx.query(gpuQuery(source, 'surgeguard:gpu_ecc_volatile_uncorrected_errors:total', (x) => `increase(${x}[${w}]) > 0`)),
        ctx.query(gpuQuery(source, 'surgeguard:gpu_row_remap_failure:flag', (x) => `${x} == 1`)),
        ctx.query(gpuQuery(source, 'surgeguard:gpu_memory_repair_pending:flag', (x) => `${x} == 1`)),
        ctx.query(gpuQuery(source, 'surgeguard:gpu_ecc_volatile_corrected_errors:total', (x) => `increase(${x}[${w}]) > ${config.correctableEccPerWindow}`)),
      ]);
      const byNode = new Map<string, Finding>();
      const add = (node: string | undefined, fatal: boolean, summary: string, evidence: Record<string, unknown>): void => {
        if (!node || (byNode.get(node)?.fault === 'fatal' && !fatal)) return;
        byNode.set(node, { check: 'gpu-ecc', severity: fatal ? 'critical' : 'warning', fault: fatal ? 'fatal' : 'degraded', target: { kind: 'Node', name: node }, summary, evidence });
      };
      for (const s of corrected) add(s.labels.node, false, `${Math.round(s.value)} corrected ECC errors in ${w} on GPU ${s.labels.gpu} of node ${s.labels.node}`, { gpu: s.labels.gpu, uuid: s.labels.uuid, corrected: s.value, window: w });
      for (const s of pending) add(s.labels.node, false, `memory repair pending on GPU ${s.labels.gpu} of node ${s.labels.node} (applied at the next GPU reset)`, { gpu: s.labels.gpu, uuid: s.labels.uuid, source: s.labels.source });
      for (const s of failed) add(s.labels.node, true, `row remapping failed on GPU ${s.labels.gpu} of node ${s.labels.node}`, { gpu: s.labels.gpu, uuid: s.labels.uuid, source: s.labels.source });
      for (const s of uncorrected) add(s.labels.node, true, `${Math.round(s.value)} uncorrectable ECC errors in ${w} on GPU ${s.labels.gpu} of node ${s.labels.node}`, { gpu: s.labels.gpu, uuid: s.labels.uuid, uncorrected: s.value, window: w, source: s.labels.source });
      return [...byNode.values()];
    },
  };
}
