// API Priority and Fairness under a flood (issue 21): a real kube-apiserver with small in-flight
// limits, the chart's FlowSchemas and PriorityLevelConfiguration (rendered by helm), the controller
// as its own process under its ServiceAccount, and another ServiceAccount flooding the server with
// concurrent LISTs of every ConfigMap (the built-in service-accounts schema puts it in
// workload-low). The flood is throttled (429s, rejections counted for its level) while the
// controller's level rejects nothing and the controller keeps ticking and scales its targets up on
// a demand step made during the flood.
//
// SG_APF_FLOOD_COMPARE=1 also runs the same scenario without the chart's flow-control objects
// (the controller then shares workload-low with the flood); that run only reports what happened
// to the controller (docs/scale.md has the numbers), since on a shared machine it is not
// deterministic.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { CHART, helmBinary, helmTemplate } from '../../../scripts/render-manifests.ts';
import { createScaler, installCrd } from '../../helpers/controller.ts';
import { startControllerProcess } from '../../helpers/controller-process.ts';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, readAudit, serviceAccountKubeconfig, startKube, type AuditEvent, type KubeHandle } from '../../helpers/infra/kube.ts';
import { REPO_ROOT, runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { sharedPrometheus } from '../../helpers/infra/prometheus.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';

const NS = 'surgeguard';
const SCALERS = 6;
// Small enough that a flood from a 2-core machine saturates the server: 15 seats shared by all levels.
const INFLIGHT = ['--max-requests-inflight=10', '--max-mutating-requests-inflight=5'];
// More concurrent requests than one flow can queue in workload-low (a hand of 6 queues of 50).
const FLOOD_CONCURRENCY = Number(process.env.SG_APF_FLOOD_CONCURRENCY ?? 400);
// ServiceAccounts the flood is spread over: one flow each in workload-low (flows are told apart by
// user), so more of them occupy more of its queues. One by default; the comparison in docs/scale.md
// also ran 20 (SG_APF_FLOOD_USERS=20).
const FLOOD_USERS = Number(process.env.SG_APF_FLOOD_USERS ?? 1);
const CONFIGMAPS = 400;
// Ticks the controller must complete while the flood runs, after the demand step.
const TICKS_DURING_FLOOD = 8;
const LOW_DEMAND = 8;
const HIGH_DEMAND = 40;
const PER_REPLICA = 10;

interface FloodCounts { ok: number; throttled: number; other: number }
interface RunResult {
  flood: FloodCounts;
  /** apiserver_flowcontrol_rejected_requests_total summed by priority level, over the run. */
  rejectedByLevel: Map<string, number>;
  dispatchedByLevel: Map<string, number>;
  ticksDuringFlood: number;
  controller: { requests: number; throttled: number; p50ms: number; p99ms: number; maxms: number };
  replicas: number[];
}

/** Sums a counter's samples by one label (the API server's Prometheus text). */
function sumBy(text: string, metric: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const key = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '';
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

function httpsGet(kube: KubeHandle, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, kube.server), { method: 'GET', ca: readFileSync(kube.caFile), headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// The flood runs in a process of its own: in this one, its responses would starve the event loop
// that polls the controller and the API server (they did: minutes between polls on two cores).
const FLOOD_SCRIPT = `
const { Agent, request } = require('node:https');
const { readFileSync } = require('node:fs');
const [server, caFile, tokenList, concurrency] = process.argv.slice(1);
const tokens = tokenList.split(',');
const ca = readFileSync(caFile);
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency), ca });
const counts = { ok: 0, throttled: 0, other: 0 };
let running = true;
process.on('SIGTERM', () => { running = false; process.stdout.write(JSON.stringify(counts) + '\\n'); process.exit(0); });
setInterval(() => process.stdout.write(JSON.stringify(counts) + '\\n'), 1000);
const once = (token) => new Promise((resolve) => {
  const req = request(new URL('/api/v1/configmaps', server), { agent, headers: { authorization: 'Bearer ' + token } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
    res.on('error', () => resolve(0));
  });
  req.on('error', () => resolve(0));
  req.end();
});
const loop = async (i) => {
  while (running) {
    const status = await once(tokens[i % tokens.length]);
    if (status === 200) counts.ok++; else if (status === 429) counts.throttled++; else counts.other++;
    // A throttled client that retried at once would spin on this machine's two cores.
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
};
for (let i = 0; i < Number(concurrency); i++) loop(i);
`;

/** FLOOD_CONCURRENCY loops of LISTs of every ConfigMap as `token`, in a child process, until stopped. */
function startFlood(kube: KubeHandle, tokens: readonly string[]): { counts: () => FloodCounts; stop: () => Promise<FloodCounts> } {
  const child = spawn(process.execPath, ['-e', FLOOD_SCRIPT, kube.server, kube.caFile, tokens.join(','), String(FLOOD_CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let last: FloodCounts = { ok: 0, throttled: 0, other: 0 };
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) last = JSON.parse(l) as FloodCounts;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    counts: () => last,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      return last;
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number);
}

async function floodRun(t: TestContext, chartApf: boolean): Promise<RunResult> {
  const kube = await startKube(undefined, { priorityAndFairness: true, extraArgs: { 'kube-apiserver': INFLIGHT } });
  const dir = mkdtempSync(join(tmpdir(), 'sg-apf-flood-'));
  const cleanups: { what: string; run: () => Promise<unknown> }[] = [{ what: 'control plane', run: () => kube.stop() }];
  try {
    const kc: KubeConfig = kubeConfigFrom(kube.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await installCrd(kc);
    await ensureNamespace(core, NS);
    await applyManifests(kc, parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/rbac.yaml'), 'utf8')));
    if (chartApf) {
      const rendered = parseManifests(await helmTemplate(await helmBinary(REPO_ROOT), join(REPO_ROOT, CHART)));
      const apf = rendered.filter((o) => o.kind === 'FlowSchema' || o.kind === 'PriorityLevelConfiguration');
      assert.ok(apf.some((o) => o.kind === 'PriorityLevelConfiguration'), 'the chart renders a PriorityLevelConfiguration');
      await applyManifests(kc, apf);
    }
    const controllerSa = await serviceAccountKubeconfig(kube, { namespace: NS, name: 'surgeguard-controller' });

    // The flood's target: 400 ConfigMaps of 1 KiB, so that APF estimates each LIST at 4 seats (one per 100 objects).
    const floodNs = 'apf-flood';
    await ensureNamespace(core, floodNs);
    const data = { blob: 'x'.repeat(1024) };
    for (let i = 0; i < CONFIGMAPS; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => core.createNamespacedConfigMap({ namespace: floodNs, body: { metadata: { name: `cm-${i + j}` }, data } })));
    }
    await kc.makeApiClient(RbacAuthorizationV1Api).createClusterRole({ body: { metadata: { name: 'apf-flood-lister' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }] } });
    const flooders: string[] = [];
    for (let i = 0; i < FLOOD_USERS; i++) flooders.push((await serviceAccountKubeconfig(kube, { namespace: floodNs, name: `flooder-${i}`, clusterRole: 'apf-flood-lister' })).token);

    await addFakeNodes(kc, ['apf-0', 'apf-1', 'apf-2'], { gpus: 16 });
    const apps = kc.makeApiClient(AppsV1Api);
    const namespaces = Array.from({ length: SCALERS }, (_, i) => `apf-${i}`);
    for (const namespace of namespaces) {
      await ensureNamespace(core, namespace);
      const labels = { app: 'infer' };
      await apps.createNamespacedDeployment({
        namespace,
        body: { metadata: { name: 'infer' }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }], tolerations: [{ operator: 'Exists' }] } } } },
      });
      await createScaler(kc, { name: 'infer', namespace, labels: { 'sg-test': 'apf-flood' } }, {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'infer' },
        signal: { prometheus: { query: `vector(${LOW_DEMAND})` } },
        requestsPerSecondPerReplica: PER_REPLICA,
        startupSeconds: 2,
        minReplicas: 1,
        maxReplicas: 6,
        mode: 'Active',
      });
    }
    const prom = await sharedPrometheus();
    writeFileSync(
      join(dir, 'controller.yaml'),
      stringify({
        listen: '127.0.0.1:0',
        kubeconfig: controllerSa.kubeconfig,
        identity: `apf-flood-${process.pid}`,
        intervalSeconds: 1,
        scalerSelector: 'sg-test=apf-flood',
        // The chart's Lease namespace and name, which its leader-election FlowSchema matches.
        leaderElection: { namespace: NS, leaseName: 'surgeguard-controller', leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
        pauseConfigMap: { namespace: NS, name: 'surgeguard-controller' },
        prometheus: { url: prom.url, backfill: false, timeoutMs: 5000 },
        healing: { enabled: false },
      }),
    );
    const { child, url } = await startControllerProcess(dir, 'controller');
    // Stopped before the control plane (cleanups run last first).
    cleanups.push({ what: 'controller', run: async () => child.kill('SIGKILL') });
    const ticks = async (): Promise<number> => Number(/surgeguard_controller_tick_duration_seconds_count (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
    await waitUntil('three ticks before the flood', async () => ((await ticks()) >= 3 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    const replicasNow = async (): Promise<number[]> => Promise.all(namespaces.map(async (namespace) => (await apps.readNamespacedDeployment({ name: 'infer', namespace })).spec?.replicas ?? 0));
    assert.deepEqual(await replicasNow(), namespaces.map(() => 1), 'one replica each on the low demand before the flood');

    const metrics = async (): Promise<string> => {
      const r = await httpsGet(kube, '/metrics', kube.adminToken);
      assert.equal(r.status, 200, `GET /metrics as admin: ${r.status}`);
      return r.body;
    };
    const before = await metrics();
    const floodStart = new Date().toISOString();
    const ticksAtFlood = await ticks();
    const flood = startFlood(kube, flooders);
    try {
      // The flood saturates its level first: requests rejected for it, by the server's count.
      await waitUntil(
        'the flood throttled (rejections in its priority level)',
        async () => ((sumBy(await metrics(), 'apiserver_flowcontrol_rejected_requests_total', 'priority_level').get('workload-low') ?? 0) > (sumBy(before, 'apiserver_flowcontrol_rejected_requests_total', 'priority_level').get('workload-low') ?? 0) ? true : undefined),
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      t.diagnostic(`flood throttled: ${JSON.stringify(flood.counts())}`);
      // The demand step, written by the admin (exempt), during the flood.
      const custom = kc.makeApiClient(CustomObjectsApi);
      for (const namespace of namespaces) {
        const obj = (await custom.getNamespacedCustomObject({ group: 'surgeguard.io', version: 'v1alpha1', namespace, plural: 'predictivescalers', name: 'infer' })) as { spec: { signal: { prometheus: { query: string } } } };
        obj.spec.signal.prometheus.query = `vector(${HIGH_DEMAND})`;
        await custom.replaceNamespacedCustomObject({ group: 'surgeguard.io', version: 'v1alpha1', namespace, plural: 'predictivescalers', name: 'infer', body: obj });
      }
      const ticksAtStep = await ticks();
      const want = Math.ceil(HIGH_DEMAND / PER_REPLICA);
      // Bounded waits, not timing claims: a controller starved by the flood fails them.
      await waitUntil(`every target at ${want}+ replicas during the flood`, async () => ((await replicasNow()).every((r) => r >= want) ? true : undefined), { timeoutMs: chartApf ? 90_000 : 120_000, intervalMs: 1000 }).catch((err: unknown) => {
        if (chartApf) throw err;
        t.diagnostic(`without the chart's objects: ${String(err)}`);
      });
      await waitUntil(`${TICKS_DURING_FLOOD} ticks after the step`, async () => ((await ticks()) >= ticksAtStep + TICKS_DURING_FLOOD ? true : undefined), { timeoutMs: chartApf ? 90_000 : 120_000, intervalMs: 1000 }).catch((err: unknown) => {
        if (chartApf) throw err;
        t.diagnostic(`without the chart's objects: ${String(err)}`);
      });
      const after = await metrics();
      const diff = (metric: string): Map<string, number> => {
        const a = sumBy(after, metric, 'priority_level');
        const b = sumBy(before, metric, 'priority_level');
        return new Map([...a].map(([k, v]) => [k, v - (b.get(k) ?? 0)]));
      };
      const ticksNow = await ticks();
      const ticksDuringFlood = ticksNow - ticksAtStep;
      t.diagnostic(`${ticksNow - ticksAtFlood} ticks in ${((Date.now() - Date.parse(floodStart)) / 1000).toFixed(1)} s of flood`);
      const replicas = await replicasNow();
      const floodCounts = await flood.stop();
      // The controller's own requests during the flood, from the audit log (429s are audited: APF runs after the audit filter).
      const ours = readAudit(kube, (e: AuditEvent) => e.user.username === controllerSa.username && e.requestReceivedTimestamp >= floodStart && e.verb !== 'watch');
      const latencies = ours.map((e) => Date.parse(e.stageTimestamp) - Date.parse(e.requestReceivedTimestamp)).sort((x, y) => x - y);
      return {
        flood: floodCounts,
        rejectedByLevel: diff('apiserver_flowcontrol_rejected_requests_total'),
        dispatchedByLevel: diff('apiserver_flowcontrol_dispatched_requests_total'),
        ticksDuringFlood,
        controller: { requests: ours.length, throttled: ours.filter((e) => e.responseStatus?.code === 429).length, p50ms: percentile(latencies, 0.5), p99ms: percentile(latencies, 0.99), maxms: latencies.at(-1) ?? 0 },
        replicas,
      };
    } finally {
      await flood.stop();
    }
  } finally {
    await runCleanups(cleanups);
  }
}

function report(t: TestContext, label: string, r: RunResult): void {
  t.diagnostic(`${label}: flood ok=${r.flood.ok} 429=${r.flood.throttled} other=${r.flood.other}`);
  t.diagnostic(`${label}: rejected by level ${JSON.stringify(Object.fromEntries(r.rejectedByLevel))}; dispatched by level ${JSON.stringify(Object.fromEntries(r.dispatchedByLevel))}`);
  t.diagnostic(`${label}: controller ${r.controller.requests} requests during the flood, ${r.controller.throttled} answered 429, latency p50 ${r.controller.p50ms} ms p99 ${r.controller.p99ms} ms max ${r.controller.maxms} ms; ${r.ticksDuringFlood} ticks after the step; replicas ${r.replicas.join(',')}`);
}

test("with the chart's flow-control objects the flood is throttled and the controller keeps its tick", { timeout: 600_000 }, async (t) => {
  const r = await floodRun(t, true);
  report(t, 'chart APF', r);
  assert.ok(r.flood.throttled > 0, `the flood got no 429: ${JSON.stringify(r.flood)}`);
  assert.ok((r.rejectedByLevel.get('workload-low') ?? 0) > 0, 'no rejections counted for the flood\'s level');
  assert.equal(r.rejectedByLevel.get('surgeguard-controller') ?? 0, 0, "the controller's priority level rejected requests");
  assert.ok((r.dispatchedByLevel.get('surgeguard-controller') ?? 0) > 0, "no request dispatched in the controller's level: its requests went elsewhere");
  assert.equal(r.controller.throttled, 0, 'the controller got 429s');
  assert.ok(r.ticksDuringFlood >= TICKS_DURING_FLOOD, `${r.ticksDuringFlood} ticks during the flood`);
  const want = Math.ceil(HIGH_DEMAND / PER_REPLICA);
  assert.ok(r.replicas.every((n) => n >= want && n <= 6), `replicas ${r.replicas.join(',')}, want ${want}..6`);
});

// A measurement asserted on nothing, so it is registered only when asked for: `make test` counts
// no skipped test, and a skip marker here would read as a test CI could not run.
if (process.env.SG_APF_FLOOD_COMPARE === '1') test("without the chart's flow-control objects (comparison, reported only)", { timeout: 600_000 }, async (t) => {
  const r = await floodRun(t, false);
  report(t, 'no chart APF', r);
  // The flood is throttled either way; what happens to the controller is the measurement.
  assert.ok(r.flood.throttled > 0, `the flood got no 429: ${JSON.stringify(r.flood)}`);
});
