// Controller memory benchmark (`npm run bench:controller-memory`, issue 21): where the controller's
// memory goes at 1,000 scalers and 2,000 GPU nodes, without a real control plane. The controller's
// own watch caches (PredictiveScalers, Deployments, Nodes, Pods) list and watch a stand-in API
// server in a child process (so the objects it serves are not counted here) that answers with
// copies of objects the real API server served (test/fixtures/kube/*.json, read from a bench:scale
// cluster: managedFields and all), renamed. The scaling loop then runs its real code over those
// caches with in-memory signals and writes, each scaler's history backfilled to `--history`
// intervals. Reported after each stage, after a full GC: RSS, V8 heap used and total; then the
// peak RSS. Each kind of cache runs in a fresh process of its own, peers in one run: `whole`
// (the caches as built before: whole objects, one unpaged list) and `slim` (controller/kube/cluster-caches.ts).
//
//   npm run bench:controller-memory -- --scalers 1000 --nodes 2000 --pods 30000 --history 2880 --ticks 4
//   options: --caches whole,slim (default both), --cpu-nodes N (nodes without GPUs, each with
//            --pods-per-cpu-node pods) and --gpu-node-selector SEL (the slim caches' gpu.nodeSelector),
//            --replicas N (GPU pods per scaler), --heap-snapshot FILE (a V8 heap snapshot at the end),
//            --alloc-profile (where ticks 2.. allocate, by function, garbage included: the V8 sampling
//            heap profiler with collected objects kept; what found Holt-Winters' band sorts);
//            V8 options go before the script: `scripts/node --max-semi-space-size=16 bench/controller-memory.ts ...`
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    scalers: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '2000' },
    pods: { type: 'string', default: '30000' },
    'cpu-nodes': { type: 'string', default: '0' },
    'pods-per-cpu-node': { type: 'string', default: '10' },
    replicas: { type: 'string', default: '8' },
    history: { type: 'string', default: '2880' },
    ticks: { type: 'string', default: '4' },
    'heap-snapshot': { type: 'string' },
    caches: { type: 'string', default: 'whole,slim' },
    'gpu-node-selector': { type: 'string', default: '' },
    'alloc-profile': { type: 'boolean', default: false },
  },
});
const num = (name: keyof typeof args): number => {
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} ${String(args[name])}: expected a whole number >= 0`);
  return v;
};
const SIZE = { scalers: num('scalers'), nodes: num('nodes'), pods: num('pods'), cpuNodes: num('cpu-nodes'), podsPerCpuNode: num('pods-per-cpu-node'), replicas: num('replicas') };
const NAMESPACES = 10;
const VARIANTS = (args.caches ?? '').split(',').filter((v): v is 'whole' | 'slim' => v === 'whole' || v === 'slim');
if (VARIANTS.length === 0) throw new Error(`--caches ${args.caches}: expected whole, slim or whole,slim`);
/** The caches measured in this process: `whole` objects (the code before issue 21's memory work) or `slim` (cluster-caches.ts). */
const VARIANT = VARIANTS[0];
const FIXTURES = fileURLToPath(new URL('../test/fixtures/kube/', import.meta.url));

// ---- the stand-in API server (child process) -------------------------------------------------

type Obj = { metadata: Record<string, unknown> & { labels?: Record<string, string>; ownerReferences?: Array<Record<string, unknown>>; annotations?: Record<string, string> }; spec: Record<string, unknown>; status: Record<string, unknown> };
const template = (file: string): string => readFileSync(`${FIXTURES}${file}`, 'utf8');
const uid = (kind: number, i: number): string => `00000000-0000-4000-8${String(kind).padStart(3, '0')}-${String(i).padStart(12, '0')}`;
const nodeName = (i: number): string => `gpu-${String(i).padStart(5, '0')}`;

/** Every object the stand-in serves, as JSON text, by collection path: copies of the fixtures, renamed. */
function objects(): Map<string, string[]> {
  const node = template('node.json');
  const pod = template('pod.json');
  const deployment = template('deployment.json');
  const nodes: string[] = [];
  const pods: string[] = [];
  const deployments: string[] = [];
  const scalers: string[] = [];
  const aNode = (name: string, i: number, gpus: boolean): string => {
    const o = JSON.parse(node) as Obj;
    Object.assign(o.metadata, { name, uid: uid(gpus ? 1 : 2, i), resourceVersion: String(1000 + i) });
    o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/hostname': name };
    const st = o.status as { allocatable: Record<string, string>; capacity: Record<string, string>; addresses?: Array<{ type: string; address: string }> };
    if (!gpus) {
      delete o.metadata.labels['nvidia.com/gpu.present'];
      delete st.allocatable['nvidia.com/gpu'];
      delete st.capacity['nvidia.com/gpu'];
    }
    for (const a of st.addresses ?? []) if (a.type === 'Hostname') a.address = name;
    return JSON.stringify(o);
  };
  const aPod = (x: { name: string; namespace: string; app: string; node: string; i: number; gpu: boolean }): string => {
    const o = JSON.parse(pod) as Obj;
    Object.assign(o.metadata, { name: x.name, namespace: x.namespace, uid: uid(5, x.i), resourceVersion: String(100_000 + x.i) });
    o.metadata.labels = { ...o.metadata.labels, app: x.app };
    o.spec.nodeName = x.node;
    if (!x.gpu) for (const c of o.spec.containers as Array<{ resources?: unknown }>) c.resources = { requests: { cpu: '100m' } };
    return JSON.stringify(o);
  };
  for (let i = 0; i < SIZE.nodes; i++) nodes.push(aNode(nodeName(i), i, true));
  for (let i = 0; i < SIZE.cpuNodes; i++) nodes.push(aNode(`cpu-${String(i).padStart(5, '0')}`, i, false));
  let p = 0;
  for (let s = 0; s < SIZE.scalers; s++) {
    const ns = `sgb-${s % NAMESPACES}`;
    const d = JSON.parse(deployment) as Obj;
    Object.assign(d.metadata, { name: `d${s}`, namespace: ns, uid: uid(3, s), resourceVersion: String(50_000 + s) });
    Object.assign(d.spec, { selector: { matchLabels: { app: `d${s}` } } });
    deployments.push(JSON.stringify(d));
    scalers.push(
      JSON.stringify({
        apiVersion: 'surgeguard.io/v1alpha1',
        kind: 'PredictiveScaler',
        metadata: { name: `s${s}`, namespace: ns, uid: uid(4, s), resourceVersion: '10', generation: 1, creationTimestamp: '2026-12-06T18:45:10Z', labels: { 'surgeguard.io/bench': '1' } },
        spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `d${s}` }, signal: { prometheus: { query: `sum(sg_bench_demand_rps{namespace="${ns}",deployment="d${s}"})` } }, requestsPerSecondPerReplica: 10, startupSeconds: 60, minReplicas: 1, maxReplicas: 32, gpu: { perReplica: 1 } },
      }),
    );
    for (let r = 0; r < SIZE.replicas && p < SIZE.pods; r++, p++) pods.push(aPod({ name: `d${s}-${r}`, namespace: ns, app: `d${s}`, node: nodeName(p % Math.max(1, SIZE.nodes)), i: p, gpu: true }));
  }
  // Filler pods (no GPU) spread over the GPU nodes, up to --pods in all; then the CPU nodes' pods.
  for (let f = 0; p < SIZE.pods; f++, p++) pods.push(aPod({ name: `filler-${f}`, namespace: 'sgb-filler', app: 'filler', node: nodeName(f % Math.max(1, SIZE.nodes)), i: p, gpu: false }));
  for (let c = 0; c < SIZE.cpuNodes * SIZE.podsPerCpuNode; c++, p++) pods.push(aPod({ name: `web-${c}`, namespace: 'web', app: 'web', node: `cpu-${String(c % SIZE.cpuNodes).padStart(5, '0')}`, i: p, gpu: false }));
  return new Map([
    ['/api/v1/nodes', nodes],
    ['/api/v1/pods', pods],
    ['/apis/apps/v1/deployments', deployments],
    ['/apis/surgeguard.io/v1alpha1/predictivescalers', scalers],
  ]);
}

/** `k=v` and `k` requirements, all of which must hold: enough for the selectors the controller sends. */
function selects(selector: string | null, text: string): boolean {
  if (!selector) return true;
  const labels = (JSON.parse(text) as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
  return selector.split(',').every((req) => {
    const [k = '', v] = req.split('=');
    return v === undefined ? k in labels : labels[k] === v;
  });
}

function serve(): void {
  const all = objects();
  const requests: Record<string, number> = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const items = all.get(url.pathname);
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const key = `${watching ? 'watch' : 'list'} ${url.pathname}`;
    requests[key] = (requests[key] ?? 0) + 1;
    if (!items || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: `${req.method} ${url.pathname} is not served by the stand-in` }));
      return;
    }
    if (watching) {
      // Held open, nothing changes: the caches keep what they listed.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      return;
    }
    const selected = items.filter((t) => selects(url.searchParams.get('labelSelector'), t));
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const from = Number(url.searchParams.get('continue') ?? 0);
    const page = limit > 0 ? selected.slice(from, from + limit) : selected;
    const next = limit > 0 && from + limit < selected.length ? String(from + limit) : undefined;
    const kind = url.pathname.endsWith('nodes') ? 'NodeList' : url.pathname.endsWith('pods') ? 'PodList' : url.pathname.endsWith('deployments') ? 'DeploymentList' : 'PredictiveScalerList';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"kind":"${kind}","apiVersion":"v1","metadata":{"resourceVersion":"100"${next ? `,"continue":"${next}"` : ''}},"items":[${page.join(',')}]}`);
  });
  server.listen(0, '127.0.0.1', () => {
    const bytes = Object.fromEntries([...all].map(([k, v]) => [k, { objects: v.length, bytes: v.reduce((s, t) => s + t.length, 0) }]));
    process.send?.({ port: (server.address() as { port: number }).port, served: bytes });
  });
  process.on('message', (m) => {
    if (m === 'requests') process.send?.({ requests });
  });
}

