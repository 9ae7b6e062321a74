import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { createKafkaLagReader } from '../common/kafka-lag.ts';
import type { Logger } from '../common/logger.ts';
import type { MetricRegistry } from '../common/metrics.ts';
import { ErrorCode, SurgeGuardError, errorMessage } from '../common/errors.ts';
import { settlesWithin } from '../common/deadline.ts';
import { loadPolicyForecaster, defaultModelPath } from '../inference/index.ts';
import type { Forecaster } from '../inference/forecaster.ts';
import type { ControllerConfig } from './config.ts';
import type { PredictiveScaler } from './crd/predictive-scaler.ts';
import { kubeClusterReader, kubeClusterWriter } from './kube/cluster.ts';
import { createBufferActuator } from './capacity/capacity-buffer-actuator.ts';
import { kubeCapacityBufferClient } from './capacity/capacity-buffer-client.ts';
import { createPlaceholderActuator } from './capacity/placeholder-actuator.ts';
import { nodeClaimCache } from './capacity/nodeclaim-cache.ts';
import { comingNodeClaims } from './capacity/nodeclaims.ts';
import { kubePlaceholderClient } from './capacity/placeholder-client.ts';
import { createPlaceholderStage, type PlaceholderStage } from './capacity/placeholder-stage.ts';
import { kubeScaleClient } from './kube/scale-target.ts';
import { cachedScaleClient } from './kube/cached-scale.ts';
import { cachedPodStatsReader } from './kube/cached-pod-stats.ts';
import { kubeScalerCache, type ScalerCache } from './kube/scaler-cache.ts';
import { createLeaderElector, type LeaderElector } from './leader/elector.ts';
import { fenceWrites } from './leader/fence.ts';
import { kubeLeaseStore } from './leader/kube-lease-store.ts';
import { shardingActive } from './sharding/config.ts';
import type { ShardCoordinator } from './sharding/coordinator.ts';
import { shardFencedScale, shardFencedWriter, type ShardFenceDeps } from './sharding/fence.ts';
import { kubeShardCoordinator } from './sharding/kube-sharding.ts';
import { createScalerShards } from './sharding/shard-key.ts';
import { createDecisionLog, type DecisionLog } from './reconcile/decision-log.ts';
import { createScalingLoop, signalOf } from './reconcile/tick.ts';
import { buildControllerServer } from './server.ts';
import { startExternalMetrics } from './adapters/serve-external-metrics.ts';
import { startKedaScaler } from './adapters/keda-scaler.ts';
import { createAlertIntake } from './healing/alert-intake.ts';
import { createRemediationAudit, type RemediationAudit } from './healing/audit.ts';
import { builtinChecks } from './healing/checks/index.ts';
import { kubeHealingCluster } from './healing/cluster.ts';
import { clusterCaches } from './kube/cluster-caches.ts';
import { createHealingLoop } from './healing/loop.ts';
import { createOnCall } from './healing/oncall.ts';
import { kafkaDemandSource } from './signals/kafka-demand.ts';
import { prometheusApi, prometheusDemandSource, prometheusFetch, type PrometheusApi } from './signals/prometheus-demand.ts';
import { createBackfill, prometheusRangeStream } from './signals/backfill.ts';
import type { SignalSource } from './signals/signal.ts';

export interface ControllerDeps {
  logger: Logger;
  metrics: MetricRegistry;
  env: Readonly<Record<string, string | undefined>>;
  /** Injected for tests; loaded from the shipped model otherwise. */
  forecaster?: Forecaster;
}

