// Scale benchmark on the real control plane (`npm run bench:scale`, not in CI; issue 21).
//
// Starts etcd, kube-apiserver (API Priority and Fairness on, audit log), kube-controller-manager,
// kube-scheduler and kwok, plus a real Prometheus scraping one demand series per scaler. Builds a
// cluster of kwok GPU nodes (8 GPUs each) holding about 15 pods per node: each scaler's Deployment
// (1 GPU per pod, placed by the scheduler) and filler pods bound to nodes. Then runs the real
// controller as its own process (`surgeguard controller`, healing on in dry-run so its node and
// pod watch caches are part of the cost) at each size and reports per tick: wall time, the
// controller's requests to the API server by verb and resource (audit log), PromQL queries and
// the time Prometheus spent on them (query log), and CPU and RSS of the controller, the API
// server and etcd (/proc). Sizes share one cluster: scalers are chosen by label, nodes only grow.
//
//   npm run bench:scale                 100 and 1,000 scalers on 200 and 2,000 nodes
//   npm run bench:scale -- --quick      10 and 40 scalers on 20 and 80 nodes
//   options: --ticks N (default 7), --interval SECONDS (default 15), --out FILE (JSON of every tick),
//            --reads get,cache (default both: each size runs with the scale read by a GET per scaler
//            per tick, `targetCache: false`, and from the Deployment watch cache, the peer in the same run),
//            --nodes 200,2000 and --scalers 100,1000 (one or two sizes each; one size builds only that cluster),
//            --pods-per-node N (default 15) and --replicas N (GPU pods per Deployment) for a lighter cluster,
//            --signals single,batch (default single: a PromQL query per scaler; batch: every scaler gives the
//            one shared `sum by (namespace, deployment)` query, spec.signal.prometheus.batch; both: each size runs both),
//            --peer-root DIR (each size also runs the controller of another checkout, e.g. `git worktree add
//            /tmp/sg-before <commit>` with node_modules linked in: before and after in the same run),
//            --kwok-defaults (kwok with its own client rate limit and parallelism, as the tests run it)
// The controller runs with the NODE_OPTIONS its Deployment gives it (deploy/controller/deployment.yaml of its checkout).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { installCrd } from '../test/helpers/controller.ts';
import { ensureNamespace, kubeConfigFrom, serviceAccountKubeconfig, startKube, type KubeHandle, type KwokOptions } from '../test/helpers/infra/kube.ts';
import { REPO_ROOT, freePort, stopPid } from '../test/helpers/infra/process.ts';
import { addScrapeTarget, startPrometheus } from '../test/helpers/infra/prometheus.ts';
import { runContext } from '../test/helpers/infra/run.ts';
import { BENCH_LABEL, TIER_LABEL, addFillerPods, addGpuNodes, addScalers, podsSettled, resetScalers, setSignalForm, type SignalForm } from './scale-cluster.ts';
import { startDemandExporter } from './scale-exporter.ts';
import { auditReader, cpuSampler, lineTail, queryLogReader, sampleOf, type ApiCall, type LoggedQuery } from './scale-probe.ts';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, reads: { type: 'string', default: 'get,cache' }, signals: { type: 'string', default: 'single' }, nodes: { type: 'string' }, scalers: { type: 'string' }, 'pods-per-node': { type: 'string' }, replicas: { type: 'string' }, ticks: { type: 'string' }, interval: { type: 'string' }, out: { type: 'string' }, 'peer-root': { type: 'string' }, 'kwok-defaults': { type: 'boolean', default: false } } });
const QUICK = args.quick === true;
const SCALERS = sizes(args.scalers, QUICK ? [10, 40] : [100, 1000], '--scalers');
const NODES = sizes(args.nodes, QUICK ? [20, 80] : [200, 2000], '--nodes');
const PODS_PER_NODE = Number(args['pods-per-node'] ?? 15);
/** GPU pods per scaler's Deployment; by default half the cluster's GPUs shared out (1 to 8). */
const REPLICAS = args.replicas === undefined ? undefined : Number(args.replicas);
const TICKS = Number(args.ticks ?? (QUICK ? 5 : 7));
const INTERVAL = Number(args.interval ?? (QUICK ? 5 : 15));
const S_ALL = SCALERS[SCALERS.length - 1] ?? 0;
const S_SMALL = SCALERS[0] ?? 0;
const MIB = 1024 * 1024;
const READS = (args.reads ?? '').split(',').filter((r): r is 'get' | 'cache' => r === 'get' || r === 'cache');
if (READS.length === 0) throw new Error(`--reads ${args.reads}: expected get, cache or get,cache`);
const SIGNALS = (args.signals ?? '').split(',').filter((r): r is SignalForm => r === 'single' || r === 'batch');
if (SIGNALS.length === 0) throw new Error(`--signals ${args.signals}: expected single, batch or single,batch`);
/** Where the controller's code comes from: this tree, and another checkout as a peer with --peer-root. */
const ROOTS = [REPO_ROOT, ...(args['peer-root'] ? [args['peer-root']] : [])];
if (args['peer-root'] && !existsSync(join(args['peer-root'], 'cli/surgeguard.ts'))) throw new Error(`--peer-root ${args['peer-root']}: no cli/surgeguard.ts there`);
/** Each size runs once per way of reading targets, per signal form and per code root, peers in the same run. */
const VARIANTS = READS.flatMap((reads) => SIGNALS.flatMap((signals) => ROOTS.map((root) => ({ reads, signals, root }))));
/**
 * kwok without its client rate limit and with 16 workers per kind of stage, so that kwok is not the
 * limit on a 30,000-pod cluster (an earlier run saw about 9 pods a second go Running with kwok's
 * defaults at that size; bench/RESULTS.md, issue 21, has what these options changed).
 */
