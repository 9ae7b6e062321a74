import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlindError, isUnavailable, DISABLED, type Collector, type Sample } from '../agent/collector.ts';
import { agentConfigSchema } from '../agent/config.ts';
import { createCollectors } from '../agent/collectors/index.ts';
import { GpuHolders } from '../agent/gpu-holders.ts';
import { GpuInventory } from '../agent/gpu-inventory.ts';
import { followFile } from '../agent/kernel-log.ts';
import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { MetricRegistry } from '../common/metrics.ts';
import { createRemediationAudit, type RemediationEntry } from '../controller/healing/audit.ts';
import { gpuThermalCheck } from '../controller/healing/checks/gpu-thermal.ts';
import { gpuXidCheck } from '../controller/healing/checks/gpu-xid.ts';
import { healingConfigSchema, type HealingConfig } from '../controller/healing/config.ts';
import { createGate } from '../controller/healing/gate.ts';
import { createHealingLoop } from '../controller/healing/loop.ts';
import { createOnCall } from '../controller/healing/oncall.ts';
import { isCordoned, remediationOf } from '../controller/healing/state.ts';
import type { Finding } from '../controller/healing/types.ts';
import { floorOf } from '../controller/reconcile/scaler-policy.ts';
import type { ReplicaFloor } from '../controller/scaling/policy.ts';
import { createGpuCluster, type GpuCluster } from './gpu-cluster.ts';
import { capturedNvidiaSmi, H100_CAPTURES, readCapture, type CapturedGpu } from './nvidia-smi-replay.ts';
import { startOnCallReceiver, type ReceivedNotice } from './oncall-receiver.ts';
import { createSeriesStore } from './series-query.ts';

/** When the demo's GPU faults happen, in intervals of the trace; undefined: never. */
export interface FaultPlan {
  /** An XID 79 line is written to this node's kernel log at the end of this interval. */
  xid?: { node: string; atInterval: number };
  /** This node's GPU reports a hardware thermal slowdown from this interval on. */
  thermal?: { node: string; atInterval: number };
}

export interface DemoHealingConfig {
  nodes: number;
  capacity: number;
  startupSteps: number;
  initialReplicas: number;
  intervalSeconds: number;
  faults: FaultPlan;
  /** The node whose agent readings the page shows. */
  agentNode: string;
}

/** One delivery attempt of the real on-call sender, as its injected fetch saw it. */
export interface Delivery {
  at: string;
  key: string;
  status: string;
  summary: string;
  decision: string;
  result: string;
}

/** What /api/demo/healing serves. */
export interface HealingState {
  faults: Array<{ what: string; node: string; atInterval: number; at: string | null; happened: boolean }>;
  nodes: Array<{ name: string; gpu: string; pods: number; readyPods: number; cordoned: boolean; phase: string | null; condition: string | null }>;
  findings: Array<Pick<Finding, 'check' | 'severity' | 'fault' | 'summary'> & { target: string }>;
  gate: { nodes: number; cordoned: number; cordonLimit: number; inFlight: number; maxInFlight: number; unhealthyNodes: number; fleetWide: boolean; fleetUnhealthyPercent: number; actionsLastHour: number; maxActionsPerHour: number; nodeCooldownSeconds: number };
  floor: (ReplicaFloor & { expiresAt: string }) | null;
  remediations: RemediationEntry[];
  oncall: { receiver: string; deliveries: Delivery[]; received: ReceivedNotice[] };
  checkErrors: Record<string, string>;
}

/** The demo node's GPU and network readings, from its agent collectors' last samples. */
export interface AgentState {
  node: string;
  collectedAt: string | null;
  source: string;
  gpus: Array<{ gpu: string; model: string; uuid: string; utilizationPercent: number; memoryUsedGiB: number; memoryTotalGiB: number; temperatureC: number; powerW: number; throttle: string[] }>;
  network: Array<{ interface: string; receiveBytesPerSecond: number; transmitBytesPerSecond: number; up: boolean }>;
  collectors: Record<string, string>;
}

export interface DemoHealing {
  readonly cluster: GpuCluster;
  /** The healing floor now on the scaler, for the scaling loop. */
  floor(): ReplicaFloor | undefined;
  /** After interval t's scaling decision: inject the faults due, run the agents' collectors, run one healing tick. */
  step(t: number, endMs: number): Promise<void>;
  state(): HealingState;
  agent(): AgentState;
  close(): Promise<void>;
}