export interface RunningController {
  server: FastifyInstance;
  elector: LeaderElector;
  cache: ScalerCache;
  decisions: DecisionLog;
  remediations: RemediationAudit;
  /** Where external.metrics.k8s.io listens, when `externalMetrics` is configured. */
  externalMetricsAddress?: string;
  /** Where the KEDA external scaler listens (HOST:PORT), when `keda` is configured. */
  kedaScalerAddress?: string;
  /** Resolves once everything stopped (after `stop` or the abort signal). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Loads a KubeConfig from a file, or the pod's ServiceAccount when none is given. Outside a pod
 * with no file, client-node would build a config for an API server that does not exist and the
 * controller would retry it for ever while its caches never sync: refuse at start instead.
 */
export function loadKubeConfig(file: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (file) {
    if (!existsSync(file)) throw new SurgeGuardError(ErrorCode.ConfigUnreadable, `kubeconfig ${file} does not exist (from --kubeconfig, KUBECONFIG or the config's kubeconfig)`, { details: { file } });
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new SurgeGuardError(ErrorCode.ConfigInvalid, `kubeconfig ${file} cannot be read: ${errorMessage(err)}`, { cause: err, details: { file } });
    }
    if (!kc.getCurrentCluster()) throw new SurgeGuardError(ErrorCode.ConfigInvalid, `kubeconfig ${file} names no current cluster (set current-context)`, { details: { file } });
    return kc;
  }
  if (!env.KUBERNETES_SERVICE_HOST) {
    throw new SurgeGuardError(ErrorCode.ConfigInvalid, 'no kubeconfig given and not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset): pass --kubeconfig FILE or set KUBECONFIG');
  }
  kc.loadFromCluster();
  return kc;
}

/**
 * Starts the controller: the PredictiveScaler cache, leader election, the scaling loop and
 * the HTTP server. Only the Lease holder writes; followers decide and serve, so a takeover
 * starts warm. Each stage below is a function of its own, in the order it runs: who may write,
 * where demand comes from, the clients and caches, the two loops, the servers, then running
 * and the bounded shutdown.
 */
export async function startController(deps: ControllerDeps, config: ControllerConfig, signal: AbortSignal): Promise<RunningController> {
  const kc = loadKubeConfig(config.kubeconfig, deps.env);
  const identity = config.identity ?? deps.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const elector = controllerElector(kc, identity, deps, config.leaderElection);
  // Sharded, each replica writes for the scalers of the shards it holds (a GPU pool's scalers share
  // one, so its owner computes the pool's whole budget); healing (and the leader gauge) stays with the
  // controller Lease above (docs/sharding.md). The schema refused placeholders with it.
  const sharding = shardingActive(config.sharding) ? kubeShardCoordinator(kc, { identity, logger: deps.logger, metrics: deps.metrics }, config.sharding) : undefined;
  const cache = kubeScalerCache(kc, deps.logger, config.scalerSelector);
  const decisions = createDecisionLog(config.decisionsKept);
  const demand = await demandInputs(deps, config);
  const clients = await clusterClients(kc, deps, config, { elector, identity, sharding, cache });
  const loop = scalingLoop(kc, deps, config, { clients, demand, decisions, elector });
  const healing = healingParts(kc, deps, config, { clients, prom: demand.prom, elector });
  const servers = await startServers(kc, deps, config, { clients, decisions, elector, healing });
  const stopper = new AbortController();
  const stopSignal = AbortSignal.any([signal, stopper.signal]);
  const running = await runLoops(deps, config, { clients, elector, sharding, loop, healing: healing.loop }, stopSignal);
  const done = shutdown(deps.logger, { running, clients, demand, healing, servers }, stopSignal);
  return {
    server: servers.server,
    elector,
    cache,
    decisions,
    remediations: healing.remediations,
    ...(servers.externalMetrics ? { externalMetricsAddress: servers.externalMetrics.address } : {}),
    ...(servers.keda ? { kedaScalerAddress: servers.keda.address } : {}),
    done,
    async stop() {
      stopper.abort();
      await done;
    },
  };
}

/** Where demand comes from and what forecasts it: Prometheus (and its start-up backfill), Kafka, the forecaster. */
interface DemandInputs {
  prom: PrometheusApi | undefined;
  backfill: ReturnType<typeof createBackfill> | undefined;
  signals: SignalSource[];
  forecaster: Forecaster;
}