const KWOK_FAST: KwokOptions = { disableQPSLimits: true, podPlayStageParallelism: 16, nodePlayStageParallelism: 16, nodeLeaseParallelism: 16, podsOnNodeSyncParallelism: 16 };
/**
 * The API server rotates its audit log at 100 MB by default (0 means the default too): a 30,000-pod
 * cluster writes that in minutes, and the reader, which follows one file, then saw no requests at all.
 */
const AUDIT_NO_ROTATION = ['--audit-log-maxsize=1000000'];
/** The V8 options a checkout's controller Deployment sets (its NODE_OPTIONS), so the bench runs each as deployed. */
function controllerNodeOptions(root: string): string {
  const docs = parseAllDocuments(readFileSync(join(root, 'deploy/controller/deployment.yaml'), 'utf8')).map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } } });
  const container = docs.find((d) => d?.kind === 'Deployment')?.spec?.template?.spec?.containers?.find((c) => c.name === 'controller');
  return container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}

/** A list of sizes from a flag (`200,2000`), ascending, or the default. */
function sizes(flag: string | undefined, dflt: number[], name: string): number[] {
  if (flag === undefined) return dflt;
  const xs = flag.split(',').map(Number);
  if (xs.length === 0 || xs.length > 2 || xs.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`${name} ${flag}: expected one or two positive whole numbers, e.g. ${dflt.join(',')}`);
  return xs.sort((a, b) => a - b);
}

/** Replicas per scaler at a node count: half the cluster's GPUs for the scalers, at least 1. */
function replicasAt(nodes: number): number {
  if (REPLICAS !== undefined) return REPLICAS;
  return Math.max(1, Math.min(8, Math.floor((0.5 * 8 * nodes) / S_ALL)));
}

export interface TickRow {
  size: string;
  tick: number;
  wallSeconds: number;
  phases: Record<string, number>;
  patched: number;
  /** The controller's requests inside the tick, by "verb resource". */
  inTick: Record<string, number>;
  inTickTotal: number;
  /** The controller's requests over the whole interval (lease, watches, healing included). */
  perInterval: number;
  /** Requests by every client over the interval (kubelets of 2,000 kwok nodes renew leases). */
  apiserverPerInterval: number;
  demandQueries: number;
  demandQuerySeconds: number;
  rangeQueries: number;
  otherQueries: number;
  controllerCpuInTick: number;
  controllerCpuPerInterval: number;
  controllerRssMiB: number;
  /** V8 heap of the controller at the tick's end, from its /metrics (nodejs_heap_size_*_bytes). */
  controllerHeapUsedMiB: number;
  controllerHeapTotalMiB: number;
  apiserverCpuInTick: number;
  apiserverCpuPerInterval: number;
  apiserverRssMiB: number;
  etcdRssMiB: number;
  intervalSeconds: number;
}