interface NodeAgent {
  node: string;
  kernelLog: string;
  collectors: Collector[];
  errors: Record<string, string>;
  last: readonly Sample[];
  /** The network samples of the collection before the last, and wall-clock times of both (for rates). */
  previous: readonly Sample[];
  lastWallMs: number;
  previousWallMs: number;
}

const XID79 = 'NVRM: Xid (PCI:0000:00:09): 79, pid=\'<unknown>\', name=<unknown>, GPU has fallen off the bus.';
/** nvidia-smi's answer once a GPU has fallen off the bus. */
const GPU_LOST = 'Unable to determine the device handle for GPU0000:00:09.0: GPU is lost.  Reboot the system to recover this GPU';

/**
 * Healing in the demo: the product's healing loop (controller/healing: the gpu-xid and
 * gpu-thermal checks, the safety gate, cordon, the make-before-break drain and on-call) run once
 * per interval against the demo's GPU cluster. Each node runs the agent's own collectors (gpu,
 * xid; network on the node the page shows): nvidia-smi answers from a real H100 capture (idle or
 * under load, as the node's pod is), the kernel log is a file the xid collector follows, and
 * their samples go to a small in-process series store that answers the checks' PromQL. The
 * faults are injected into those inputs only: an XID 79 line appended to one node's kernel log,
 * and the thermal-slowdown flag of another node's GPU. On-call is a signed webhook to a
 * receiver on 127.0.0.1.
 */
