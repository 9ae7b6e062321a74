// Issue 15, item 5, against a real Alertmanager: two controller replicas behind one "Service"
// (a TCP proxy that, like kube-proxy, picks a backend per connection, starting with the
// standby). The standby must not swallow the delivery: it answers 503 with Connection: close,
// Alertmanager retries on a new connection, and the alert reaches the leader's healing loop.
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createMetricRegistry, type MetricRegistry } from '../../../common/metrics.ts';
import { silentLogger } from '../../../common/logger.ts';
import { createAlertIntake, type AlertIntake, type AlertmanagerWebhook } from '../../../controller/healing/alert-intake.ts';
import { createRemediationAudit } from '../../../controller/healing/audit.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { buildControllerServer } from '../../../controller/server.ts';
import { addReceiver, sharedAlertmanager, type AlertmanagerInfo } from '../../helpers/infra/alertmanager.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';

const TOKEN = 'faults-healing-token';
const RECEIVER = `faults-healing-${process.pid}`;
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
after(() => runCleanups(cleanups));

interface Replica {
  name: string;
  app: FastifyInstance;
  port: number;
  intake: AlertIntake;
  metrics: MetricRegistry;
  bodies: AlertmanagerWebhook[];
  skewMs: number;
}

async function replica(name: string, leader: boolean): Promise<Replica> {
  const metrics = createMetricRegistry();
  const r: Partial<Replica> & { bodies: AlertmanagerWebhook[]; skewMs: number } = { name, metrics, bodies: [], skewMs: 0 };
  const intake = createAlertIntake({ now: () => Date.now() + r.skewMs, isLeader: () => leader, metrics, logger: silentLogger() });
  const audit = createRemediationAudit({ logger: silentLogger(), metrics, writer: { patchScalerStatus: async () => undefined, event: async () => undefined }, eventNamespace: 'surgeguard' }, 10);
  const app = await buildControllerServer({
    registry: metrics,
    decisions: createDecisionLog(10),
    token: TOKEN,
    ready: () => true,
    leader: () => leader,
    healing: {
      audit,
      acceptAlerts: (b) => {
        r.bodies.push(b);
        return intake.accept(b, Date.now());
      },
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push({ what: `replica ${name}`, run: () => app.close() });
  return Object.assign(r, { app, intake, port: (app.server.address() as AddressInfo).port }) as Replica;
}

/** One address in front of several backends, a backend per connection in turn (kube-proxy's unit of balancing). */
async function serviceProxy(backends: readonly Replica[]): Promise<{ port: number; connections: Map<string, number> }> {
  const connections = new Map<string, number>();
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const b = backends[next++ % backends.length] as Replica;
    connections.set(b.name, (connections.get(b.name) ?? 0) + 1);
    const upstream = connect(b.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined); // a peer closing first is expected here
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push({
    what: 'service proxy',
    run: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  });
  return { port: (server.address() as AddressInfo).port, connections };
}

let am: AlertmanagerInfo;
before(async () => {
  // Fails (does not skip) when Alertmanager cannot be installed or started.
  am = await sharedAlertmanager();
});

test('Alertmanager -> Service -> standby first: the standby answers 503, the retry reaches the leader, and the firing alert stays firing (endsAt 0001-01-01)', async () => {
  const standby = await replica('standby', false);
  const leader = await replica('leader', true);
  const service = await serviceProxy([standby, leader]);
  await addReceiver(am, RECEIVER, `http://127.0.0.1:${service.port}/api/v1/alerts`, { bearerToken: TOKEN });

  const res = await fetch(`${am.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // No endsAt: Alertmanager sends the alert as firing until told otherwise.
    body: JSON.stringify([{ labels: { alertname: 'SurgeGuardGpuXidCritical', severity: 'critical', node: 'gpu-9', sg_receiver: RECEIVER }, annotations: { summary: 'XID 79 on gpu-9' } }]),
  });
  assert.equal(res.status, 200, await res.text());

  const findings = await waitUntil(
    'the alert on the leader',
    async () => {
      const f = await leader.intake.check().run({ nowMs: Date.now(), nodes: [], pods: [] });
      return f.length > 0 ? f : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; the standby received ${standby.bodies.length} deliveries and answered ${standby.bodies.length ? 'them' : 'none'}; connections ${JSON.stringify(Object.fromEntries(service.connections))}`);
  });
  assert.equal(findings[0]?.target.name, 'gpu-9');
  assert.equal(findings[0]?.fault, 'fatal');

  // The standby was asked first and refused: nothing kept there, one refusal counted.
  assert.ok(standby.bodies.length >= 1, 'the proxy sent the first connection to the standby, which never saw a delivery');
  assert.deepEqual(await standby.intake.check().run({ nowMs: Date.now(), nodes: [], pods: [] }), []);
  assert.match((await standby.metrics.render(false)).body, /surgeguard_alerts_refused_total\{reason="not_leader"\} [1-9]/);
  assert.ok((service.connections.get('leader') ?? 0) >= 1);

  // What Alertmanager sends for a firing alert: the zero time, read as "no end".
  const endsAt = leader.bodies[0]?.alerts[0]?.endsAt;
  assert.equal(endsAt, '0001-01-01T00:00:00Z', `Alertmanager sent endsAt ${String(endsAt)}`);
  leader.skewMs = 30 * 86_400_000;
  assert.equal((await leader.intake.check().run({ nowMs: 0, nodes: [], pods: [] })).length, 1, 'a firing alert with the zero endsAt expired');

  // Resolve it so the shared Alertmanager is left clean.
  await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ labels: { alertname: 'SurgeGuardGpuXidCritical', severity: 'critical', node: 'gpu-9', sg_receiver: RECEIVER }, endsAt: new Date(Date.now() - 1000).toISOString() }]) });
});
