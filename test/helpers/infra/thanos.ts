// Thanos in front of real Prometheus servers, for the test that the controller's Prometheus reads
// work unchanged against Thanos Query (test/integration/controller/thanos.test.ts). The `thanos`
// binary is built from the Go module proxy by scripts/build-thanos.sh. A sidecar runs next to each
// Prometheus (its Store API over gRPC, reading Prometheus's HTTP API and TSDB folder), and a
// querier serves Prometheus's HTTP query API over the sidecars it is given as endpoints. All on
// 127.0.0.1 with free ports, in the run's folder; stop() ends each process.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, freePort, run, startSupervised, stopPid, waitUntil } from './process.ts';
import type { OwnPrometheus } from './prometheus.ts';
import { runContext, runSubdir, type RunContext } from './run.ts';

/** A Thanos component process. */
export interface ThanosProcess {
  /** http://127.0.0.1:PORT: its HTTP server (the querier's query API; /-/ready, /metrics). */
  readonly url: string;
  /** 127.0.0.1:PORT: its gRPC server (a sidecar's Store API, which a querier takes as an endpoint). */
  readonly grpc: string;
  readonly pid: number;
  readonly log: string;
  stop(): Promise<void>;
}

export interface ThanosQueryOptions {
  /** --query.replica-label: external labels that differ between replicas of one Prometheus. */
  readonly replicaLabels?: readonly string[];
  /**
   * `strict: true` on each endpoint: the querier keeps an endpoint whose health check fails in the
   * set it asks, instead of dropping it (and then answering without its series).
   */
  readonly strict?: boolean;
}

/** Builds (or finds in the cache) the thanos binary; returns its path. */
export async function ensureThanosBuilt(): Promise<string> {
  const out = await run('bash', [join(REPO_ROOT, 'scripts/build-thanos.sh')]);
  const dir = out.trim().split('\n').pop() ?? '';
  const bin = join(dir, 'thanos');
  if (!existsSync(bin)) throw new Error(`THANOS_BUILD: scripts/build-thanos.sh printed ${JSON.stringify(dir)}, which holds no thanos`);
  return bin;
}

/** Starts `thanos sidecar` next to `prom` (which must have external labels); resolves once ready. */
export async function startThanosSidecar(prom: Pick<OwnPrometheus, 'url' | 'dataDir'>, ctx: RunContext = runContext()): Promise<ThanosProcess> {
  return startThanos('sidecar', [`--prometheus.url=${prom.url}`, `--tsdb.path=${prom.dataDir}`], ctx);
}

/**
 * Starts `thanos query` over the given Store API endpoints (host:port); resolves once each of them
 * is in the querier's store set, so that a query right after sees every endpoint's series.
 */
export async function startThanosQuery(endpoints: readonly string[], opts: ThanosQueryOptions = {}, ctx: RunContext = runContext()): Promise<ThanosProcess> {
  // --endpoint.sd-config (JSON is YAML): --endpoint and --endpoint-strict are deprecated in v0.42.
  const sd = { endpoints: endpoints.map((address) => ({ address, ...(opts.strict ? { strict: true } : {}) })) };
  const args = [`--endpoint.sd-config=${JSON.stringify(sd)}`, ...(opts.replicaLabels ?? []).map((l) => `--query.replica-label=${l}`)];
  const q = await startThanos('query', args, ctx);
  await waitUntil(`Thanos Query to see ${endpoints.join(', ')}`, async () => ((await storeAddresses(q.url)).length >= endpoints.length ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, pid: q.pid, log: q.log });
  return q;
}

/** The healthy endpoints a querier asks (/api/v1/stores lists them by type). */
export async function storeAddresses(queryUrl: string): Promise<string[]> {
  const body = (await (await fetch(`${queryUrl}/api/v1/stores`)).json()) as { data?: Record<string, Array<{ name: string; lastError?: string | null }> | null> };
  return Object.values(body.data ?? {})
    .flatMap((list) => list ?? [])
    .filter((s) => !s.lastError)
    .map((s) => s.name);
}

async function startThanos(component: 'sidecar' | 'query', args: readonly string[], ctx: RunContext): Promise<ThanosProcess> {
  const bin = await ensureThanosBuilt();
  const dir = runSubdir(ctx, `thanos-${component}`);
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const log = join(dir, `${component}.log`);
  const url = `http://127.0.0.1:${httpPort}`;
  const { pid } = await startSupervised({
    cmd: bin,
    args: [component, `--http-address=127.0.0.1:${httpPort}`, `--grpc-address=127.0.0.1:${grpcPort}`, '--log.level=info', ...args],
    log,
    pidFile: join(dir, 'pid'),
    ownerPid: ctx.ownerPid,
    cwd: dir,
  });
  await waitUntil(`thanos ${component} at ${url}`, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, pid, log });
  return { url, grpc: `127.0.0.1:${grpcPort}`, pid, log, stop: () => stopPid(pid) };
}
