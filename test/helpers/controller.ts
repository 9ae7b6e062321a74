import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { controllerConfigSchema, type ControllerConfig } from '../../controller/config.ts';
import { startController, type RunningController } from '../../controller/controller.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetricRegistry, type MetricRegistry } from '../../common/metrics.ts';
import type { Forecaster } from '../../inference/forecaster.ts';
import { join } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../controller/crd/predictive-scaler.ts';
import { REPO_ROOT, waitUntil } from './infra/process.ts';
import { applyManifests, parseManifests } from './kube-apply.ts';

/** Installs the shipped CRD file (deploy/controller/crd.yaml) and waits until it is served. */
export async function installCrd(kc: KubeConfig): Promise<void> {
  const objects = parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/crd.yaml'), 'utf8')) as KubernetesObject[];
  await applyManifests(kc, objects);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await waitUntil('PredictiveScaler CRD established', async () => {
    const crd = await api.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  }, { timeoutMs: 30_000 });
}


/** Creates a PredictiveScaler (metadata and spec as given) through the API server. */
export async function createScaler(kc: KubeConfig, metadata: { name: string; namespace: string; labels?: Record<string, string> }, spec: Record<string, unknown>): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: metadata.namespace,
    plural: PLURAL,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PredictiveScaler', metadata, spec },
  });
}

export interface TestController extends RunningController {
  metrics: MetricRegistry;
  config: ControllerConfig;
  /** Every log line the controller wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  token: string;
  url: string;
}

/**
 * Runs the real controller in this process against the test cluster: short intervals and
 * lease times so that tests finish in seconds, a private Lease, and logs kept for assertions.
 */
export async function startTestController(opts: {
  kubeconfig: string;
  namespace: string;
  identity: string;
  kafkaBrokers?: string[];
  prometheusUrl?: string;
  forecaster?: Forecaster;
  intervalSeconds?: number;
  overrides?: Record<string, unknown>;
}): Promise<TestController> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-ctl-'));
  const token = `t-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'token'), token);
  const config = controllerConfigSchema.parse({
    listen: '127.0.0.1:0',
    kubeconfig: opts.kubeconfig,
    intervalSeconds: opts.intervalSeconds ?? 1,
    identity: opts.identity,
    leaderElection: { namespace: opts.namespace, leaseName: 'surgeguard-controller', leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 },
    // Each test controller has its own pause switch, so pausing one never pauses another file's.
    pauseConfigMap: { namespace: opts.namespace, name: `pause-${opts.identity}` },
    api: { tokenFile: join(dir, 'token') },
    ...(opts.kafkaBrokers ? { kafka: { brokers: opts.kafkaBrokers, requestTimeoutMs: 3000 } } : {}),
    ...(opts.prometheusUrl ? { prometheus: { url: opts.prometheusUrl } } : {}),
    // The healing loop evicts and cordons: only the tests about it turn it on.
    healing: { enabled: false },
    ...opts.overrides,
  });
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      // SG_TEST_CONTROLLER_LOG=<file>: also keep the raw lines, for a failure that needs them.
      if (process.env.SG_TEST_CONTROLLER_LOG) appendFileSync(process.env.SG_TEST_CONTROLLER_LOG, chunk);
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', component: 'controller', destination: sink });
  const metrics = createMetricRegistry();
  const stop = new AbortController();
  const c = await startController({ logger, metrics, env: {}, ...(opts.forecaster ? { forecaster: opts.forecaster } : {}) }, config, stop.signal);
  const url = await c.server.listen({ host: '127.0.0.1', port: 0 });
  return { ...c, metrics, config, logs, token, url };
}

/** Installs the Prometheus Operator's published ServiceMonitor and PrometheusRule CRDs. */
export async function installMonitoringCrds(kc: KubeConfig): Promise<void> {
  const { run } = await import('./infra/process.ts');
  const dir = (await run('bash', [join(REPO_ROOT, 'scripts/fetch-monitoring-crds.sh')])).trim().split('\n').pop() ?? '';
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const file of ['monitoring.coreos.com_servicemonitors.yaml', 'monitoring.coreos.com_prometheusrules.yaml']) {
    const objects = parseManifests(readFileSync(join(dir, file), 'utf8'));
    await applyManifests(kc, objects);
    const name = objects[0]?.metadata?.name ?? '';
    await waitUntil(`CRD ${name} established`, async () => {
      const crd = await api.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    }, { timeoutMs: 30_000 });
  }
}