async function demandInputs(deps: ControllerDeps, config: ControllerConfig): Promise<DemandInputs> {
  const { logger, metrics } = deps;
  const promFetch = config.prometheus ? prometheusFetch(config.prometheus, logger) : undefined;
  const prom: PrometheusApi | undefined = config.prometheus && promFetch ? prometheusApi(config.prometheus.url, config.prometheus.timeoutMs, promFetch) : undefined;
  // Start-up history: one streamed range query per batch query, one of its own for other signals (docs/scale.md).
  const backfill =
    prom && config.prometheus?.backfill ? createBackfill({ api: prom, rangeStream: prometheusRangeStream(config.prometheus.url, config.prometheus.timeoutMs, promFetch), now: Date.now, logger, metrics }) : undefined;
  const signals = demandSources(config.kafka, prom);
  const forecaster =
    deps.forecaster ??
    (await loadPolicyForecaster({ logger, metrics, readFile: async (p) => new Uint8Array(await readFile(p)) }, { forecaster: config.forecaster, modelPath: defaultModelPath(), providers: ['cuda', 'cpu'], minHistorySteps: 8 }));
  logger.info({ forecaster: forecaster.name, runsOn: forecaster.runsOn, version: forecaster.version }, 'forecaster ready');
  return { prom, backfill, signals, forecaster };
}

/** The API clients and watch caches, one of each kind, shared by the scaling and healing loops. */
interface ClusterClients {
  cache: ScalerCache;
  deployments: ReturnType<typeof clusterCaches>['deployments'];
  nodes: ReturnType<typeof clusterCaches>['nodes'];
  pods: ReturnType<typeof clusterCaches>['pods'];
  nodeClaims: Awaited<ReturnType<typeof nodeClaimCache>> | undefined;
  /** Whether the node and pod caches run (healing or placeholders on). */
  watchCluster: boolean;
  fence: Parameters<typeof fenceWrites>[3];
  scale: ReturnType<typeof kubeScaleClient>;
  writer: ReturnType<typeof kubeClusterWriter>;
  reader: ReturnType<typeof kubeClusterReader>;
  sharded: ReturnType<typeof shardedLoopClients> | undefined;
  comingClaims: () => ReturnType<typeof comingNodeClaims> | undefined;
}

async function clusterClients(
  kc: KubeConfig,
  deps: ControllerDeps,
  config: ControllerConfig,
  x: { elector: LeaderElector; identity: string; sharding: ShardCoordinator | undefined; cache: ScalerCache },
): Promise<ClusterClients> {
  const { logger, metrics } = deps;
  // Every write is fenced: asked again whether this replica leads right before it goes out.
  const fencedWrites = metrics.counter('surgeguard_controller_fenced_writes_total', 'Writes refused because this replica no longer held the Lease when they were about to go out, by client and method.', ['client', 'method']);
  const fence = {
    isLeader: () => x.elector.isLeader(),
    refused: (client: string, method: string) => {
      fencedWrites.inc({ client, method });
      logger.warn({ client, method, identity: x.identity }, 'write refused: this replica lost the Lease during the tick');
    },
  };
  // Deployment targets' scale from a watch cache: a tick then costs requests for the targets it
  // changes, not a GET per scaler (docs/scale.md).
  // Nodes and pods from watches, started only when healing or placeholders are on (the scaling
  // loop lists pods per target, not all of them); the healing loop and the GPU budget read them.
  // Every cache keeps only the fields read and lists in pages (kube/cluster-caches.ts).
  const { deployments, nodes, pods } = clusterCaches(kc, logger, { targetCache: config.targetCache, gpuNodeSelector: config.gpu.nodeSelector });
  const baseScale = deployments ? cachedScaleClient(kubeScaleClient(kc), deployments) : kubeScaleClient(kc);
  const sharded = x.sharding
    ? shardedLoopClients(x.sharding, { cache: x.cache, scale: baseScale, writer: kubeClusterWriter(kc), fencedWrites, logger, identity: x.identity, metrics, settleMs: config.sharding.leaseDurationSeconds * 1000 })
    : undefined;
  // The node and pod caches serve healing, the GPU budget and the placeholders: started when either is on.
  const watchCluster = config.healing.enabled || config.capacity.placeholders.enabled;
  // With the pod cache, a target's pod statistics are counted from it rather than listed per
  // scaler every few ticks (docs/scale.md).
  const reader = watchCluster ? cachedPodStatsReader(kubeClusterReader(kc), pods) : kubeClusterReader(kc);
  // Karpenter's NodeClaims as coming capacity: only with the node and pod caches, and only where served.
  const nodeClaims = config.capacity.nodeClaims.enabled && watchCluster ? await nodeClaimCache(kc, logger) : undefined;
  return {
    cache: x.cache,
    deployments,
    nodes,
    pods,
    nodeClaims,
    watchCluster,
    fence,
    scale: fenceWrites('scale', baseScale, ['setReplicas'], fence),
    writer: fenceWrites('status', kubeClusterWriter(kc), ['patchScalerStatus', 'event'], fence),
    reader,
    sharded,
    comingClaims: () => (nodeClaims?.synced() ? comingNodeClaims(nodeClaims.list(), Date.now()) : undefined),
  };
}

