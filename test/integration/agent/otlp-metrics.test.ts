// OTLP metrics against a real OpenTelemetry Collector (built from the Go module proxy by
// scripts/build-otelcol.sh: the otlp receiver and the file exporter). The agent (`./surgeguard
// agent` with the fake nvidia-smi answering from a real H100 capture, two GPUs, following a
// kernel log with real XID lines) and the controller (`surgeguard controller` against the real
// kube-apiserver) push to it over OTLP/HTTP protobuf; the test reads what the collector wrote and
// compares it with what the same processes serve on /metrics.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startControllerProcess } from '../../helpers/controller-process.ts';
import { installCrd } from '../../helpers/controller.ts';
import { ensureNamespace, kubeConfigFrom, sharedKube } from '../../helpers/infra/kube.ts';
import { receivedPoints, startOtelCollector, type OtelCollector, type ReceivedPoint } from '../../helpers/infra/otelcol.ts';
import { REPO_ROOT, freePort, startSupervised, stopPid, tailOf, waitUntil } from '../../helpers/infra/process.ts';
import { runContext } from '../../helpers/infra/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-otlp-'));
const kernLog = join(dir, 'kern.log');
const agentLog = join(dir, 'agent.log');
const NODE = 'gpu-node-otlp';
const NS = `otlp-${process.pid}`;
const IDENTITY = `otlp-controller-${process.pid}`;
let otel: OtelCollector;
let agentUrl = '';
let agentPid = 0;
let controller: { child: ChildProcess; url: string } | undefined;

function agentEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_NAME: NODE,
    FAKE_NVIDIA_SMI_GPUS: '2',
    SURGEGUARD_COLLECTORS__GPU__INTERVAL_SECONDS: '0.5',
    SURGEGUARD_COLLECTORS__XID__INTERVAL_SECONDS: '0.2',
    SURGEGUARD_COLLECTORS__POD_RESOURCES__SOCKET_PATH: join(dir, 'no-kubelet.sock'),
    ...extra,
  };
}

