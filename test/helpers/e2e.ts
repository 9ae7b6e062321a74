// Parts of the end-to-end test (test/integration/e2e/): the agent as a process with Kafka lag,
// an inference Deployment scaled by a PredictiveScaler on kwok GPU nodes, the shipped rule
// files, a recorded trace, and timing of events watched in parallel.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { GROUP, PLURAL, VERSION } from '../../controller/crd/predictive-scaler.ts';
import { UNHEALTHY_TAINT } from '../../controller/healing/state.ts';
import { parseTrace } from '../../replay/trace.ts';
import { READY_DELAY_ANNOTATION, ensureNamespace } from './infra/kube.ts';
import { REPO_ROOT, freePort, startSupervised, stopPid, waitUntil } from './infra/process.ts';
import { runContext } from './infra/run.ts';
import { createTopic } from './kafka-fleet.ts';

/** A recorded trace of test/fixtures/traces/ as the replay engine reads it: demand per interval. */
export function readFixtureTrace(name: string): { demand: number[]; timestamps: number[]; intervalSeconds: number } {
  const file = join(REPO_ROOT, 'test/fixtures/traces', name);
  const t = parseTrace(readFileSync(file, 'utf8'), { file, timeColumn: 'timestamp', valueColumn: 'value', fill: 'previous' });
  return { demand: t.demand, timestamps: t.timestamps, intervalSeconds: t.intervalSeconds };
}

/**
 * The shipped rule files: every rules/*.yaml with top-level `groups` (files without are not rule
 * files, and a file being rewritten at the moment is not loaded half-written by mistake).
 */
export function shippedRuleFiles(): string[] {
  const dir = join(REPO_ROOT, 'rules');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => Array.isArray((parse(readFileSync(f, 'utf8')) as { groups?: unknown } | null)?.groups));
}

export interface AgentProcess {
  readonly url: string;
  /** host:port, for a scrape target. */
  readonly address: string;
  readonly pid: number;
  readonly log: string;
  stop(): Promise<void>;
}

/**
 * Starts `./surgeguard agent` as a node's DaemonSet pod would run: NODE_NAME, the fake nvidia-smi
 * answering for `gpus` GPUs, a kernel log file to follow, no kubelet socket, and with `kafka` the
 * Kafka collector reporting the lag of the groups matching `groupPattern` (scope `cluster`: the
 * simulated consumers have no pod IPs to attribute partitions by node). `collectors` is merged
 * over these settings per collector (a test that needs faster intervals says so).
 */
