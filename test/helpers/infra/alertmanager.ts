import { mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, run, startSupervised, stopPid, waitUntil } from './process.ts';
import { ensurePrometheusInstalled } from './prometheus.ts';
import { runContext, runSubdir, shared, withLock, type RunContext } from './run.ts';

export interface AlertmanagerInfo {
  readonly url: string;
  /** host:port, for a Prometheus `alerting` block. */
  readonly address: string;
  readonly pid: number;
  readonly log: string;
  readonly dir: string;
}

/** The Alertmanager shared by the run; each test file routes its alerts with addReceiver. */
export function sharedAlertmanager(): Promise<AlertmanagerInfo> {
  return shared('alertmanager', async (ctx) => {
    const a = await startAlertmanager(ctx);
    return { url: a.url, address: a.address, pid: a.pid, log: a.log, dir: a.dir };
  });
}

export async function startAlertmanager(ctx: RunContext = runContext()): Promise<AlertmanagerInfo & { stop(): Promise<void> }> {
  await ensurePrometheusInstalled();
  const dir = runSubdir(ctx, 'alertmanager');
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'receivers'));
  writeFileSync(join(dir, 'alertmanager.yml'), renderConfig(dir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = join(dir, 'alertmanager.log');
  const { pid } = await startSupervised({
    cmd: 'prometheus-alertmanager',
    // An empty cluster address turns off HA gossip, which would otherwise bind 0.0.0.0:9094.
    args: [`--config.file=${dir}/alertmanager.yml`, `--storage.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
    log,
    pidFile: join(dir, 'pid'),
    ownerPid: ctx.ownerPid,
  });
  await waitUntil(`Alertmanager at ${url}`, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), { timeoutMs: 60_000, pid, log });
  return { url, address: `127.0.0.1:${port}`, pid, log, dir, stop: () => stopPid(pid) };
}

/**
 * Routes alerts labelled `sg_receiver="<name>"` to a webhook URL, with short group waits so
 * tests see deliveries within seconds, and reloads Alertmanager.
 */
export async function addReceiver(am: AlertmanagerInfo, name: string, webhookUrl: string, opts: { bearerToken?: string; repeatInterval?: string } = {}): Promise<void> {
  await withLock({ dir: am.dir, ownerPid: 0 }, 'config', async () => {
    writeFileSync(join(am.dir, 'receivers', `${name}.json`), JSON.stringify({ name, url: webhookUrl, ...opts }));
    writeFileSync(join(am.dir, 'alertmanager.yml'), renderConfig(am.dir));
    await run('amtool', ['check-config', join(am.dir, 'alertmanager.yml')]);
    const res = await fetch(`${am.url}/-/reload`, { method: 'POST' });
    if (!res.ok) throw new Error(`Alertmanager reload failed: ${res.status} ${await res.text()}`);
  });
}

function renderConfig(dir: string): string {
  const receivers = readdirSync(join(dir, 'receivers'))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, 'receivers', f), 'utf8')) as { name: string; url: string; bearerToken?: string; repeatInterval?: string });
  const timing = { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' };
  return JSON.stringify(
    {
      route: {
        receiver: 'discard',
        group_by: ['alertname'],
        ...timing,
        routes: receivers.map((r) => ({ receiver: r.name, matchers: [`sg_receiver="${r.name}"`], ...timing, ...(r.repeatInterval ? { repeat_interval: r.repeatInterval } : {}) })),
      },
      receivers: [
        { name: 'discard' },
        ...receivers.map((r) => ({ name: r.name, webhook_configs: [{ url: r.url, send_resolved: true, ...(r.bearerToken ? { http_config: { authorization: { credentials: r.bearerToken } } } : {}) }] })),
      ],
    },
    null,
    2,
  );
}

/** A webhook that {@link routeEveryAlertTo} sends every alert to. */
export interface WebhookTarget {
  readonly name: string;
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` (the controller's `/api/v1/alerts` needs it). */
  readonly bearerToken?: string;
}

/**
 * Replaces the whole configuration of an Alertmanager the caller owns so that every alert goes
 * to every one of `targets` (one route each, `continue: true`), with 1 s group waits so tests see
 * deliveries within seconds, and reloads it. Not for the shared Alertmanager: a later
 * addReceiver on the same instance writes its own configuration over this one.
 */
export async function routeEveryAlertTo(am: AlertmanagerInfo, targets: readonly WebhookTarget[]): Promise<void> {
  const timing = { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' };
  const config = {
    route: {
      receiver: 'discard',
      group_by: ['alertname'],
      ...timing,
      routes: targets.map((t) => ({ receiver: t.name, continue: true, ...timing })),
    },
    receivers: [
      { name: 'discard' },
      ...targets.map((t) => ({ name: t.name, webhook_configs: [{ url: t.url, send_resolved: true, ...(t.bearerToken ? { http_config: { authorization: { credentials: t.bearerToken } } } : {}) }] })),
    ],
  };
  const file = join(am.dir, 'alertmanager.yml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  await run('amtool', ['check-config', file]);
  const res = await fetch(`${am.url}/-/reload`, { method: 'POST' });
  if (!res.ok) throw new Error(`Alertmanager reload failed: ${res.status} ${await res.text()}`);
}