interface SizeResult {
  size: string;
  /** How the controller read targets' scale: `get` (targetCache: false) or `cache`. */
  reads: 'get' | 'cache';
  /** How the scalers' demand signal was written: a query each, or one shared batch query. */
  signals: SignalForm;
  /** The checkout the controller ran from (this one, or --peer-root). */
  root: string;
  scalers: number;
  nodes: number;
  pods: number;
  startup: { seconds: number; requests: Record<string, number>; rssMiB: number };
  ticks: TickRow[];
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const ctx = runContext();
  const say = (m: string): void => void process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${m}\n`);
  say(`run folder ${ctx.dir}; sizes: scalers ${SCALERS.join(', ')} on nodes ${NODES.join(', ')}; ${TICKS} ticks of ${INTERVAL} s; controller NODE_OPTIONS ${ROOTS.map((r) => JSON.stringify(controllerNodeOptions(r))).join(' and ')}`);
  const qps = ['--kube-api-qps=300', '--kube-api-burst=600'];
  const kube = await startKube(ctx, { priorityAndFairness: true, extraArgs: { 'kube-controller-manager': qps, 'kube-scheduler': qps, 'kube-apiserver': AUDIT_NO_ROTATION }, ...(args['kwok-defaults'] === true ? {} : { kwok: KWOK_FAST }) });
  const cleanups: Array<() => Promise<unknown>> = [() => kube.stop()];
  try {
    const prom = await startPrometheus(ctx, { scrapeIntervalSeconds: 5 });
    cleanups.push(() => prom.stop());
    const queryLog = await enableQueryLog(prom.url, dirname(prom.log));
    const exporter = await startDemandExporter(S_ALL, replicasAt(NODES[0] ?? 0));
    cleanups.push(() => exporter.close());
    addScrapeTarget(prom, 'demand', exporter.address);
    const kc = kubeConfigFrom(kube.kubeconfig);
    await installCrd(kc);
    await ensureNamespace(kc.makeApiClient(CoreV1Api), 'surgeguard');
    const sa = await serviceAccountKubeconfig(kube, { namespace: 'surgeguard', name: 'controller', clusterRole: 'cluster-admin' });
    say(`control plane up in ${kube.startSeconds.toFixed(0)} s; Prometheus ${prom.url}; controller runs as ${sa.username}`);

    const results: SizeResult[] = [];
    let nodesNow = 0;
    let filler = 0;
    let podsNow = 0;
    for (const nodes of NODES) {
      const r = replicasAt(nodes);
      const tc = Date.now();
      await addGpuNodes(kc, nodesNow, nodes);
      if (nodesNow === 0) await addScalers(kc, S_ALL, S_SMALL, r);
      else await resetScalers(kc, S_ALL, r);
      exporter.setReplicas(r);
      // About PODS_PER_NODE pods per node in all: the scalers' GPU pods, then filler on the new nodes.
      const fillerPerNode = Math.max(0, Math.floor((PODS_PER_NODE * nodes - S_ALL * r - filler) / (nodes - nodesNow)));
      await addFillerPods(kc, nodesNow, nodes, fillerPerNode);
      filler += fillerPerNode * (nodes - nodesNow);
      podsNow = S_ALL * r + filler;
      nodesNow = nodes;
      await podsSettled(kc, podsNow, 1_800_000);
      say(`cluster: ${nodes} nodes, ${podsNow} pods (${S_ALL} Deployments x ${r} GPU pods, ${fillerPerNode} filler pods per new node) in ${((Date.now() - tc) / 1000).toFixed(0)} s`);
      for (const scalers of SCALERS) {
        await resetScalers(kc, S_ALL, r);
        await podsSettled(kc, podsNow, 600_000);
        // Let the series of the size before settle out of the rate windows and the caches.
        await sleep(10_000);
        for (const [k, { reads, signals, root }] of VARIANTS.entries()) {
          if (k > 0) {
            await resetScalers(kc, S_ALL, r);
            await podsSettled(kc, podsNow, 600_000);
          }
          await setSignalForm(kc, S_ALL, signals);
          const size = `${scalers} scalers / ${nodes} nodes, reads ${reads}, signals ${signals}${ROOTS.length > 1 ? `, code ${root === REPO_ROOT ? 'this tree' : basename(root)}` : ''}`;
          say(`measuring ${size}`);
          const res = await measureSize({ kube, kc, promUrl: prom.url, queryLog, saKubeconfig: sa.kubeconfig, username: sa.username, size, reads, signals, root, scalers, nodes, selector: scalers === S_ALL ? `${BENCH_LABEL}=1` : `${TIER_LABEL}=small`, dir: ctx.dir });
          results.push({ ...res, size, reads, signals, root, scalers, nodes, pods: podsNow });
          printSize(results[results.length - 1] as SizeResult);
        }
      }
    }
    printSummary(results);
    const out = args.out ?? join(ctx.dir, 'bench-scale.json');
    writeFileSync(out, JSON.stringify({ quick: QUICK, ticks: TICKS, intervalSeconds: INTERVAL, results }, null, 2));
    say(`every tick as JSON: ${out}; total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => process.stderr.write(`cleanup: ${String(err)}\n`));
  }
}

