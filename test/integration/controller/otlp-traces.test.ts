// OTLP traces against a real OpenTelemetry Collector (scripts/build-otelcol.sh: the otlp receiver
// and the file exporter, a traces pipeline beside the metrics one). The controller (`surgeguard
// controller` against the real kube-apiserver, electing itself leader) and the agent (`surgeguard
// agent` with the fake nvidia-smi answering from a real H100 capture) export spans because
// OTEL_EXPORTER_OTLP_ENDPOINT is set, as the SDK reads it; the test reads what the collector wrote:
// each scaling tick is a trace whose five phases are its children, in order and inside it, and a
// collector cycle that fails is a span with an error status and the exception, while /metrics
// says the same.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startControllerProcess } from '../../helpers/controller-process.ts';
import { installCrd } from '../../helpers/controller.ts';
import { ensureNamespace, kubeConfigFrom, sharedKube } from '../../helpers/infra/kube.ts';
import { receivedSpans, startOtelCollector, type OtelCollector, type ReceivedSpan } from '../../helpers/infra/otelcol.ts';
import { REPO_ROOT, freePort, startSupervised, stopPid, waitUntil } from '../../helpers/infra/process.ts';
import { runContext } from '../../helpers/infra/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-otlp-traces-'));
const NS = `otlp-traces-${process.pid}`;
const PHASES = ['scaling.signals', 'scaling.targets', 'scaling.forecast', 'scaling.decide', 'scaling.act'];
const smiControl = join(dir, 'nvidia-smi.control');
const agentLog = join(dir, 'agent.log');
let otel: OtelCollector;
let controller: { child: ChildProcess; url: string } | undefined;
let agentPid = 0;
let agentUrl = '';

/** The SDK's own variables: the collector's base URL (the SDK adds /v1/traces) and a short batch delay. */
function otelEnv(): NodeJS.ProcessEnv {
  return { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otel.url, OTEL_BSP_SCHEDULE_DELAY: '200' };
}