/** The scaling loop: read, forecast, decide and act each tick (reconcile/tick.ts), over the clients above. */
function scalingLoop(
  kc: KubeConfig,
  deps: ControllerDeps,
  config: ControllerConfig,
  x: { clients: ClusterClients; demand: DemandInputs; decisions: DecisionLog; elector: LeaderElector },
): ReturnType<typeof createScalingLoop> {
  const { logger, metrics } = deps;
  const { cache, sharded, nodes, pods, watchCluster, comingClaims } = x.clients;
  const { backfill, forecaster } = x.demand;
  const placeholders = config.capacity.placeholders.enabled ? placeholderStage(kc, { forecaster, writer: x.clients.writer, fence: x.clients.fence, logger, metrics }, config.capacity.placeholders) : undefined;
  return createScalingLoop(
    {
      scalers: sharded ? sharded.scalers : () => cache.list(),
      signals: x.demand.signals,
      forecaster,
      scale: sharded?.scale ?? x.clients.scale,
      reader: x.clients.reader,
      writer: sharded?.writer ?? x.clients.writer,
      // Sharded, the loop acts for the scalers it is given (those of the shards held); each write is fenced per shard.
      isLeader: sharded ? () => true : () => x.elector.isLeader(),
      now: Date.now,
      logger,
      metrics,
      decisions: x.decisions,
      ...(backfill ? { backfill: (s: PredictiveScaler, interval: number, n: number) => backfill.history({ namespace: s.metadata.namespace ?? '', name: s.metadata.name ?? '', signal: signalOf(s) }, interval, n) } : {}),
      ...(placeholders ? { placeholders } : {}),
      ...(watchCluster ? { gpuCluster: () => (nodes.synced() && pods.synced() ? { nodes: nodes.list(), pods: pods.list(), claims: comingClaims() ?? [] } : undefined) } : {}),
    },
    { intervalSeconds: config.intervalSeconds, historyIntervals: config.historyIntervals, pauseFlag: config.paused, pauseConfigMap: config.pauseConfigMap, podStatsEveryTicks: 4, forecasting: config.forecasting, forecastTimeScale: config.forecastTimeScale, statusRefreshSeconds: config.statusRefreshSeconds },
  );
}

/** The healing loop and what feeds it: Alertmanager's intake, the remediation audit, on-call delivery. */
interface HealingParts {
  loop: ReturnType<typeof createHealingLoop>;
  remediations: RemediationAudit;
  intake: ReturnType<typeof createAlertIntake>;
  oncall: ReturnType<typeof createOnCall>;
}