export async function startDemoHealing(deps: { logger: Logger; metrics: MetricRegistry }, c: DemoHealingConfig): Promise<DemoHealing> {
  const cluster = createGpuCluster({ nodes: c.nodes, capacity: c.capacity, startupSteps: c.startupSteps, initialReplicas: c.initialReplicas, thermalCapacity: 0.6 });
  const dir = mkdtempSync(join(tmpdir(), 'surgeguard-demo-'));
  const key = randomBytes(16).toString('hex');
  const receiver = await startOnCallReceiver(key);
  const config: HealingConfig = healingConfigSchema.parse({
    oncall: { receivers: [{ name: 'demo-oncall', url: receiver.url, format: 'json', severities: ['critical', 'warning'], hmacKeyFile: 'demo-oncall.key' }], attempts: 3, initialBackoffMs: 200, timeoutMs: 2000 },
  });
  const logger = deps.logger.child({ component: 'healing' });
  const run: HealingRun = { nowMs: 0, interval: 0, ledger: [], lastTick: { findings: [], checkErrors: {} }, happened: new Map(), deliveries: [] };
  const store = createSeriesStore();
  const gpuOf = gpuReadings(cluster, run);
  const agents = cluster.nodes().map((n) => nodeAgent(n.metadata?.name ?? '', { dir, agentNode: c.agentNode, cluster, gpuOf, logger }));
  const audit = createRemediationAudit({ logger, metrics: deps.metrics, writer: { patchScalerStatus: () => Promise.resolve(), event: () => Promise.resolve() }, eventNamespace: 'demo' }, config.entriesKept);
  const oncall = createOnCall({ logger, metrics: deps.metrics, fetch: recordingFetch(run), readSecret: () => key }, config.oncall);
  const loop = createHealingLoop(
    { cluster: cluster.healing, checks: [gpuXidCheck({}, config.checks), gpuThermalCheck({}, config.checks, 'agent')], query: store.query(() => run.nowMs), audit, oncall, isLeader: () => true, now: () => run.nowMs, logger, metrics: deps.metrics, scalers: () => [cluster.scaler()], scale: cluster.scale, readyPods: cluster.readyPods },
    config,
  );
  const gate = createGate(config.gate);
  // At least three samples inside the thermal check's sustain window: the agents collect every 30 recorded seconds.
  const samplesPerInterval = Math.min(10, Math.max(2, Math.ceil(c.intervalSeconds / 30)));

  return {
    cluster,
    floor: () => floorOf(cluster.scaler()),
    async step(t, endMs) {
      injectFaults(t, endMs, { faults: c.faults, agents, dir, cluster, run, logger });
      const stepMs = (c.intervalSeconds * 1000) / samplesPerInterval;
      // Network rates on the page are per wall-clock second between this tick's collection and the last one's.
      for (const a of agents) Object.assign(a, { previous: a.last, previousWallMs: a.lastWallMs });
      for (let s = samplesPerInterval - 1; s >= 0; s--) for (const a of agents) await collect(a, endMs - s * stepMs, store);
      run.nowMs = endMs;
      run.interval = t;
      try {
        const r = await loop.tick();
        run.lastTick = { findings: r.findings, checkErrors: r.checkErrors };
        run.ledger = await cluster.healing.readLedger();
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'healing tick failed');
      }
    },
    state: () => healingState({ c, config, cluster, run, gate, audit, receiver }),
    agent() {
      const a = agents.find((x) => x.node === c.agentNode) ?? agents[0];
      return agentState(a);
    },
    async close() {
      await oncall.flush(2000);
      for (const a of agents) for (const col of a.collectors) await col.close?.();
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the demo's healing has seen and done so far: the recorded clock, the last tick, the faults injected, the on-call deliveries. */
interface HealingRun {
  nowMs: number;
  interval: number;
  ledger: Array<{ atUnix: number }>;
  lastTick: { findings: Finding[]; checkErrors: Record<string, string> };
  /** When each fault (xid, thermal) was injected. */
  happened: Map<string, string>;
  deliveries: Delivery[];
}

/** The GPU a node's nvidia-smi reports: busy while a pod serves there, with the fault injected. */
function gpuReadings(cluster: GpuCluster, run: HealingRun): (node: string) => CapturedGpu {
  const idle = readCapture(H100_CAPTURES.idle);
  const load = readCapture(H100_CAPTURES.load);
  return (node) => {
    const busy = cluster.pods().some((p) => p.node === node && p.readyFrom <= run.interval);
    const base = busy ? load : idle;
    if (cluster.gpuState(node) !== 'thermal') return base;
    return new Map([...base, ['clocks_event_reasons.hw_slowdown', 'Active'], ['clocks_event_reasons.hw_thermal_slowdown', 'Active'], ['temperature.gpu', '88']]);
  };
}

/** One node's agent: the gpu and xid collectors (network too on the node the page shows) over its captured nvidia-smi and its own kernel log file. */
function nodeAgent(node: string, x: { dir: string; agentNode: string; cluster: GpuCluster; gpuOf: (node: string) => CapturedGpu; logger: Logger }): NodeAgent {
  const kernelLog = join(x.dir, `${node}-kern.log`);
  writeFileSync(kernelLog, '');
  const ac = agentConfigSchema.parse({ nodeName: node, collectors: { xid: { kernelLogPath: kernelLog }, network: { enabled: node === x.agentNode }, kafka: { enabled: false }, podResources: { enabled: false } } });
  const smi = capturedNvidiaSmi(() => x.gpuOf(node));
  const collectors = createCollectors(
    {
      logger: x.logger.child({ node }),
      node,
      exec: (file, args, opts) => (x.cluster.gpuState(node) === 'lost' ? Promise.resolve({ stdout: `${GPU_LOST}\n`, stderr: '', exitCode: 15 }) : smi(file, args, opts)),
      inventory: new GpuInventory(),
      holders: new GpuHolders(),
      kernelLog: () => followFile(kernelLog),
      podIps: () => undefined,
      podResources: () => ({ list: () => Promise.resolve([]), close: () => undefined }),
      nodeFacts: () => Promise.resolve({ os: 'demo', kernel: 'demo', arch: 'x64', cpuModel: 'demo', cpus: 1, memoryBytes: 0 }),
      readFile: (p) => readFileSync(p, 'utf8'),
      kafkaLagReader: () => ({ read: () => Promise.reject(new Error('no Kafka in the demo')), close: () => Promise.resolve() }),
    },
    ac.collectors,
  ).filter((col) => col.name !== 'node');
  return { node, kernelLog, collectors, errors: {}, last: [], previous: [], lastWallMs: 0, previousWallMs: 0 };
}

/** One collection by every collector of a node's agent, into the series store the checks query. */
async function collect(a: NodeAgent, atMs: number, store: ReturnType<typeof createSeriesStore>): Promise<void> {
  const samples: Sample[] = [];
  for (const col of a.collectors) {
    try {
      const r = await col.collect({ signal: AbortSignal.timeout(col.timeoutMs), nowMs: atMs });
      if (r !== DISABLED) samples.push(...(isUnavailable(r) ? r.samples : r));
      delete a.errors[col.name];
    } catch (err) {
      // A failing collector (nvidia-smi on a lost GPU) is what the agent would report: its error, and any samples it kept.
      a.errors[col.name] = errorMessage(err);
      if (err instanceof BlindError) samples.push(...err.samples);
    }
  }
  a.last = samples;
  a.lastWallMs = Date.now();
  store.add(samples, atMs);
}

/** The on-call sender's fetch: real HTTP, each attempt recorded (the last 200) for the page. */
function recordingFetch(run: HealingRun): typeof fetch {
  return async (input, init) => {
    const body = JSON.parse(String(init?.body ?? '{}')) as { key?: string; status?: string; summary?: string; decision?: string };
    const d: Delivery = { at: new Date(run.nowMs).toISOString(), key: body.key ?? '', status: body.status ?? '', summary: body.summary ?? '', decision: body.decision ?? '', result: 'sending' };
    run.deliveries.push(d);
    if (run.deliveries.length > 200) run.deliveries.shift();
    try {
      const res = await fetch(input, init);
      d.result = `HTTP ${res.status}${res.ok ? ' (delivered)' : ''}`;
      return res;
    } catch (err) {
      d.result = `failed: ${errorMessage(err)}`;
      throw err;
    }
  };
}

/** The faults due at interval t, into the agents' inputs only: an XID 79 line in a kernel log, a GPU lost or slowed down. */
function injectFaults(t: number, endMs: number, x: { faults: FaultPlan; agents: readonly NodeAgent[]; dir: string; cluster: GpuCluster; run: HealingRun; logger: Logger }): void {
  const { faults, cluster, run, logger } = x;
  const at = new Date(endMs).toISOString();
  if (faults.xid && t === faults.xid.atInterval) {
    appendFileSync(x.agents.find((a) => a.node === faults.xid?.node)?.kernelLog ?? join(x.dir, 'none'), `[${at}] ${XID79}\n`);
    cluster.setGpuState(faults.xid.node, 'lost');
    run.happened.set('xid', at);
    logger.warn({ node: faults.xid.node, xid: 79 }, `demo fault: an XID 79 line was written to the kernel log of ${faults.xid.node}`);
  }
  if (faults.thermal && t === faults.thermal.atInterval) {
    cluster.setGpuState(faults.thermal.node, 'thermal');
    run.happened.set('thermal', at);
    logger.warn({ node: faults.thermal.node }, `demo fault: the GPU of ${faults.thermal.node} reports a hardware thermal slowdown`);
  }
}

/** What /api/demo/healing serves: the faults, the nodes, the last findings, the gate's view, the floor, the remediations and on-call. */
function healingState(x: {
  c: DemoHealingConfig;
  config: HealingConfig;
  cluster: GpuCluster;
  run: HealingRun;
  gate: ReturnType<typeof createGate>;
  audit: ReturnType<typeof createRemediationAudit>;
  receiver: Awaited<ReturnType<typeof startOnCallReceiver>>;
}): HealingState {
  const { c, config, cluster, run, gate } = x;
  const nodes = cluster.nodes();
  const fleetSize = nodes.length;
  const nowUnix = Math.floor(run.nowMs / 1000);
  const view = {
    nodes: fleetSize,
    cordoned: nodes.filter(isCordoned).length,
    unhealthyNodes: new Set(run.lastTick.findings.filter((f) => f.target.kind === 'Node' && (f.fault === 'fatal' || f.fault === 'degraded')).map((f) => f.target.name)).size,
    inFlight: nodes.filter((n) => {
      const r = remediationOf(n);
      return r !== undefined && r.phase !== 'drained';
    }).length,
  };
  const floor = floorOf(cluster.scaler());
  const pods = cluster.pods();
  return {
    faults: [
      ...(c.faults.xid ? [{ what: 'XID 79 (GPU has fallen off the bus) in the kernel log', node: c.faults.xid.node, atInterval: c.faults.xid.atInterval, at: run.happened.get('xid') ?? null, happened: run.happened.has('xid') }] : []),
      ...(c.faults.thermal ? [{ what: 'hardware thermal slowdown on the GPU', node: c.faults.thermal.node, atInterval: c.faults.thermal.atInterval, at: run.happened.get('thermal') ?? null, happened: run.happened.has('thermal') }] : []),
    ],
    nodes: nodes.map((n) => {
      const name = n.metadata?.name ?? '';
      const here = pods.filter((p) => p.node === name);
      const cond = n.status?.conditions?.find((y) => y.type === config.nodeCondition.type);
      return { name, gpu: cluster.gpuState(name), pods: here.length, readyPods: here.filter((p) => p.readyFrom <= run.interval).length, cordoned: isCordoned(n), phase: remediationOf(n)?.phase ?? null, condition: cond ? `${cond.type}=${cond.status} (${cond.reason})` : null };
    }),
    findings: run.lastTick.findings.map((f) => ({ check: f.check, severity: f.severity, fault: f.fault, summary: f.summary, target: `${f.target.kind}/${f.target.name}` })),
    gate: { ...view, cordonLimit: gate.cordonLimit(fleetSize), maxInFlight: config.gate.maxInFlight, fleetWide: gate.fleetWide({ ...view, actionsLastHour: 0 }), fleetUnhealthyPercent: Math.round(config.gate.fleetUnhealthyFraction * 100), actionsLastHour: run.ledger.filter((e) => e.atUnix > nowUnix - 3600).length, maxActionsPerHour: config.gate.maxActionsPerHour, nodeCooldownSeconds: config.gate.nodeCooldownSeconds },
    floor: floor ? { ...floor, expiresAt: new Date(floor.expiresAtSeconds * 1000).toISOString() } : null,
    remediations: x.audit.list({ limit: 200 }),
    oncall: { receiver: x.receiver.url, deliveries: [...run.deliveries].reverse(), received: [...x.receiver.received()].reverse() },
    checkErrors: run.lastTick.checkErrors,
  };
}

const GiB = 2 ** 30;

/** The page's agent panel from one node agent's last two collections: GPU readings as read, network counters as rates. */
function agentState(a: NodeAgent | undefined): AgentState {
  if (!a) return { node: '', collectedAt: null, source: '', gpus: [], network: [], collectors: {} };
  const pick = (samples: readonly Sample[], name: string, labels: Record<string, string>): number | undefined => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  const gpus = a.last.filter((s) => s.name === 'surgeguard_gpu_info').map((info) => {
    const l = { gpu: info.labels.gpu ?? '', uuid: info.labels.uuid ?? '' };
    const v = (name: string): number => pick(a.last, name, l) ?? NaN;
    return {
      gpu: l.gpu,
      uuid: l.uuid,
      model: info.labels.gpu_model ?? '',
      utilizationPercent: Math.round(v('surgeguard_gpu_utilization_ratio') * 100),
      memoryUsedGiB: Math.round((v('surgeguard_gpu_memory_used_bytes') / GiB) * 10) / 10,
      memoryTotalGiB: Math.round((v('surgeguard_gpu_memory_total_bytes') / GiB) * 10) / 10,
      temperatureC: v('surgeguard_gpu_temperature_celsius'),
      powerW: v('surgeguard_gpu_power_watts'),
      throttle: a.last.filter((s) => s.name === 'surgeguard_gpu_throttle_reason' && s.labels.gpu === l.gpu && s.value === 1).map((s) => s.labels.reason ?? ''),
    };
  });
  const seconds = (a.lastWallMs - a.previousWallMs) / 1000;
  const rate = (name: string, iface: string): number => {
    const now = pick(a.last, name, { interface: iface });
    const before = pick(a.previous, name, { interface: iface });
    return now === undefined || before === undefined || seconds <= 0 ? 0 : Math.max(0, Math.round((now - before) / seconds));
  };
  const network = a.last.filter((s) => s.name === 'surgeguard_network_up').map((s) => {
    const iface = s.labels.interface ?? '';
    return { interface: iface, receiveBytesPerSecond: rate('surgeguard_network_receive_bytes_total', iface), transmitBytesPerSecond: rate('surgeguard_network_transmit_bytes_total', iface), up: s.value === 1 };
  });
  return {
    node: a.node,
    collectedAt: a.lastWallMs > 0 ? new Date(a.lastWallMs).toISOString() : null,
    source: 'the agent\'s gpu and network collectors on this node: nvidia-smi answers from a recorded H100 capture (idle, or under load while a pod serves here); the network counters are this machine\'s /proc/net/dev',
    gpus,
    network,
    collectors: { ...Object.fromEntries(a.collectors.map((col) => [col.name, 'ok'])), ...a.errors },
  };
}