export async function startAgentProcess(opts: { dir: string; node: string; gpus: number; kernelLog: string; kafka?: { brokers: string[]; groupPattern: string }; collectors?: Record<string, Record<string, unknown>> }): Promise<AgentProcess> {
  const port = await freePort();
  const log = join(opts.dir, 'agent.log');
  const config = join(opts.dir, 'agent.yaml');
  const collectors: Record<string, Record<string, unknown>> = {
    xid: { kernelLogPath: opts.kernelLog, intervalSeconds: 1 },
    podResources: { socketPath: join(opts.dir, 'no-kubelet.sock') },
    ...(opts.kafka ? { kafka: { enabled: true, brokers: opts.kafka.brokers, scope: 'cluster', groupPattern: opts.kafka.groupPattern, intervalSeconds: 2, timeoutSeconds: 5 } } : {}),
  };
  for (const [name, over] of Object.entries(opts.collectors ?? {})) collectors[name] = { ...collectors[name], ...over };
  writeFileSync(config, stringify({ listen: `127.0.0.1:${port}`, collectors }));
  const { pid } = await startSupervised({
    cmd: join(REPO_ROOT, 'surgeguard'),
    args: ['agent', '--config', config, '--nvidia-smi', join(REPO_ROOT, 'test/fakes/nvidia-smi')],
    log,
    pidFile: join(opts.dir, 'agent.pid'),
    ownerPid: runContext().ownerPid,
    env: { ...process.env, NODE_NAME: opts.node, FAKE_NVIDIA_SMI_GPUS: String(opts.gpus) },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('the agent', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, pid, log });
  return { url, address: `127.0.0.1:${port}`, pid, log, stop: () => stopPid(pid) };
}

/** What {@link createInferenceFleet} made. */
export interface InferenceFleet {
  readonly namespace: string;
  readonly deployment: string;
  readonly topic: string;
  readonly group: string;
}

/**
 * A namespace with an inference Deployment (one GPU per pod; kwok makes each pod ready
 * `startupSeconds` after it is scheduled), its Kafka topic, and a PredictiveScaler on the
 * topic's consumer group. The pods tolerate only kwok's not-ready taint, as in healing.test.ts:
 * a cordoned or `surgeguard.io/unhealthy` node gets no new pods, as in a real fleet.
 */
export async function createInferenceFleet(kc: KubeConfig, brokers: string[], opts: { name: string; startupSeconds: number; capacity: number; partitions: number; maxReplicas: number; spec?: Record<string, unknown> }): Promise<InferenceFleet> {
  const namespace = opts.name;
  const fleet = { namespace, deployment: 'infer', topic: `${namespace}-requests`, group: `${namespace}-consumers` };
  await ensureNamespace(kc.makeApiClient(CoreV1Api), namespace);
  await createTopic(brokers, fleet.topic, opts.partitions);
  const labels = { app: 'infer' };
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: fleet.deployment },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { [READY_DELAY_ANNOTATION]: `${opts.startupSeconds}s` } },
          spec: {
            containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
            tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }],
          },
        },
      },
    },
  });
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'PredictiveScaler',
      metadata: { name: 'infer', namespace },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: fleet.deployment },
        signal: { kafka: { topic: fleet.topic, consumerGroup: fleet.group } },
        requestsPerSecondPerReplica: opts.capacity,
        startupSeconds: opts.startupSeconds,
        minReplicas: 1,
        maxReplicas: opts.maxReplicas,
        mode: 'Active',
        ...opts.spec,
      },
    },
  });
  return fleet;
}

/** Whether SurgeGuard cordoned the node: unschedulable and tainted `surgeguard.io/unhealthy:NoSchedule`. */
export function cordonedBySurgeGuard(n: V1Node): boolean {
  return n.spec?.unschedulable === true && (n.spec.taints ?? []).some((t) => t.key === UNHEALTHY_TAINT.key && t.effect === UNHEALTHY_TAINT.effect);
}

/** A kernel log line for an XID, as the NVIDIA driver writes it (the fake nvidia-smi's GPU 0 is PCI 0000:00:09). */
export function xidLine(xid: number, at: Date, pci = '0000:00:09'): string {
  return `[${at.toUTCString()}] NVRM: Xid (PCI:${pci}): ${xid}, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.\n`;
}

/**
 * Epoch milliseconds at which `check` first returned a time or `true` (then the time it was
 * seen), polled every `intervalMs`; watchers started together time independent events without
 * one waiting for another. A failing check is retried until the timeout.
 */
export async function firstTime(what: string, check: () => Promise<number | boolean>, opts: { timeoutMs: number; intervalMs?: number }): Promise<number> {
  return (await firstSeen(what, check, opts)).at;
}

/**
 * When a polled event was first seen, with the bounds a poll can give: `at` is when the poll
 * that saw it started (or the time `check` returned), `by` when that poll ended, and
 * `absentAt` when the last poll that did not see it started (-Infinity if none). The event
 * happened after `absentAt` and no later than `by`; comparing two events by `at` alone can
 * order them wrongly when they are closer than a poll.
 */
export async function firstSeen(what: string, check: () => Promise<number | boolean>, opts: { timeoutMs: number; intervalMs?: number }): Promise<{ absentAt: number; at: number; by: number }> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  let absentAt = -Infinity;
  while (Date.now() < deadline) {
    const seenAt = Date.now();
    try {
      const v = await check();
      if (v !== false) return { absentAt, at: v === true ? seenAt : v, by: Date.now() };
      absentAt = seenAt;
    } catch (err) {
      lastError = err;
    }
    await sleep(opts.intervalMs ?? 200);
  }
  throw new Error(`${what} did not happen within ${opts.timeoutMs} ms${lastError instanceof Error ? `; last error: ${lastError.message}` : ''}`);
}