/** Turns on Prometheus's query log (one JSON line per query, with timings) and reloads it. */
async function enableQueryLog(url: string, dir: string): Promise<string> {
  const file = join(dir, 'prometheus.yml');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as { global: Record<string, unknown> };
  const log = join(dir, 'query.log');
  cfg.global.query_log_file = log;
  writeFileSync(file, JSON.stringify(cfg, null, 2));
  const res = await fetch(`${url}/-/reload`, { method: 'POST' });
  if (!res.ok) throw new Error(`Prometheus reload for the query log: HTTP ${res.status}`);
  return log;
}

async function measureSize(o: { kube: KubeHandle; kc: KubeConfig; promUrl: string; queryLog: string; saKubeconfig: string; username: string; size: string; reads: 'get' | 'cache'; signals: SignalForm; root: string; scalers: number; nodes: number; selector: string; dir: string }): Promise<Omit<SizeResult, 'size' | 'reads' | 'signals' | 'root' | 'scalers' | 'nodes' | 'pods'>> {
  // A Lease name must be an RFC 1123 subdomain: digits, letters and dashes.
  const id = `${o.scalers}-${o.nodes}-${o.reads}-${o.signals}${o.root === REPO_ROOT ? '' : '-peer'}`;
  const port = await freePort();
  const config = {
    listen: `127.0.0.1:${port}`,
    kubeconfig: o.saKubeconfig,
    logLevel: 'debug',
    scalerSelector: o.selector,
    intervalSeconds: INTERVAL,
    targetCache: o.reads === 'cache',
    identity: `bench-${id}`,
    leaderElection: { namespace: 'surgeguard', leaseName: `bench-${id}` },
    pauseConfigMap: { namespace: 'surgeguard', name: 'surgeguard-controller' },
    prometheus: { url: o.promUrl },
    // Healing decides but never acts: its node and pod watch caches are what it costs here.
    healing: { enabled: true, dryRun: true },
  };
  const cfgFile = join(o.dir, `controller-${id}.json`);
  writeFileSync(cfgFile, JSON.stringify(config));
  const audit = auditReader(o.kube.auditLog, o.username);
  audit.read(); // skip what came before
  const queries = queryLogReader(o.queryLog);
  queries.read();
  const logFile = join(o.dir, `controller-${id}.log`);
  const fd = openSync(logFile, 'w');
  const startedAt = Date.now();
  const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, controllerNodeOptions(o.root)].filter(Boolean).join(' ') };
  const child = spawn(process.execPath, [join(o.root, 'cli/surgeguard.ts'), 'controller', '--config', cfgFile], { stdio: ['ignore', 'ignore', fd], env });
  closeSync(fd);
  const pids = { controller: child.pid ?? 0, apiserver: o.kube.pid, etcd: o.kube.pids.etcd ?? 0 };
  const cpu = cpuSampler(pids);
  const log = lineTail(logFile);
  const calls: ApiCall[] = [];
  const qs: LoggedQuery[] = [];
  let allRequests: Array<[number, number]> = [];
  const drain = (): void => {
    const a = audit.read();
    calls.push(...a.calls);
    allRequests.push([Date.now(), a.allRequests]);
    qs.push(...queries.read());
  };
  const rows: TickRow[] = [];
  let startup: SizeResult['startup'] | undefined;
  let prevEnd = startedAt;
  let prevSum = 0;
  try {
    const deadline = Date.now() + (TICKS * INTERVAL + 600) * 1000;
    while (rows.length < TICKS) {
      if (Date.now() > deadline) throw new Error(`controller for ${o.size}: only ${rows.length} ticks before the deadline (log ${logFile})`);
      if (child.exitCode !== null) throw new Error(`controller for ${o.size} exited with ${child.exitCode} (log ${logFile})`);
      await sleep(200);
      drain();
      for (const line of log()) {
        if (!line.includes('"tick done"')) continue;
        const rec = JSON.parse(line) as { time: string; patched: number; phases: Record<string, number> };
        const endMs = Date.parse(rec.time);
        const scraped = await tickMetrics(port, rows.length + 1);
        const sum = scraped?.seconds;
        // The phases leave out only the scalers' first-time setup (backfill): the fallback when
        // the controller's /metrics did not answer (its under-pressure guard says 503 while its
        // event loop lags by more than 2 s).
        const wall = sum === undefined ? Object.values(rec.phases).reduce((a, b) => a + b, 0) : sum - prevSum;
        if (sum === undefined) process.stderr.write(`  the controller's /metrics did not answer for tick ${rows.length + 1}: its wall time is the sum of its phases\n`);
        prevSum = sum ?? prevSum + wall;
        const startMs = endMs - wall * 1000;
        await sleep(300); // the audit log is written as responses complete: let the last ones land
        drain();
        if (!startup) {
          const before = calls.filter((c) => c.atMs < startMs);
          startup = { seconds: (startMs - startedAt) / 1000, requests: countBy(before), rssMiB: cpu.rss('controller') / MIB };
        }
        const inTick = calls.filter((c) => c.atMs >= startMs - 50 && c.atMs <= endMs + 50);
        const interval = calls.filter((c) => c.atMs > prevEnd && c.atMs <= endMs);
        const tq = qs.filter((q) => q.atMs >= startMs - 50 && q.atMs <= endMs + 50);
        const demand = tq.filter((q) => q.query.includes('sg_bench_demand_rps'));
        const iq = qs.filter((q) => q.atMs > prevEnd && q.atMs <= endMs + 200 && !q.query.includes('sg_bench_demand_rps'));
        const allInInterval = allRequests.reduce((n, [, c]) => n + c, 0);
        allRequests = [];
        rows.push({
          size: o.size,
          tick: rows.length + 1,
          wallSeconds: wall,
          phases: rec.phases,
          patched: rec.patched,
          inTick: countBy(inTick),
          inTickTotal: inTick.length,
          perInterval: interval.length,
          apiserverPerInterval: allInInterval,
          demandQueries: demand.filter((q) => !q.range).length,
          demandQuerySeconds: demand.reduce((s, q) => s + q.seconds, 0),
          rangeQueries: demand.filter((q) => q.range).length,
          otherQueries: iq.length,
          controllerCpuInTick: cpu.cpuBetween('controller', startMs, endMs + 250),
          controllerCpuPerInterval: cpu.cpuBetween('controller', prevEnd, endMs),
          controllerRssMiB: cpu.rss('controller') / MIB,
          controllerHeapUsedMiB: (scraped?.heapUsed ?? NaN) / MIB,
          controllerHeapTotalMiB: (scraped?.heapTotal ?? NaN) / MIB,
          apiserverCpuInTick: cpu.cpuBetween('apiserver', startMs, endMs + 250),
          apiserverCpuPerInterval: cpu.cpuBetween('apiserver', prevEnd, endMs),
          apiserverRssMiB: cpu.rss('apiserver') / MIB,
          etcdRssMiB: cpu.rss('etcd') / MIB,
          intervalSeconds: (endMs - prevEnd) / 1000,
        });
        process.stderr.write(`  tick ${rows.length}: ${wall.toFixed(2)} s, ${inTick.length} requests, ${demand.length} demand queries, patched ${rec.patched}\n`);
        prevEnd = endMs;
        calls.splice(0, calls.findIndex((c) => c.atMs > endMs - 120_000) + 1 || 0);
      }
    }
  } finally {
    cpu.stop();
    await stopChild(child);
  }
  return { startup: startup ?? { seconds: 0, requests: {}, rssMiB: 0 }, ticks: rows };
}

