import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, freePort, run, startSupervised, stopPid, waitUntil } from './process.ts';
import { runContext, runSubdir, shared, type RunContext } from './run.ts';

export interface PrometheusInfo {
  readonly url: string;
  readonly pid: number;
  readonly log: string;
  /** Folder of file_sd target files; see addScrapeTarget. */
  readonly targetsDir: string;
}

/** A Prometheus started by startPrometheus: its TSDB folder too (a Thanos sidecar reads it). */
export interface OwnPrometheus extends PrometheusInfo {
  readonly dataDir: string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  scrapeIntervalSeconds?: number;
  evaluationIntervalSeconds?: number;
  ruleFiles?: string[];
  /** host:port of an Alertmanager to send alerts to. */
  alertmanager?: string;
  /** global.external_labels: a Thanos sidecar refuses a Prometheus without them. */
  externalLabels?: Record<string, string>;
}

/** Installs Prometheus, promtool and Alertmanager (Debian packages) when missing. */
export async function ensurePrometheusInstalled(): Promise<void> {
  await run('bash', [join(REPO_ROOT, 'scripts/install-prometheus.sh')]);
}

/** The Prometheus shared by the run: 1 s scrape, targets added by file discovery. */
export function sharedPrometheus(): Promise<PrometheusInfo> {
  return shared('prometheus', async (ctx) => {
    const p = await startPrometheus(ctx);
    return { url: p.url, pid: p.pid, log: p.log, targetsDir: p.targetsDir };
  });
}

/** Starts a Prometheus of the caller's own on 127.0.0.1. */
export async function startPrometheus(ctx: RunContext = runContext(), opts: PrometheusOptions = {}): Promise<OwnPrometheus> {
  await ensurePrometheusInstalled();
  const dir = runSubdir(ctx, 'prometheus');
  const targetsDir = join(dir, 'targets');
  mkdirSync(targetsDir);
  mkdirSync(join(dir, 'data'));
  const port = await freePort();
  const cfg = {
    global: { scrape_interval: `${opts.scrapeIntervalSeconds ?? 1}s`, evaluation_interval: `${opts.evaluationIntervalSeconds ?? 1}s`, scrape_timeout: `${opts.scrapeIntervalSeconds ?? 1}s`, ...(opts.externalLabels ? { external_labels: opts.externalLabels } : {}) },
    rule_files: opts.ruleFiles ?? [],
    ...(opts.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [opts.alertmanager] }] }] } } : {}),
    scrape_configs: [{ job_name: 'sg-test', file_sd_configs: [{ files: [`${targetsDir}/*.json`], refresh_interval: '1s' }] }],
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(cfg, null, 2));
  await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
  const log = join(dir, 'prometheus.log');
  const url = `http://127.0.0.1:${port}`;
  const { pid } = await startSupervised({
    cmd: 'prometheus',
    args: [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-lifecycle', '--log.level=warn'],
    log,
    pidFile: join(dir, 'pid'),
    ownerPid: ctx.ownerPid,
  });
  await waitUntil(`Prometheus at ${url}`, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), { timeoutMs: 60_000, pid, log });
  return { url, pid, log, targetsDir, dataDir: join(dir, 'data'), stop: () => stopPid(pid) };
}

/**
 * Adds a scrape target through file discovery. `labels` may set `__metrics_path__`. Prometheus
 * 2.42 applies discovery changes after its 5 s throttle, so expect the first sample then.
 */
export function addScrapeTarget(p: PrometheusInfo, name: string, address: string, labels: Record<string, string> = {}): void {
  const file = join(p.targetsDir, `${name}.json`);
  // Write then rename so that Prometheus never reads half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify([{ targets: [address], labels: { sg_target: name, ...labels } }]));
  renameSync(`${file}.tmp`, file);
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query; throws with Prometheus's own error text on a bad expression. */
export async function promQuery(url: string, expr: string): Promise<PromSample[]> {
  const res = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
  if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error ?? res.status}`);
  return body.data?.result ?? [];
}
