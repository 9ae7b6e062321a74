// The OTLP metrics export's cost beside the scrape's, in the same process and run: the agent as
// the scrape benchmark builds it (8 GPUs from the fake nvidia-smi, Kafka partitions cached),
// exporting to a real OpenTelemetry Collector (scripts/build-otelcol.sh). An export is driven by
// forceFlush (the interval is an hour, so no timer export runs in between); a scrape by
// inject('/metrics'). Both are measured as this process's CPU per call, so their ratio says what
// one export costs in scrapes. Run through `npm run bench:agent -- --only otlp`.
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createAgent } from '../agent/agent.ts';
import { agentConfigSchema } from '../agent/config.ts';
import type { GroupLag, LagSnapshot } from '../common/kafka-lag.ts';
import { loadConfig } from '../common/config.ts';
import { silentLogger } from '../common/logger.ts';
import { staticPodIps } from '../agent/pod-ips.ts';
import { receivedPoints, startOtelCollector } from '../test/helpers/infra/otelcol.ts';

const fake = fileURLToPath(new URL('../test/fakes/nvidia-smi', import.meta.url));

function snapshot(partitions: number): LagSnapshot {
  const groups: GroupLag[] = Array.from({ length: 10 }, (_, g) => ({
    groupId: `group-${g}`,
    state: 'Stable',
    members: 4,
    partitions: Array.from({ length: Math.ceil(partitions / 10) }, (_, p) => ({ topic: `topic-${g}`, partition: p, committed: 1000 + p, logEnd: 2000 + p, lag: 1000, ownerHost: '10.0.0.5' })),
  }));
  return { groups, requests: 14 };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

/** CPU seconds and wall milliseconds of each of `n` calls of `fn`. */
async function measure(n: number, fn: () => Promise<unknown>): Promise<{ cpu: number; wallP50: number; wallP99: number }> {
  await fn(); // warm: first-call compilation is not the steady cost
  const walls: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    walls.push(performance.now() - t0);
  }
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1e6 / n, wallP50: quantile(walls, 0.5), wallP99: quantile(walls, 0.99) };
}

/** Prints one row per agent size: series, CPU per scrape, CPU per export, and their ratio. */
export async function otlpBench(n: number): Promise<void> {
  process.env.FAKE_NVIDIA_SMI_GPUS = '8';
  const otel = await startOtelCollector();
  const rows: string[] = [];
  try {
    for (const partitions of [200, 2000, 3000]) {
      const config = loadConfig(agentConfigSchema, {
        fileText: `nodeName: bench-node-${partitions}
collectors:
  gpu: { nvidiaSmiPath: ${JSON.stringify(fake)}, timeoutSeconds: 10 }
  xid: { enabled: false }
  podResources: { enabled: false }
  network: { excludeInterfacePattern: "^lo$" }
  kafka: { enabled: true, brokers: ["bench:9092"], scope: node }
otlp:
  metrics: { endpoint: ${JSON.stringify(otel.url)}, intervalSeconds: 3600 }
`,
      });
      const agent = await createAgent(config, silentLogger(), {
        kafkaLagReader: () => ({ read: () => Promise.resolve(snapshot(partitions)), close: () => Promise.resolve() }),
        podIps: () => staticPodIps(['10.0.0.5']),
      });
      try {
        await agent.runner.runOnce();
        const body = (await agent.server.inject({ url: '/metrics' })).body;
        const series = body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
        const scrape = await measure(n, () => agent.server.inject({ url: '/metrics' }));
        const otlp = agent.otlp;
        if (!otlp) throw new Error('the agent did not start the OTLP export');
        const exp = await measure(n, () => otlp.forceFlush());
        // The collector must really have taken them (its file exporter flushes every 100 ms).
        await sleep(500);
        const got = receivedPoints(otel).filter((p) => p.resource['k8s.node.name'] === `bench-node-${partitions}`).length;
        rows.push(`| ${partitions.toLocaleString('en')} | ${series.toLocaleString('en')} | ${(scrape.cpu * 1000).toFixed(2)} | ${scrape.wallP50.toFixed(2)} / ${scrape.wallP99.toFixed(2)} | ${(exp.cpu * 1000).toFixed(2)} | ${exp.wallP50.toFixed(2)} / ${exp.wallP99.toFixed(2)} | ${(exp.cpu / scrape.cpu).toFixed(1)} | ${(got / (n + 1)).toFixed(0)} |`);
      } finally {
        await agent.stop();
      }
    }
  } finally {
    await otel.stop();
  }
  process.stdout.write(`OTLP export vs scrape, ${n} of each per size, in one process (8 GPUs, 50 links when present)\n\n| partitions | series on /metrics | CPU ms per scrape | scrape wall ms p50 / p99 | CPU ms per OTLP export | export wall ms p50 / p99 | export CPU / scrape CPU | points received per export |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
}
