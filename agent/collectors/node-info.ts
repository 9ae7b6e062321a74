import { family, type Collector, type Sample } from '../collector.ts';

/** Static facts about the node, read once. */
export interface NodeFacts {
  readonly os: string;
  readonly kernel: string;
  readonly arch: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryBytes: number;
}

export interface NodeInfoDeps {
  readonly node: string;
  /** Reads the inventory; the real one is systeminformation, run once at start. */
  readonly facts: () => Promise<NodeFacts>;
}

export const NODE_INFO_FAMILIES = [
  family('surgeguard_node_info', 'gauge', 'Node inventory read once at start; the value is always 1.', ['node', 'os', 'kernel', 'arch', 'cpu_model']),
  family('surgeguard_node_cpus', 'gauge', 'Logical CPUs of the node.', ['node']),
  family('surgeguard_node_memory_bytes', 'gauge', 'Physical memory of the node.', ['node']),
] as const;

/** systeminformation as the facts reader; it spawns processes, so it runs once, not per cycle. */
export async function systemFacts(): Promise<NodeFacts> {
  const si = await import('systeminformation');
  const [os, cpu, mem] = await Promise.all([si.osInfo(), si.cpu(), si.mem()]);
  return { os: `${os.distro} ${os.release}`.trim(), kernel: os.kernel, arch: os.arch, cpuModel: `${cpu.manufacturer} ${cpu.brand}`.trim(), cpus: cpu.cores, memoryBytes: mem.total };
}

/** The node collector: serves the facts read on its first cycle, unchanged after that. */
export function createNodeInfoCollector(deps: NodeInfoDeps): Collector {
  let facts: NodeFacts | undefined;
  return {
    name: 'node',
    intervalMs: 3_600_000,
    timeoutMs: 30_000,
    families: NODE_INFO_FAMILIES,
    async collect(): Promise<Sample[]> {
      facts ??= await deps.facts();
      const node = deps.node;
      return [
        { name: 'surgeguard_node_info', labels: { node, os: facts.os, kernel: facts.kernel, arch: facts.arch, cpu_model: facts.cpuModel }, value: 1 },
        { name: 'surgeguard_node_cpus', labels: { node }, value: facts.cpus },
        { name: 'surgeguard_node_memory_bytes', labels: { node }, value: facts.memoryBytes },
      ];
    },
  };
}