function healingParts(kc: KubeConfig, deps: ControllerDeps, config: ControllerConfig, x: { clients: ClusterClients; prom: PrometheusApi | undefined; elector: LeaderElector }): HealingParts {
  const { logger, metrics } = deps;
  const { cache, nodes, pods, fence, reader } = x.clients;
  const prom = x.prom;
  const remediations = createRemediationAudit({ logger, metrics, writer: x.clients.writer, eventNamespace: config.pauseConfigMap.namespace }, config.healing.entriesKept);
  const intake = createAlertIntake({ now: Date.now, isLeader: () => x.elector.isLeader(), metrics, logger });
  const oncall = createOnCall({ logger, metrics, fetch, readSecret: (f) => readFileSync(f, 'utf8').trim() }, config.healing.oncall);
  const loop = createHealingLoop(
    {
      cluster: fenceWrites('healing', kubeHealingCluster(kc, { namespace: config.pauseConfigMap.namespace, name: 'surgeguard-healing-ledger' }, { nodes, pods }), ['cordon', 'recordPhase', 'setNodeCondition', 'evict', 'setFloor', 'appendLedger'], fence),
      checks: [...builtinChecks(config.healing.checks, config.gpu.source), intake.check()],
      ...(prom ? { query: (expr: string) => prom.queryVector(expr) } : {}),
      audit: remediations,
      oncall,
      isLeader: () => x.elector.isLeader(),
      now: Date.now,
      logger,
      metrics,
      scalers: () => cache.list(),
      scale: x.clients.scale,
      readyPods: async (ns, selector) => (await reader.podStats(ns, selector)).ready,
      comingClaims: x.clients.comingClaims,
    },
    config.healing,
  );
  return { loop, remediations, intake, oncall };
}

/** The HTTP server (metrics, health, decisions, the alert webhook) and, when configured, the external metrics and KEDA servers. */
interface Servers {
  server: FastifyInstance;
  externalMetrics: Awaited<ReturnType<typeof startExternalMetrics>> | undefined;
  keda: Awaited<ReturnType<typeof startKedaScaler>> | undefined;
}

async function startServers(kc: KubeConfig, deps: ControllerDeps, config: ControllerConfig, x: { clients: ClusterClients; decisions: DecisionLog; elector: LeaderElector; healing: HealingParts }): Promise<Servers> {
  const { logger, metrics } = deps;
  const { cache, deployments, nodes, pods, watchCluster } = x.clients;
  const alertsReceived = metrics.counter('surgeguard_alerts_received_total', 'Alerts received from Alertmanager on /api/v1/alerts, by status.', ['status']);
  const token = config.api.tokenFile ? readFileSync(config.api.tokenFile, 'utf8').trim() : undefined;
  if (!token) logger.warn('no api.tokenFile configured: every /api/* request is refused with 401');
  const server = await buildControllerServer({
    registry: metrics,
    decisions: x.decisions,
    token,
    // Ready once every cache this replica needs has listed, not when a watch merely connected.
    ready: () => cache.synced() && (deployments?.synced() ?? true) && (!watchCluster || (nodes.synced() && pods.synced())),
    leader: () => x.elector.isLeader(),
    healing: {
      audit: x.healing.remediations,
      acceptAlerts: (body) => {
        const r = x.healing.intake.accept(body, Date.now());
        alertsReceived.inc({ status: 'firing' }, r.firing);
        alertsReceived.inc({ status: 'resolved' }, r.resolved);
        logger.info({ receiver: body.receiver, groupKey: body.groupKey, ...r }, 'alerts received from Alertmanager');
        return r;
      },
    },
    ...(config.api.tls ? { https: { cert: readFileSync(config.api.tls.certFile), key: readFileSync(config.api.tls.keyFile) } } : {}),
  });
  return { server, ...(await startAdapters(kc, deps, config, cache)) };
}

/** The HPA's external metrics API and the KEDA external scaler, each only when configured (adapters/). */
async function startAdapters(kc: KubeConfig, deps: ControllerDeps, config: ControllerConfig, cache: ScalerCache): Promise<Omit<Servers, 'server'>> {
  const { logger, metrics } = deps;
  const [emHost = '0.0.0.0', emPort = '6443'] = config.externalMetrics ? splitHostPort(config.externalMetrics.listen) : [];
  const externalMetrics = config.externalMetrics
    ? await startExternalMetrics(kc, { listen: { host: emHost, port: Number(emPort) }, certFile: config.externalMetrics.tls.certFile, keyFile: config.externalMetrics.tls.keyFile, staleAfterMs: config.externalMetrics.staleAfterSeconds * 1000 }, { scalers: () => cache.list(), logger, metrics })
    : undefined;

  const [kHost = '0.0.0.0', kPort = '9444'] = config.keda ? splitHostPort(config.keda.listen) : [];
  const keda = config.keda
    ? await startKedaScaler({ scalers: () => cache.list(), now: Date.now, staleAfterMs: config.keda.staleAfterSeconds * 1000, logger, metrics }, { host: kHost, port: Number(kPort) }, config.keda.tls)
    : undefined;
  if (config.keda && !config.keda.tls) logger.warn({ listen: config.keda.listen }, 'the KEDA external scaler speaks plaintext (no keda.tls): keep it inside the cluster network');
  return { externalMetrics, keda };
}

