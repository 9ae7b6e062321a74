// The agent as the scrape benchmark serves it: 8 GPUs from the fake nvidia-smi, each held by a
// pod (an inference node's case, so every GPU series carries pod, namespace and container), 2,000
// Kafka partitions cached, the network collector on the namespace's interfaces. It samples twice
// (the holders reach the GPU series at the second cycle) and then only serves, so that the CPU
// measured is the cost of scrapes alone.
//   node bench/agent-server.ts PORT [PARTITIONS] [held|free]   (default 2,000: about 6,900 series; held)
// `free`: no pod holds a GPU, the series without the three labels (the cost of the labels is the
// difference, measured as peers in one run).
import { fileURLToPath } from 'node:url';
import { createAgent } from '../agent/agent.ts';
import { agentConfigSchema } from '../agent/config.ts';
import type { GroupLag, LagSnapshot } from '../common/kafka-lag.ts';
import { loadConfig } from '../common/config.ts';
import { silentLogger } from '../common/logger.ts';
import { GpuInventory } from '../agent/gpu-inventory.ts';
import { staticPodIps } from '../agent/pod-ips.ts';

const port = Number(process.argv[2] ?? 9402);
const partitions = Number(process.argv[3] ?? 2000);
const held = (process.argv[4] ?? 'held') === 'held';
const fake = fileURLToPath(new URL('../test/fakes/nvidia-smi', import.meta.url));
process.env.FAKE_NVIDIA_SMI_GPUS = '8';

/** PARTITIONS partitions in 10 groups, all owned by a pod on this node. */
function snapshot(): LagSnapshot {
  const groups: GroupLag[] = Array.from({ length: 10 }, (_, g) => ({
    groupId: `group-${g}`,
    state: 'Stable',
    members: 4,
    partitions: Array.from({ length: Math.ceil(partitions / 10) }, (_, p) => ({ topic: `topic-${g}`, partition: p, committed: 1000 + p, logEnd: 2000 + p, lag: 1000, ownerHost: '10.0.0.5' })),
  }));
  return { groups, requests: 14 };
}

const config = loadConfig(agentConfigSchema, {
  fileText: `nodeName: bench-node
listen: 127.0.0.1:${port}
collectors:
  gpu: { nvidiaSmiPath: ${JSON.stringify(fake)}, timeoutSeconds: 10 }
  xid: { enabled: false }
  podResources: { enabled: true }
  network: { excludeInterfacePattern: "^lo$" }
  kafka: { enabled: true, brokers: ["bench:9092"], scope: node }
`,
});
const inventory = new GpuInventory();
const agent = await createAgent(config, silentLogger(), {
  kafkaLagReader: () => ({ read: () => Promise.resolve(snapshot()), close: () => Promise.resolve() }),
  podIps: () => staticPodIps(['10.0.0.5']),
  inventory,
  podResources: () => ({
    list: () => Promise.resolve((held ? inventory.all() : []).map((g) => ({ namespace: 'inference', pod: `vllm-llama-70b-5d8c9f7b4-${g.index}x2qz`, container: 'vllm', resourceName: 'nvidia.com/gpu', deviceId: g.uuid }))),
    close: () => undefined,
  }),
});
await agent.runner.runOnce();
await agent.runner.runOnce();
await agent.server.listen({ host: '127.0.0.1', port });
process.stdout.write(`READY ${port}\n`);