// ---- the measured process ---------------------------------------------------------------------

const MIB = 1024 * 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Stage {
  stage: string;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
}
const stages: Stage[] = [];
function mark(stage: string): void {
  gc();
  gc();
  const m = process.memoryUsage();
  const s = { stage, rssMiB: m.rss / MIB, heapUsedMiB: m.heapUsed / MIB, heapTotalMiB: m.heapTotal / MIB, externalMiB: m.external / MIB };
  stages.push(s);
  process.stderr.write(`  ${stage}: RSS ${s.rssMiB.toFixed(0)} MiB, heap used ${s.heapUsedMiB.toFixed(0)} of ${s.heapTotalMiB.toFixed(0)} MiB\n`);
}
const peakRssMiB = (): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

async function measure(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), '--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port, served } = await new Promise<{ port: number; served: Record<string, { objects: number; bytes: number }> }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number; served: Record<string, { objects: number; bytes: number }> }));
    child.once('exit', (code) => reject(new Error(`the stand-in API server exited with ${code}`)));
  });
  try {
    await run(port, served);
  } finally {
    child.kill();
  }
}

async function run(port: number, served: Record<string, { objects: number; bytes: number }>): Promise<void> {
  mark('bare');
  const m = await loadModules();
  mark('modules loaded');
  // Warnings (a watch that failed) to stderr; the loop's info lines are dropped.
  const logger = m.createLogger({ level: 'warn' });
  const metrics = m.createMetricRegistry();
  const forecaster = await m.loadPolicyForecaster({ logger, metrics, readFile: async (p) => new Uint8Array(readFileSync(p)) }, { forecaster: 'holt-winters', modelPath: m.defaultModelPath(), providers: ['cpu'], minHistorySteps: 8 });
  const kc = new m.k8s.KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'stand-in', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 'stand-in', user: 'u' }], currentContext: 'c' });
  const caches = await startCaches(m, kc, logger);
  const history = num('history');
  const bench = benchLoop(m, { caches, logger, metrics, forecaster, history });
  const ticks = num('ticks');
  const collections = await runTicks(bench, ticks, history);
  mark(`+ ${ticks} ticks`);
  const peak = peakRssMiB();
  process.stderr.write(`  peak RSS ${peak.toFixed(0)} MiB; writes ${JSON.stringify(bench.written)}\n`);
  if (args['heap-snapshot']) process.stderr.write(`  heap snapshot: ${writeHeapSnapshot(args['heap-snapshot'])}\n`);
  const report = { size: SIZE, history, ticks, served, collections: { ...collections, ms: Math.round(collections.ms) }, stages: stages.map((s) => ({ ...s, rssMiB: +s.rssMiB.toFixed(1), heapUsedMiB: +s.heapUsedMiB.toFixed(1), heapTotalMiB: +s.heapTotalMiB.toFixed(1), externalMiB: +s.externalMiB.toFixed(1) })), peakRssMiB: +peak.toFixed(1) };
  console.log(JSON.stringify(report));
  await Promise.all([caches.scalers.stop(), caches.deployments.stop(), caches.nodes.stop(), caches.pods.stop()]);
}

