/** Where the GPU health series come from (`gpu.source` in the controller config). */
export const GPU_SOURCES = ['agent', 'dcgm', 'auto'] as const;
export type GpuSource = (typeof GPU_SOURCES)[number];

/**
 * A PromQL expression over one of the unified GPU series that rules/gpu-source.yaml records from
 * either source (`surgeguard:gpu_*`, labelled `source="agent"|"dcgm"`). `build` turns a selector
 * into the expression (a range function, a comparison). With `auto`, a GPU that dcgm-exporter
 * reports is read from DCGM only and any other GPU from the agent: decided per GPU at each
 * query, so no start-up probe is needed and a DaemonSet that appears later is picked up.
 */
export function gpuQuery(source: GpuSource, metric: string, build: (selector: string) => string, matchers = ''): string {
  const sel = (from: 'agent' | 'dcgm'): string => `${metric}{source="${from}"${matchers ? `,${matchers}` : ''}}`;
  if (source !== 'auto') return build(sel(source));
  return `(${build(sel('dcgm'))}) or ((${build(sel('agent'))}) unless on (node, uuid) ${metric}{source="dcgm"})`;
}