before(async () => {
  otel = await startOtelCollector();
  writeFileSync(kernLog, '');
  const port = await freePort();
  agentUrl = `http://127.0.0.1:${port}`;
  const started = await startSupervised({
    cmd: join(REPO_ROOT, 'surgeguard'),
    args: ['agent', '--listen', `127.0.0.1:${port}`, '--nvidia-smi', join(REPO_ROOT, 'test/fakes/nvidia-smi'), '--kernel-log', kernLog],
    log: agentLog,
    pidFile: join(dir, 'agent.pid'),
    ownerPid: runContext().ownerPid,
    // A bare collector URL: the agent adds /v1/metrics, as OTEL_EXPORTER_OTLP_ENDPOINT does.
    env: agentEnv({ SURGEGUARD_OTLP__METRICS__ENDPOINT: otel.url, SURGEGUARD_OTLP__METRICS__INTERVAL_SECONDS: '1' }),
  });
  agentPid = started.pid;
  await waitUntil('the agent to be ready', async () => ((await fetch(`${agentUrl}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, pid: agentPid, log: agentLog });

  const kube = await sharedKube();
  const kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), NS);
  writeFileSync(
    join(dir, 'controller.yaml'),
    stringify({
      listen: '127.0.0.1:0',
      kubeconfig: kube.kubeconfig,
      identity: IDENTITY,
      scalerSelector: `sg-test=${NS}`,
      leaderElection: { namespace: NS, leaseName: 'otlp', leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 },
      pauseConfigMap: { namespace: NS, name: 'surgeguard-controller' },
      healing: { enabled: false },
      otlp: { metrics: { endpoint: `${otel.url}/v1/metrics`, intervalSeconds: 1 } },
    }),
  );
  controller = await startControllerProcess(dir, 'controller');
});

after(async () => {
  if (controller && controller.child.exitCode === null) {
    controller.child.kill('SIGTERM');
    await new Promise((resolve) => controller?.child.once('exit', resolve));
  }
  await stopPid(agentPid);
  await otel?.stop();
});

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of the first /metrics sample of `name` whose labels include `labels`. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The newest point the collector received of `name` from `service` whose attributes include `attrs`. */
function latest(service: string, name: string, attrs: Record<string, string> = {}): ReceivedPoint | undefined {
  const matching = receivedPoints(otel).filter((p) => p.resource['service.name'] === service && p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
  return matching.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).at(-1);
}

function untilReceived(what: string, check: () => ReceivedPoint | undefined): Promise<ReceivedPoint> {
  return waitUntil(what, () => Promise.resolve(check()), { timeoutMs: 30_000, intervalMs: 200, pid: otel.pid, log: otel.log });
}

test('GPU utilization and memory arrive under hw.gpu.* with the GPU attributes and the values /metrics shows', async () => {
  const text = await scrape(agentUrl);
  const uuids = [...text.matchAll(/^surgeguard_gpu_utilization_ratio\{[^}]*uuid="([^"]+)"/gm)].map((m) => m[1] ?? '');
  assert.equal(uuids.length, 2, 'two GPUs on /metrics');
  for (const [index, uuid] of uuids.entries()) {
    const labels = { uuid, gpu: String(index) };
    const util = await untilReceived(`hw.gpu.utilization of ${uuid}`, () => latest('surgeguard-agent', 'hw.gpu.utilization', { 'hw.id': uuid }));
    assert.equal(util.kind, 'gauge');
    assert.equal(util.unit, '1');
    assert.deepEqual(util.attributes, { 'hw.type': 'gpu', 'hw.id': uuid, 'hw.name': `gpu${index}`, 'hw.model': 'NVIDIA H100 80GB HBM3', 'hw.vendor': 'NVIDIA', 'hw.gpu.task': 'general' });
    assert.equal(util.value, value(text, 'surgeguard_gpu_utilization_ratio', labels));
    assert.equal(util.resource['k8s.node.name'], NODE);
    assert.equal(util.scope, 'surgeguard-agent');

    const used = latest('surgeguard-agent', 'hw.gpu.memory.usage', { 'hw.id': uuid });
    const limit = latest('surgeguard-agent', 'hw.gpu.memory.limit', { 'hw.id': uuid });
    assert.ok(used && limit);
    for (const p of [used, limit]) {
      assert.equal(p.kind, 'sum');
      assert.equal(p.monotonic, false, 'an UpDownCounter');
      assert.equal(p.unit, 'By');
    }
    assert.equal(used.value, value(text, 'surgeguard_gpu_memory_used_bytes', labels));
    assert.equal(used.value, 19818 * 1024 * 1024);
    assert.equal(limit.value, value(text, 'surgeguard_gpu_memory_total_bytes', labels));
    assert.equal(latest('surgeguard-agent', 'hw.power', { 'hw.id': uuid })?.value, value(text, 'surgeguard_gpu_power_watts', labels));
  }
  // Renamed series go only under their OpenTelemetry name; the rest keep SurgeGuard's.
  assert.equal(latest('surgeguard-agent', 'surgeguard_gpu_utilization_ratio'), undefined);
  assert.equal(latest('surgeguard-agent', 'surgeguard_gpu_memory_utilization_ratio')?.value, value(text, 'surgeguard_gpu_memory_utilization_ratio', { gpu: '0' }));
  assert.equal(latest('surgeguard-agent', 'surgeguard_collector_success', { collector: 'gpu' })?.value, 1);
});

test('XID errors read from the kernel log arrive as hw.errors{error.type="xid_119"} with the count /metrics shows', async () => {
  writeFileSync(kernLog, readFileSync(join(REPO_ROOT, 'test/fixtures/gpu-faults/gpud_dmesg-with-xid-119.log'), 'utf8'));
  const p = await untilReceived('five Xid 119 over OTLP', () => {
    const e = latest('surgeguard-agent', 'hw.errors', { 'error.type': 'xid_119' });
    return e?.value === 5 ? e : undefined;
  });
  assert.equal(p.kind, 'sum');
  assert.equal(p.monotonic, true);
  assert.equal(p.unit, '{error}');
  assert.equal(p.attributes['hw.id'], 'GPU-509665ad-b600-ac93-3616-d754b23d636d');
  assert.equal(value(await scrape(agentUrl), 'surgeguard_gpu_xid_errors_total', { xid: '119' }), 5);
});

test('the controller exports its own metrics: leadership as surgeguard_controller_leader, as on /metrics', async () => {
  assert.ok(controller);
  const leader = await untilReceived('the controller leading, over OTLP', () => {
    const p = latest('surgeguard-controller', 'surgeguard_controller_leader');
    return p?.value === 1 ? p : undefined;
  });
  assert.equal(leader.kind, 'gauge');
  assert.equal(leader.resource['service.instance.id'], IDENTITY);
  const text = await scrape(controller.url);
  assert.equal(value(text, 'surgeguard_controller_leader'), 1);
  const transitions = latest('surgeguard-controller', 'surgeguard_controller_leader_transitions_total');
  assert.ok(transitions);
  assert.equal(transitions.kind, 'sum');
  assert.equal(transitions.monotonic, true);
  assert.equal(transitions.value, value(text, 'surgeguard_controller_leader_transitions_total'));
  // Process metrics with a unit from their suffix.
  assert.equal(latest('surgeguard-controller', 'process_cpu_seconds_total')?.unit, 's');
  assert.ok((value(text, 'surgeguard_otlp_exports_total', { result: 'success' }) ?? 0) >= 1);
});

test('bad OTLP settings stop the agent at start with a coded error naming the key', () => {
  for (const [env, key] of [
    [{ SURGEGUARD_OTLP__METRICS__ENDPOINT: 'otel-collector:4318' }, 'otlp.metrics.endpoint'],
    [{ SURGEGUARD_OTLP__METRICS__ENDPOINT: otel.url, SURGEGUARD_OTLP__METRICS__INTERVAL_SECONDS: '0' }, 'otlp.metrics.intervalSeconds'],
  ] as const) {
    const r = spawnSync(join(REPO_ROOT, 'surgeguard'), ['agent', '--listen', '127.0.0.1:0'], { env: agentEnv(env), encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0);
    assert.match(`${r.stdout}${r.stderr}`, new RegExp(`SG_CONFIG_INVALID[\\s\\S]*${key.replace(/\./g, '\\.')}`));
  }
});

test('with the collector gone the agent keeps serving, counts the failed exports and warns once', async () => {
  await otel.stop();
  const text = await waitUntil('failed exports counted', async () => {
    const t = await scrape(agentUrl);
    return (value(t, 'surgeguard_otlp_exports_total', { result: 'failure' }) ?? 0) >= 2 ? t : undefined;
  }, { timeoutMs: 30_000, intervalMs: 250, pid: agentPid, log: agentLog });
  assert.equal(value(text, 'surgeguard_collector_success', { collector: 'gpu' }), 1);
  const warnings = tailOf(agentLog, 400).split('\n').filter((l) => l.includes('OTLP metric export failed'));
  assert.equal(warnings.length, 1, 'one warning for the outage, not one per interval');
});