/** What runs until shutdown, with the handles that stop the election and the shard leases. */
interface RunningLoops {
  ticking: Promise<void>;
  healingLoop: Promise<void>;
  electing: Promise<void>;
  electionStop: AbortController;
  sharing: Promise<void> | undefined;
  shardingStop: AbortController;
}

/** Starts the caches, then the election and the shard leases, then the scaling and healing loops. */
async function runLoops(
  deps: ControllerDeps,
  config: ControllerConfig,
  x: { clients: ClusterClients; elector: LeaderElector; sharding: ShardCoordinator | undefined; loop: ReturnType<typeof createScalingLoop>; healing: ReturnType<typeof createHealingLoop> },
  stopSignal: AbortSignal,
): Promise<RunningLoops> {
  const { logger, metrics } = deps;
  const { cache, deployments, nodes, pods, nodeClaims, watchCluster } = x.clients;
  await cache.start();
  await deployments?.start();
  if (watchCluster) await Promise.all([nodes.start(), pods.start(), nodeClaims?.start()]);
  // The lease outlives the loops at shutdown: released only after the tick in flight has made
  // its last write (the scale and then the status that records it), so the next leader never
  // reads a target this replica set while its status still says otherwise.
  const electionStop = new AbortController();
  const electing = x.elector.run(electionStop.signal);
  const shardingStop = new AbortController();
  const sharing = x.sharding?.run(shardingStop.signal);
  const tickDuration = metrics.histogram('surgeguard_controller_tick_duration_seconds', 'Duration of whole scaling ticks.', [], [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30]);
  const ticking = everyInterval(config.intervalSeconds, stopSignal, async () => {
    if (!cache.synced()) return;
    const started = Date.now();
    try {
      const report = await x.loop.tick();
      tickDuration.observe((Date.now() - started) / 1000);
      logger.debug({ ...report, plans: undefined }, 'tick done');
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'scaling tick failed');
    }
  });
  const healingLoop = config.healing.enabled
    ? everyInterval(config.healing.intervalSeconds, stopSignal, async () => {
        if (!cache.synced()) return;
        try {
          const report = await x.healing.tick();
          if (report.leader) logger.debug({ findings: report.findings.length, fleetWide: report.fleetWide, checkErrors: report.checkErrors }, 'healing tick done');
        } catch (err) {
          logger.error({ err: errorMessage(err) }, 'healing tick failed');
        }
      })
    : Promise.resolve();
  return { ticking, healingLoop, electing, electionStop, sharing, shardingStop };
}

/**
 * Waits for the stop request, then stops everything in order: the loops, the leases, on-call
 * deliveries, the caches, the demand sources, the forecaster and the servers. Each step of
 * shutdown gets a bound: a request stuck on a dead connection must not keep the pod past its
 * grace period. The lease release is the one step worth waiting a little for.
 */