before(async () => {
  otel = await startOtelCollector();
  const kube = await sharedKube();
  const kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), NS);
  writeFileSync(
    join(dir, 'controller.yaml'),
    stringify({
      listen: '127.0.0.1:0',
      kubeconfig: kube.kubeconfig,
      identity: `otlp-traces-${process.pid}`,
      scalerSelector: `sg-test=${NS}`,
      intervalSeconds: 1,
      leaderElection: { namespace: NS, leaseName: 'otlp-traces', leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 },
      pauseConfigMap: { namespace: NS, name: 'surgeguard-controller' },
      healing: { enabled: false },
    }),
  );
  controller = await startControllerProcess(dir, 'controller', otelEnv());

  writeFileSync(smiControl, '');
  writeFileSync(join(dir, 'kern.log'), '');
  const port = await freePort();
  agentUrl = `http://127.0.0.1:${port}`;
  ({ pid: agentPid } = await startSupervised({
    cmd: join(REPO_ROOT, 'surgeguard'),
    args: ['agent', '--listen', `127.0.0.1:${port}`, '--nvidia-smi', join(REPO_ROOT, 'test/fakes/nvidia-smi'), '--kernel-log', join(dir, 'kern.log')],
    log: agentLog,
    pidFile: join(dir, 'agent.pid'),
    ownerPid: runContext().ownerPid,
    env: {
      ...otelEnv(),
      NODE_NAME: 'gpu-node-traces',
      FAKE_NVIDIA_SMI_CONTROL: smiControl,
      SURGEGUARD_COLLECTORS__GPU__INTERVAL_SECONDS: '0.5',
      SURGEGUARD_COLLECTORS__POD_RESOURCES__SOCKET_PATH: join(dir, 'no-kubelet.sock'),
    },
  }));
  await waitUntil('the agent to be ready', async () => ((await fetch(`${agentUrl}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, pid: agentPid, log: agentLog });
});

after(async () => {
  if (controller && controller.child.exitCode === null) {
    controller.child.kill('SIGTERM');
    await new Promise((resolve) => controller?.child.once('exit', resolve));
  }
  await stopPid(agentPid);
  await otel?.stop();
});

function spansOf(service: string): ReceivedSpan[] {
  return receivedSpans(otel).filter((s) => s.resource['service.name'] === service);
}

function until<T>(what: string, check: () => T | undefined): Promise<T> {
  return waitUntil(what, () => Promise.resolve(check()), { timeoutMs: 30_000, intervalMs: 200, pid: otel.pid, log: otel.log });
}

test('each scaling tick of the leader arrives as its own trace, its five phases children in order and inside it', async () => {
  // Two whole ticks as leader whose children have all arrived (a batch may split a tick's spans).
  const complete = (all: ReceivedSpan[]): ReceivedSpan[] =>
    all.filter((t) => t.name === 'scaling.tick' && t.attributes.leader === true && all.filter((c) => c.parentSpanId === t.spanId).length === PHASES.length);
  const ticks = await until('two whole leader ticks received', () => {
    const done = complete(spansOf('surgeguard-controller'));
    return done.length >= 2 ? done : undefined;
  });
  const all = spansOf('surgeguard-controller');
  for (const tick of ticks.slice(0, 2)) {
    assert.equal(tick.parentSpanId, '', 'a tick is the root of its trace');
    assert.equal(tick.scope, 'surgeguard-controller');
    assert.equal(tick.statusCode === 2, false, `tick failed: ${tick.statusMessage}`);
    assert.deepEqual({ scalers: tick.attributes.scalers, patched: tick.attributes.patched }, { scalers: 0, patched: 0 });
    const children = all.filter((c) => c.parentSpanId === tick.spanId).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    assert.deepEqual(children.map((c) => c.name), PHASES, 'the phases, in the order the tick runs them');
    // The SDK anchors each span's start on Date.now() (whole milliseconds) and measures its
    // duration with performance.now(): two spans' times can disagree by up to 1 ms.
    const ms = 1_000_000n;
    for (const c of children) {
      assert.equal(c.traceId, tick.traceId);
      assert.ok(c.start >= tick.start - ms && c.end <= tick.end + ms, `${c.name} lies inside its tick`);
    }
    for (let i = 1; i < children.length; i++) {
      const [prev, cur] = [children[i - 1] as ReceivedSpan, children[i] as ReceivedSpan];
      assert.ok(cur.start >= prev.end - ms, `${cur.name} starts after ${prev.name} ends (${cur.start - prev.end} ns)`);
    }
  }
  const [a, b] = ticks;
  assert.notEqual(a?.traceId, b?.traceId, 'one trace per tick');
});

test('a collector cycle that fails is an error span with the exception; /metrics says the same', async () => {
  const ok = await until('a gpu cycle span from the agent', () => spansOf('surgeguard-agent').find((s) => s.name === 'collect gpu'));
  assert.equal(ok.attributes['surgeguard.collector'], 'gpu');
  assert.equal(ok.parentSpanId, '');
  assert.notEqual(ok.statusCode, 2);
  const before = new Set(spansOf('surgeguard-agent').map((s) => s.spanId));

  // The fake nvidia-smi prints garbage from its next call on: the gpu cycle fails.
  writeFileSync(smiControl, 'corrupt\n');
  const failed = await until('an error span for the gpu cycle', () => spansOf('surgeguard-agent').find((s) => !before.has(s.spanId) && s.name === 'collect gpu' && s.statusCode === 2));
  assert.match(failed.statusMessage, /output is not the CSV asked for/);
  assert.ok(failed.events.includes('exception'), 'the exception is recorded on the span');
  const metrics = await (await fetch(`${agentUrl}/metrics`)).text();
  assert.match(metrics, /^surgeguard_collector_success\{collector="gpu"\} 0$/m);

  writeFileSync(smiControl, '');
  const since = new Set(spansOf('surgeguard-agent').map((s) => s.spanId));
  const recovered = await until('a good gpu cycle span again', () => spansOf('surgeguard-agent').find((s) => !since.has(s.spanId) && s.name === 'collect gpu' && s.statusCode !== 2));
  assert.equal(recovered.attributes['surgeguard.collector'], 'gpu');
});
