// A whole agent wired to real captures and fakes, deterministic except for cycle durations:
// used by the golden exposition test and the server tests.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, type Agent } from '../../../agent/agent.ts';
import { agentConfigSchema } from '../../../agent/config.ts';
import type { LagSnapshot } from '../../../common/kafka-lag.ts';
import { loadConfig } from '../../../common/config.ts';
import { silentLogger } from '../../../common/logger.ts';
import { staticPodIps } from '../../../agent/pod-ips.ts';
import { execFromCapture, fixture } from './helpers.ts';

export const NOW_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const CAPTURE = 'nvidia-smi/captures/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt';

/** The load-state CSV section of a capture (header with units + one row). */
export function captureCsv(rel = CAPTURE): string {
  const sec = fixture(rel).split('# load :: query-gpu')[1] ?? '';
  return sec.split('\n').slice(3, 5).join('\n');
}

export const SNAPSHOT: LagSnapshot = {
  requests: 6,
  groups: [
    {
      groupId: 'sentiment-scorers',
      state: 'Stable',
      members: 2,
      partitions: [
        { topic: 'posts', partition: 0, committed: 100, logEnd: 150, lag: 50, ownerHost: '10.0.0.5' },
        { topic: 'posts', partition: 1, committed: 90, logEnd: 95, lag: 5, ownerHost: '10.0.9.9' },
        { topic: 'posts', partition: 2, committed: 10, logEnd: 70, lag: 60, ownerHost: undefined },
      ],
    },
  ],
};

export async function fixtureAgent(overrides: { exec?: ReturnType<typeof execFromCapture>; configText?: string } = {}): Promise<Agent> {
  const root = mkdtempSync(join(tmpdir(), 'sg-agent-'));
  mkdirSync(join(root, 'proc/net'), { recursive: true });
  mkdirSync(join(root, 'sys/class/net/eth0'), { recursive: true });
  writeFileSync(join(root, 'proc/net/dev'), 'Inter-|\n face |\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n');
  writeFileSync(join(root, 'proc/net/snmp'), 'Tcp: RetransSegs\nTcp: 7\n');
  writeFileSync(join(root, 'sys/class/net/eth0/speed'), '100000\n');
  writeFileSync(join(root, 'sys/class/net/eth0/operstate'), 'up\n');
  const config = loadConfig(agentConfigSchema, {
    fileText:
      overrides.configText ??
      `nodeName: gpu-node-1
collectors:
  network: { rootPath: ${root} }
  kafka: { enabled: true, brokers: ["kafka:9092"], scope: node }
`,
  });
  const xidLines = fixture('gpu-faults/gpud_dmesg-with-xid-119.log').split('\n');
  return createAgent(config, silentLogger(), {
    processMetrics: false,
    now: () => NOW_MS,
    exec: overrides.exec ?? execFromCapture(captureCsv()),
    kernelLog: () => ({ read: () => xidLines.splice(0), state: () => ({ source: 'file', path: '/var/log/kern.log', readable: true, reason: 'ok' }), close: () => undefined }),
    podIps: () => staticPodIps(['10.0.0.5']),
    podResources: () => ({
      list: () => Promise.resolve([{ namespace: 'inference', pod: 'ranker-7d9f', container: 'model', resourceName: 'nvidia.com/gpu', deviceId: 'GPU-00000000-0000-0000-0000-000000000000' }]),
      close: () => undefined,
    }),
    nodeFacts: () => Promise.resolve({ os: 'Debian GNU/Linux 12', kernel: '6.1.0-28-amd64', arch: 'x64', cpuModel: 'AMD EPYC 9654', cpus: 192, memoryBytes: 1_622_000_000_000 }),
    kafkaLagReader: () => ({ read: () => Promise.resolve(SNAPSHOT), close: () => Promise.resolve() }),
  });
}