async function shutdown(logger: Logger, x: { running: RunningLoops; clients: ClusterClients; demand: DemandInputs; healing: HealingParts; servers: Servers }, stopSignal: AbortSignal): Promise<void> {
  const step = async (what: string, ms: number, work: () => Promise<unknown>): Promise<void> => {
    if (!(await settlesWithin(work().catch(() => undefined), ms))) logger.warn({ step: what, waitedMs: ms }, 'shutdown step did not finish in time; leaving it');
  };
  const { running, clients, servers } = x;
  // Taken out once so TypeScript narrows each optional handle where it is checked.
  const { sharing } = running;
  const { deployments } = clients;
  const { externalMetrics, keda } = servers;
  // The bounds below count from the stop request, not from start.
  if (!stopSignal.aborted) await new Promise((resolve) => stopSignal.addEventListener('abort', resolve, { once: true }));
  await step('scaling loop', 10_000, () => running.ticking);
  await step('healing loop', 10_000, () => running.healingLoop);
  running.electionStop.abort();
  running.shardingStop.abort();
  const released = step('leader election', 5_000, () => running.electing);
  const shardsReleased = sharing ? step('shard leases', 5_000, () => sharing) : Promise.resolve();
  await step('on-call deliveries', 5_000, () => x.healing.oncall.flush(5_000));
  await released;
  await shardsReleased;
  await step('scaler cache', 3_000, () => clients.cache.stop());
  if (deployments) await step('deployment cache', 3_000, () => deployments.stop());
  if (clients.watchCluster) await step('node and pod caches', 3_000, () => Promise.all([clients.nodes.stop(), clients.pods.stop(), clients.nodeClaims?.stop()]));
  for (const s of x.demand.signals) await step('demand signal', 3_000, () => s.close());
  await step('forecaster', 3_000, () => x.demand.forecaster.close());
  await step('http server', 5_000, () => servers.server.close());
  if (externalMetrics) await step('external metrics server', 3_000, () => externalMetrics.close());
  if (keda) await step('KEDA external scaler', 3_000, () => keda.close());
}

/** The controller Lease's elector (or a stand-in that always leads), with the leader gauge and transitions counter. */
function controllerElector(kc: KubeConfig, identity: string, x: { logger: Logger; metrics: MetricRegistry }, config: ControllerConfig['leaderElection']): LeaderElector {
  const leaderGauge = x.metrics.gauge('surgeguard_controller_leader', '1 while this replica holds the controller Lease.');
  const transitions = x.metrics.counter('surgeguard_controller_leader_transitions_total', 'Times this replica started or stopped leading.');
  if (!config.enabled) {
    leaderGauge.set(1);
    return alwaysLeader(identity);
  }
  return createLeaderElector(
    {
      store: kubeLeaseStore(kc, config.namespace, config.leaseName),
      logger: x.logger,
      onChange: (leading) => {
        leaderGauge.set(leading ? 1 : 0);
        transitions.inc();
      },
    },
    { identity, ...config },
  );
}

/** The demand sources: Kafka consumer lag (its client made per tick for the groups asked) and Prometheus. */
function demandSources(kafkaCfg: ControllerConfig['kafka'], prom: PrometheusApi | undefined): SignalSource[] {
  return [
    kafkaDemandSource({
      reader: (groups) => {
        if (!kafkaCfg) throw new Error('the controller has no kafka.brokers configured');
        return createKafkaLagReader({
          brokers: kafkaCfg.brokers,
          clientId: kafkaCfg.clientId,
          groupPattern: new RegExp(`^(${groups.map(escapeRegExp).join('|')})$`),
          requestTimeoutMs: kafkaCfg.requestTimeoutMs,
          ...(kafkaCfg.tls ? { tls: { ca: readOpt(kafkaCfg.tls.caFile), cert: readOpt(kafkaCfg.tls.certFile), key: readOpt(kafkaCfg.tls.keyFile) } } : {}),
          ...(kafkaCfg.sasl ? { sasl: { mechanism: kafkaCfg.sasl.mechanism, username: kafkaCfg.sasl.username, password: readFileSync(kafkaCfg.sasl.passwordFile, 'utf8').trim() } } : {}),
        });
      },
    }),
    prometheusDemandSource(prom),
  ];
}

/**
 * Runs `work` every `seconds` until `stop`, counting each period from the start of the run before
 * it (a slow run shortens the wait, never stacks runs). The scaling and healing loops both run so.
 */
async function everyInterval(seconds: number, stop: AbortSignal, work: () => Promise<void>): Promise<void> {
  while (!stop.aborted) {
    const started = Date.now();
    await work();
    await sleep(Math.max(0, seconds * 1000 - (Date.now() - started)), undefined, { signal: stop }).catch(() => undefined);
  }
}