/** The controller's modules, loaded after the `bare` mark so that stage measures what they cost. */
async function loadModules() {
  const mods = {
    k8s: await import('@kubernetes/client-node'),
    ...(await import('../common/logger.ts')),
    ...(await import('../common/metrics.ts')),
    ...(await import('../inference/index.ts')),
    ...(await import('../controller/reconcile/decision-log.ts')),
    ...(await import('../controller/reconcile/tick.ts')),
    ...(await import('../controller/kube/scaler-cache.ts')),
    ...(await import('../controller/kube/cached-scale.ts')),
    ...(await import('../controller/kube/cached-pod-stats.ts')),
    ...(await import('./controller-memory-caches.ts')),
    ...(await import('../controller/kube/cluster-caches.ts')),
  };
  await import('../controller/controller.ts'); // everything else the controller process loads
  return mods;
}
type Modules = Awaited<ReturnType<typeof loadModules>>;
type KubeConfig = InstanceType<Modules['k8s']['KubeConfig']>;
type BenchLogger = ReturnType<Modules['createLogger']>;

/** The scaler, Deployment, Node and Pod caches of this process's variant, each started and synced in turn (a mark after each). */
async function startCaches(m: Modules, kc: KubeConfig, logger: BenchLogger) {
  const synced = async (what: string, c: { synced(): boolean }): Promise<void> => {
    const until = Date.now() + 120_000;
    while (!c.synced()) {
      if (Date.now() > until) throw new Error(`${what} cache did not sync`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const scalers = m.kubeScalerCache(kc, logger);
  await scalers.start();
  await synced('PredictiveScaler', scalers);
  mark(`scaler cache (${scalers.list().length})`);
  const caches = VARIANT === 'whole' ? m.wholeObjectCaches(kc, logger) : { deployments: undefined, ...m.clusterCaches(kc, logger, { targetCache: true, gpuNodeSelector: args['gpu-node-selector'] ?? '' }) };
  if (!caches.deployments) throw new Error('targetCache: true builds a Deployment cache');
  const deployments = caches.deployments;
  await deployments.start();
  await synced('Deployment', deployments);
  mark(`+ Deployment cache (${deployments.list().length})`);
  await caches.nodes.start();
  await synced('Node', caches.nodes);
  mark(`+ Node cache (${caches.nodes.list().length})`);
  await caches.pods.start();
  await synced('Pod', caches.pods);
  mark(`+ Pod cache (${caches.pods.list().length})`);
  return { scalers, deployments, nodes: caches.nodes, pods: caches.pods };
}

/** The real scaling loop over those caches; signals, writes and backfill in memory. `tickNo` and `clock` are the ticks' to move. */
function benchLoop(
  m: Modules,
  x: { caches: Awaited<ReturnType<typeof startCaches>>; logger: BenchLogger; metrics: ReturnType<Modules['createMetricRegistry']>; forecaster: Awaited<ReturnType<Modules['loadPolicyForecaster']>>; history: number },
) {
  const { caches, logger, metrics, forecaster, history } = x;
  const written = { status: 0, scale: 0, events: 0 };
  const liveScale = {
    read: async () => {
      throw new Error('every target is a Deployment in the cache');
    },
    writerOf: async () => undefined,
    setReplicas: async (_ref: unknown, replicas: number, resourceVersion: string) => (written.scale++, { replicas, currentReplicas: replicas, selector: '', resourceVersion: `${resourceVersion}1` }),
  };
  const liveReader = {
    hpaTargets: async () => new Map(),
    paused: async () => false,
    podStats: async () => ({ startupP90Seconds: 60, unschedulable: 0, ready: 1 }),
  };
  const state = { tickNo: 0, clock: Date.now(), written };
  const loop = m.createScalingLoop(
    {
      scalers: () => caches.scalers.list(),
      signals: [
        {
          read: async (reqs) => new Map(reqs.map((r, i) => [r.key, { ok: true as const, rate: 10 + 5 * Math.sin((state.tickNo + i) / 7), detail: {} }])),
          close: async () => undefined,
        },
      ],
      forecaster,
      scale: m.cachedScaleClient(liveScale, caches.deployments),
      reader: m.cachedPodStatsReader(liveReader, caches.pods),
      writer: { patchScalerStatus: async () => void written.status++, event: async () => void written.events++ },
      isLeader: () => true,
      now: () => state.clock,
      logger,
      metrics,
      decisions: m.createDecisionLog(1000),
      backfill: async (s) => Array.from({ length: history }, (_, j) => 10 + 5 * Math.sin((j + s.metadata.name.length) / 40)),
      gpuCluster: () => ({ nodes: caches.nodes.list(), pods: caches.pods.list() }),
    },
    { intervalSeconds: 15, historyIntervals: 2880, pauseFlag: false, pauseConfigMap: { namespace: 'surgeguard', name: 'surgeguard-controller' }, podStatsEveryTicks: 4, forecasting: true, forecastTimeScale: 1 },
  );
  return Object.assign(state, { loop });
}

/**
 * Runs the ticks 15 s of clock apart. Counts the garbage collections during ticks 2.. (not the
 * forced ones of mark()): what a smaller young generation (--max-semi-space-size) costs.
 */
async function runTicks(bench: ReturnType<typeof benchLoop>, ticks: number, history: number): Promise<{ minor: number; major: number; ms: number }> {
  const collections = { minor: 0, major: 0, ms: 0 };
  const seen: Array<{ at: number; kind: number | undefined; ms: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) seen.push({ at: e.startTime, kind: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind, ms: e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  let countFrom = Infinity;
  const cpu0 = process.cpuUsage();
  const allocations = args['alloc-profile'] ? await allocationProfiler() : undefined;
  for (bench.tickNo = 1; bench.tickNo <= ticks; bench.tickNo++) {
    if (bench.tickNo === 2) {
      countFrom = performance.now();
      await allocations?.start();
    }
    bench.clock += 15_000;
    await bench.loop.tick();
    if (bench.tickNo === 1) mark(`+ scaling loop, tick 1 (histories of ${history})`);
  }
  const countTo = performance.now();
  if (allocations) process.stderr.write(await allocations.stop());
  await new Promise((r) => setTimeout(r, 100)); // entries are delivered after the fact
  observer.disconnect();
  for (const e of seen.filter((x) => x.at >= countFrom && x.at <= countTo)) {
    if (e.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) collections.minor++;
    else if (e.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) collections.major++;
    collections.ms += e.ms;
  }
  const cpu = process.cpuUsage(cpu0);
  process.stderr.write(`  ticks 2..${ticks}: ${collections.minor} minor and ${collections.major} major GCs, ${collections.ms.toFixed(0)} ms in GC; CPU of all ticks ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s\n`);
  return collections;
}

/** Each variant in a fresh process of its own (peers in one run), then one table. */
async function compare(): Promise<void> {
  const reports: Array<{ variant: string; stages: Stage[]; peakRssMiB: number }> = [];
  for (const v of VARIANTS) {
    process.stderr.write(`${v} caches:\n`);
    const argv = process.argv.slice(2).filter((a, i, all) => a !== '--caches' && all[i - 1] !== '--caches' && !a.startsWith('--caches='));
    const child = fork(fileURLToPath(import.meta.url), [...argv, '--caches', v], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`the ${v} run exited with ${code}`);
    reports.push({ variant: v, ...(JSON.parse(out.trim().split('\n').pop() ?? '{}') as { stages: Stage[]; peakRssMiB: number }) });
  }
  const names = reports[0]?.stages.map((s) => s.stage.replace(/ \(.*\)$/, '')) ?? [];
  console.log(`\n## Controller memory: ${SIZE.scalers} scalers, ${SIZE.nodes} GPU nodes${SIZE.cpuNodes ? ` + ${SIZE.cpuNodes} CPU nodes` : ''}, ${SIZE.pods + SIZE.cpuNodes * SIZE.podsPerCpuNode} pods, histories of ${args.history}\n`);
  console.log(`| stage (after a full GC) | ${reports.map((r) => `${r.variant}: RSS / heap used MiB`).join(' | ')} |`);
  console.log(`|---|${reports.map(() => '---:').join('|')}|`);
  names.forEach((n, i) => console.log(`| ${n} | ${reports.map((r) => `${r.stages[i]?.rssMiB.toFixed(0)} / ${r.stages[i]?.heapUsedMiB.toFixed(0)}`).join(' | ')} |`));
  console.log(`| peak RSS | ${reports.map((r) => r.peakRssMiB.toFixed(0)).join(' | ')} |`);
}

if (args.serve) serve();
else if (import.meta.main) await (VARIANTS.length > 1 ? compare() : measure());

/** V8's sampling heap profiler over the ticks, objects collected since included: allocation by function, self and inclusive. */
async function allocationProfiler(): Promise<{ start(): Promise<void>; stop(): Promise<string> }> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Node[] }
  return {
    start: async () => void (await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })),
    async stop() {
      const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: Node } };
      session.disconnect();
      const self = new Map<string, number>();
      const inclusive = new Map<string, number>();
      const walk = (n: Node, stack: readonly string[]): void => {
        const f = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
        self.set(f, (self.get(f) ?? 0) + n.selfSize);
        const here = [...stack, f];
        for (const g of new Set(here)) inclusive.set(g, (inclusive.get(g) ?? 0) + n.selfSize);
        for (const c of n.children) walk(c, here);
      };
      walk(profile.head, []);
      const top = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `    ${(v / MIB).toFixed(1).padStart(7)} MiB  ${k}`).join('\n');
      return `  allocated during ticks 2..N, by function (self):\n${top(self)}\n  inclusive:\n${top(inclusive)}\n`;
    },
  };
}