/**
 * The controller's total tick seconds once its histogram counts `ticks` ticks, and its V8 heap
 * (bytes); undefined when /metrics keeps failing for 30 s.
 */
async function tickMetrics(port: number, ticks: number): Promise<{ seconds: number; heapUsed?: number; heapTotal?: number } | undefined> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => (r.ok ? r.text() : ''), () => '');
    const count = sampleOf(text, 'surgeguard_controller_tick_duration_seconds_count');
    const seconds = sampleOf(text, 'surgeguard_controller_tick_duration_seconds_sum');
    if (count !== undefined && count >= ticks && seconds !== undefined) return { seconds, heapUsed: sampleOf(text, 'nodejs_heap_size_used_bytes'), heapTotal: sampleOf(text, 'nodejs_heap_size_total_bytes') };
    await sleep(1000);
  }
  return undefined;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || !child.pid) return;
  await stopPid(child.pid, 20_000);
}

function countBy(calls: readonly ApiCall[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.what] = (out[c.what] ?? 0) + 1;
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function printSize(r: SizeResult): void {
  const out = process.stdout;
  out.write(`\n## ${r.size} (${r.pods} pods)\n\n`);
  out.write(`startup to first tick: ${r.startup.seconds.toFixed(1)} s, ${Object.values(r.startup.requests).reduce((a, b) => a + b, 0)} requests (${fmtCounts(r.startup.requests)}), RSS ${r.startup.rssMiB.toFixed(0)} MiB\n\n`);
  out.write('| tick | wall s | signals s | targets s | act s | patched | requests in tick | per interval (controller / all clients) | demand queries (Prometheus s) | range queries | other queries | controller CPU s (tick / interval) | controller RSS MiB | controller heap used / total MiB | API server CPU s (tick / interval) | API server RSS MiB | etcd RSS MiB |\n');
  out.write('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  for (const t of r.ticks) {
    out.write(`| ${t.tick} | ${t.wallSeconds.toFixed(2)} | ${(t.phases.signals ?? 0).toFixed(2)} | ${(t.phases.targets ?? 0).toFixed(2)} | ${(t.phases.act ?? 0).toFixed(2)} | ${t.patched} | ${t.inTickTotal} | ${t.perInterval} / ${t.apiserverPerInterval} | ${t.demandQueries} (${t.demandQuerySeconds.toFixed(2)}) | ${t.rangeQueries} | ${t.otherQueries} | ${t.controllerCpuInTick.toFixed(2)} / ${t.controllerCpuPerInterval.toFixed(2)} | ${t.controllerRssMiB.toFixed(0)} | ${t.controllerHeapUsedMiB.toFixed(0)} / ${t.controllerHeapTotalMiB.toFixed(0)} | ${t.apiserverCpuInTick.toFixed(2)} / ${t.apiserverCpuPerInterval.toFixed(2)} | ${t.apiserverRssMiB.toFixed(0)} | ${t.etcdRssMiB.toFixed(0)} |\n`);
  }
  const kinds = [...new Set(r.ticks.flatMap((t) => Object.keys(t.inTick)))].sort();
  out.write(`\nrequests in each tick by verb and resource:\n\n| verb resource | ${r.ticks.map((t) => `tick ${t.tick}`).join(' | ')} |\n|---|${r.ticks.map(() => '---:').join('|')}|\n`);
  for (const k of kinds) out.write(`| ${k} | ${r.ticks.map((t) => t.inTick[k] ?? 0).join(' | ')} |\n`);
}

function fmtCounts(c: Record<string, number>): string {
  return Object.entries(c).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v} ${k}`).join(', ');
}

/**
 * Median over ticks 3..n: the first backfills history (and usually runs before the Lease is
 * won), the second writes every status for the first time with an Event per condition.
 */
function steady(r: SizeResult): Record<string, number> {
  const later = r.ticks.length > 2 ? r.ticks.slice(2) : r.ticks;
  const m = (f: (t: TickRow) => number): number => median(later.map(f));
  return {
    wall: m((t) => t.wallSeconds),
    requests: m((t) => t.inTickTotal),
    patched: m((t) => t.patched),
    queries: m((t) => t.demandQueries),
    querySeconds: m((t) => t.demandQuerySeconds),
    ctlCpu: m((t) => t.controllerCpuPerInterval / t.intervalSeconds),
    ctlRss: Math.max(...r.ticks.map((t) => t.controllerRssMiB)),
    ctlHeap: Math.max(...r.ticks.map((t) => t.controllerHeapUsedMiB)),
    apiCpu: m((t) => t.apiserverCpuPerInterval / t.intervalSeconds),
    apiRss: Math.max(...r.ticks.map((t) => t.apiserverRssMiB)),
    firstWall: r.ticks[0]?.wallSeconds ?? NaN,
    firstRequests: r.ticks[0]?.inTickTotal ?? NaN,
  };
}

function printSummary(results: readonly SizeResult[]): void {
  const out = process.stdout;
  out.write('\n## Summary (median of ticks 3..n; RSS is the largest seen)\n\n');
  out.write('| size | pods | tick 1 wall s | tick 1 requests | wall s | requests in tick | patched | demand queries | Prometheus s | controller CPU (cores) | controller RSS MiB | controller heap used MiB | API server CPU (cores) | API server RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  const st = new Map(results.map((r) => [r.size, steady(r)]));
  for (const r of results) {
    const s = st.get(r.size) as Record<string, number>;
    out.write(`| ${r.size} | ${r.pods} | ${s.firstWall?.toFixed(2)} | ${s.firstRequests} | ${s.wall?.toFixed(2)} | ${s.requests} | ${s.patched} | ${s.queries} | ${s.querySeconds?.toFixed(2)} | ${s.ctlCpu?.toFixed(3)} | ${s.ctlRss?.toFixed(0)} | ${s.ctlHeap?.toFixed(0)} | ${s.apiCpu?.toFixed(3)} | ${s.apiRss?.toFixed(0)} |\n`);
  }
  const find = (sc: number, n: number, v: { reads: string; signals: string; root?: string }): Record<string, number> | undefined => {
    const root = v.root ?? REPO_ROOT;
    const r = results.find((x) => x.scalers === sc && x.nodes === n && x.reads === v.reads && x.signals === v.signals && x.root === root);
    return r ? st.get(r.size) : undefined;
  };
  const pairs: Array<[string, Record<string, number> | undefined, Record<string, number> | undefined]> = [];
  for (const { reads, signals: sg } of VARIANTS.filter((v) => v.root === REPO_ROOT)) {
    if (S_SMALL !== S_ALL) for (const n of NODES) pairs.push([`${S_ALL} vs ${S_SMALL} scalers at ${n} nodes, reads ${reads}, signals ${sg}`, find(S_ALL, n, { reads, signals: sg }), find(S_SMALL, n, { reads, signals: sg })]);
    if (NODES.length > 1) for (const sc of SCALERS) pairs.push([`${NODES[1]} vs ${NODES[0]} nodes at ${sc} scalers, reads ${reads}, signals ${sg}`, find(sc, NODES[1] ?? 0, { reads, signals: sg }), find(sc, NODES[0] ?? 0, { reads, signals: sg })]);
  }
  for (const sg of SIGNALS) if (READS.length === 2) for (const n of NODES) for (const sc of SCALERS) pairs.push([`cache vs get at ${sc} scalers / ${n} nodes, signals ${sg}`, find(sc, n, { reads: 'cache', signals: sg }), find(sc, n, { reads: 'get', signals: sg })]);
  for (const reads of READS) if (SIGNALS.length === 2) for (const n of NODES) for (const sc of SCALERS) pairs.push([`batch vs single at ${sc} scalers / ${n} nodes, reads ${reads}`, find(sc, n, { reads, signals: 'batch' }), find(sc, n, { reads, signals: 'single' })]);
  const peer = ROOTS[1];
  if (peer) for (const reads of READS) for (const sg of SIGNALS) for (const n of NODES) for (const sc of SCALERS) pairs.push([`this tree vs ${basename(peer)} at ${sc} scalers / ${n} nodes, reads ${reads}, signals ${sg}`, find(sc, n, { reads, signals: sg }), find(sc, n, { reads, signals: sg, root: peer })]);
  out.write('\n## Growth ratios\n\n| comparison | wall | tick 1 wall | requests in tick | demand queries | Prometheus s | controller CPU | controller RSS | controller heap | API server CPU | API server RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  const ratio = (a: number | undefined, b: number | undefined): string => (a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : 'n/a');
  for (const [name, a, b] of pairs) {
    if (!a || !b) continue;
    out.write(`| ${name} | ${ratio(a.wall, b.wall)} | ${ratio(a.firstWall, b.firstWall)} | ${ratio(a.requests, b.requests)} | ${ratio(a.queries, b.queries)} | ${ratio(a.querySeconds, b.querySeconds)} | ${ratio(a.ctlCpu, b.ctlCpu)} | ${ratio(a.ctlRss, b.ctlRss)} | ${ratio(a.ctlHeap, b.ctlHeap)} | ${ratio(a.apiCpu, b.apiCpu)} | ${ratio(a.apiRss, b.apiRss)} |\n`);
  }
}

await main();