/**
 * The placeholder stage with its API client: creates and deletes are fenced like every other write,
 * and its Events go through the scaling loop's (fenced) writer.
 */
function placeholderStage(kc: KubeConfig, x: { forecaster: Forecaster; writer: ReturnType<typeof kubeClusterWriter>; fence: Parameters<typeof fenceWrites>[3]; logger: Logger; metrics: MetricRegistry }, config: ControllerConfig['capacity']['placeholders']): PlaceholderStage {
  const client = fenceWrites('placeholders', kubePlaceholderClient(kc), ['create', 'delete'], x.fence);
  const event: Parameters<typeof createPlaceholderActuator>[0]['event'] = (obj, type, reason, message) => x.writer.event(obj, type, reason, message);
  const actuator = createPlaceholderActuator({ client, event, logger: x.logger, metrics: x.metrics }, config);
  // The CapacityBuffer client only where a pool may be held by one: discovery is not run otherwise.
  const bufferClient = config.pools.some((p) => p.mode !== 'pods') ? fenceWrites('capacityBuffers', kubeCapacityBufferClient(kc), ['write', 'writeTemplate', 'delete'], x.fence) : undefined;
  const buffers = bufferClient ? { client: bufferClient, actuator: createBufferActuator({ client: bufferClient, event, logger: x.logger, metrics: x.metrics }, config) } : undefined;
  return createPlaceholderStage({ client, actuator, forecaster: x.forecaster, logger: x.logger, metrics: x.metrics, ...(buffers ? { buffers } : {}) }, config);
}

/**
 * The scaling loop's view and clients when sharded: only the scalers of the shards this replica
 * holds, and the scale and status writes fenced per shard instead of by the controller Lease.
 */
function shardedLoopClients(
  sharding: ShardCoordinator,
  x: { cache: ScalerCache; scale: ReturnType<typeof kubeScaleClient>; writer: ReturnType<typeof kubeClusterWriter>; fencedWrites: ReturnType<MetricRegistry['counter']>; logger: Logger; identity: string; metrics: MetricRegistry; settleMs: number },
): { scalers: () => PredictiveScaler[]; scale: ReturnType<typeof kubeScaleClient>; writer: ReturnType<typeof kubeClusterWriter> } {
  const owned = x.metrics.gauge('surgeguard_sharding_scalers_owned', 'Scalers in the shards this replica holds (it acts for these only), at the last tick.');
  const keyOf = (s: PredictiveScaler): string => `${s.metadata.namespace}/${s.metadata.name}`;
  // A scaler's shard follows its GPU pool (shard-key.ts); a pool change hands it over after a lease duration.
  const shards = createScalerShards({ coordinator: sharding, lookup: (namespace, name) => x.cache.get(name, namespace), now: Date.now }, { settleMs: x.settleMs });
  const deps: ShardFenceDeps = {
    coordinator: shards,
    scalerOfTarget: (ref) => {
      const named = x.cache.list(ref.namespace).filter((s) => s.spec.targetRef.kind === ref.kind && s.spec.targetRef.name === ref.name);
      const s = named.find((n) => shards.owns(n)) ?? named[0];
      return s && keyOf(s);
    },
    refused: (client, method, scaler) => {
      x.fencedWrites.inc({ client, method });
      x.logger.warn({ client, method, scaler, shard: shards.shardOf(scaler), identity: x.identity }, 'write refused: this replica does not hold the shard');
    },
  };
  return {
    scalers: () => {
      const all = x.cache.list();
      shards.sync(all);
      const mine = all.filter((s) => shards.owns(s));
      owned.set(mine.length);
      return mine;
    },
    scale: shardFencedScale(x.scale, deps),
    writer: shardFencedWriter(x.writer, deps),
  };
}

function alwaysLeader(identity: string): LeaderElector {
  return { identity: () => identity, isLeader: () => true, run: (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })) };
}

function readOpt(file: string | undefined): Buffer | undefined {
  return file ? readFileSync(file) : undefined;
}

function splitHostPort(hp: string): [string, string] {
  const i = hp.lastIndexOf(':');
  return [hp.slice(0, i), hp.slice(i + 1)];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
