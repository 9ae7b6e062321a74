import type { Logger } from '../../common/logger.ts';
import type { KafkaLagOptions, KafkaLagReader } from '../../common/kafka-lag.ts';
import type { AgentConfig } from '../config.ts';
import type { Collector } from '../collector.ts';
import type { ExecFn } from '../exec.ts';
import type { GpuHolders } from '../gpu-holders.ts';
import type { GpuInventory } from '../gpu-inventory.ts';
import type { KernelLineSource } from '../kernel-log.ts';
import type { PodIpSource } from '../pod-ips.ts';
import type { PodResourcesClient } from '../pod-resources.ts';
import { createGpuCollector } from './gpu.ts';
import { createGpuAllocationCollector } from './gpu-allocation.ts';
import { createKafkaCollector } from './kafka.ts';
import { createNetworkCollector } from './network.ts';
import { createNodeInfoCollector, type NodeFacts } from './node-info.ts';
import { createXidCollector } from './xid.ts';

/** Everything a collector may need from outside, injected once. */
export interface CollectorDeps {
  readonly logger: Logger;
  readonly node: string;
  readonly exec: ExecFn;
  readonly inventory: GpuInventory;
  readonly holders: GpuHolders;
  readonly kernelLog: () => KernelLineSource;
  readonly podIps: () => PodIpSource | undefined;
  readonly podResources: (socketPath: string) => PodResourcesClient;
  readonly nodeFacts: () => Promise<NodeFacts>;
  readonly readFile: (path: string) => string;
  readonly kafkaLagReader: (opts: KafkaLagOptions) => KafkaLagReader;
}

interface Registration {
  readonly name: string;
  enabled(c: AgentConfig['collectors']): boolean;
  create(deps: CollectorDeps, c: AgentConfig['collectors']): Collector;
}

/** Every collector, one line each, in alphabetical order. */
export const registrations: readonly Registration[] = [
  { name: 'gpu', enabled: (c) => c.gpu.enabled, create: (d, c) => createGpuCollector(d, c.gpu) },
  { name: 'gpu_allocation', enabled: (c) => c.podResources.enabled, create: (d, c) => createGpuAllocationCollector({ ...d, client: d.podResources(c.podResources.socketPath) }, c.podResources) },
  { name: 'kafka', enabled: (c) => c.kafka.enabled, create: (d, c) => createKafkaCollector({ reader: d.kafkaLagReader(kafkaOptions(d, c.kafka)), podIps: c.kafka.scope === 'node' ? d.podIps() : undefined }, c.kafka) },
  { name: 'network', enabled: (c) => c.network.enabled, create: (d, c) => createNetworkCollector(d, c.network) },
  { name: 'node', enabled: () => true, create: (d) => createNodeInfoCollector({ node: d.node, facts: d.nodeFacts }) },
  { name: 'xid', enabled: (c) => c.xid.enabled, create: (d, c) => createXidCollector({ ...d, source: d.kernelLog() }, c.xid) },
];

function kafkaOptions(d: CollectorDeps, k: AgentConfig['collectors']['kafka']): KafkaLagOptions {
  const tls = k.tls.enabled
    ? {
        rejectUnauthorized: k.tls.rejectUnauthorized,
        ...(k.tls.caFile ? { ca: d.readFile(k.tls.caFile) } : {}),
        ...(k.tls.certFile ? { cert: d.readFile(k.tls.certFile) } : {}),
        ...(k.tls.keyFile ? { key: d.readFile(k.tls.keyFile) } : {}),
      }
    : undefined;
  const sasl = k.sasl ? { mechanism: k.sasl.mechanism, username: k.sasl.username, password: d.readFile(k.sasl.passwordFile).trim() } : undefined;
  return { brokers: k.brokers, clientId: k.clientId, groupPattern: new RegExp(k.groupPattern), requestTimeoutMs: k.timeoutSeconds * 1000, ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) };
}

/** Builds the collectors the configuration enables. */
export function createCollectors(deps: CollectorDeps, config: AgentConfig['collectors']): Collector[] {
  return registrations.filter((r) => r.enabled(config)).map((r) => r.create(deps, config));
}
