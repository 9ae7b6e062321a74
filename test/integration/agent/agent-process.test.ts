// The agent as a process: `./surgeguard agent` against the fake nvidia-smi (answering from a
// real H100 capture), following a kernel log file that the test appends to and rotates, and
// scraped by a real Prometheus.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, freePort, startSupervised, stopPid, tailOf, waitUntil } from '../../helpers/infra/process.ts';
import { addScrapeTarget, promQuery, sharedPrometheus } from '../../helpers/infra/prometheus.ts';
import { runContext } from '../../helpers/infra/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-agent-proc-'));
const kernLog = join(dir, 'kern.log');
const control = join(dir, 'fake-control');
const log = join(dir, 'agent.log');
const dmesg = readFileSync(join(REPO_ROOT, 'test/fixtures/gpu-faults/gpud_dmesg-with-xid-119.log'), 'utf8');
let url = '';
let port = 0;
let pid = 0;

before(async () => {
  writeFileSync(kernLog, 'Nov 29 10:00:00 node kernel: [    0.000000] Linux version 6.1.0 (already there before the agent: not counted)\n');
  writeFileSync(control, '');
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const started = await startSupervised({
    cmd: join(REPO_ROOT, 'surgeguard'),
    args: ['agent', '--listen', `127.0.0.1:${port}`, '--nvidia-smi', join(REPO_ROOT, 'test/fakes/nvidia-smi'), '--kernel-log', kernLog],
    log,
    pidFile: join(dir, 'agent.pid'),
    ownerPid: runContext().ownerPid,
    env: {
      ...process.env,
      NODE_NAME: 'gpu-node-7',
      FAKE_NVIDIA_SMI_CONTROL: control,
      FAKE_NVIDIA_SMI_UNKNOWN: 'power.draw.instant,gpu_recovery_action',
      SURGEGUARD_COLLECTORS__GPU__INTERVAL_SECONDS: '0.5',
      SURGEGUARD_COLLECTORS__GPU__TIMEOUT_SECONDS: '1',
      SURGEGUARD_COLLECTORS__XID__INTERVAL_SECONDS: '0.2',
      SURGEGUARD_COLLECTORS__NETWORK__INTERVAL_SECONDS: '0.5',
      SURGEGUARD_COLLECTORS__POD_RESOURCES__SOCKET_PATH: join(dir, 'no-kubelet.sock'),
    },
  });
  pid = started.pid;
  await waitUntil('the agent to be ready', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, pid, log });
});
after(async () => {
  await stopPid(pid);
});

async function metrics(): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function until(what: string, check: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  return waitUntil(what, async () => {
    const t = await metrics();
    return check(t) ? t : undefined;
  }, { timeoutMs, pid, log, intervalMs: 200 });
}

test('GPU series from the fake nvidia-smi; fields an older driver lacks are dropped once and logged', async () => {
  const text = await until('gpu series', (t) => value(t, 'surgeguard_gpu_power_watts') !== undefined);
  assert.equal(value(text, 'surgeguard_gpu_power_watts', { node: 'gpu-node-7', gpu: '0', gpu_model: 'NVIDIA H100 80GB HBM3' }), 631.95);
  assert.equal(value(text, 'surgeguard_gpu_memory_used_bytes'), 19818 * 1024 * 1024);
  assert.equal(value(text, 'surgeguard_gpu_pcie_replays_total'), 9);
  assert.equal(value(text, 'surgeguard_gpu_recovery_action'), undefined, 'the refused field gives no series');
  assert.equal(value(text, 'surgeguard_collector_success', { collector: 'gpu' }), 1);
  assert.equal(value(text, 'surgeguard_collector_enabled', { collector: 'gpu_allocation' }), 0, 'no kubelet socket: disabled');
  assert.ok(value(text, 'process_resident_memory_bytes') !== undefined && value(text, 'nodejs_eventloop_lag_seconds') !== undefined);
  // After an OpenMetrics scrape, the text format is still promtool-clean, process metrics included.
  const om = await fetch(`${url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.match(om.headers.get('content-type') ?? '', /openmetrics/);
  assert.match(await om.text(), /^process_cpu_seconds_total \S+$/m);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: await metrics(), encoding: 'utf8' });
  assert.equal(`${check.stdout}${check.stderr}`.trim(), '');
  assert.equal(check.status, 0);
  const lines = tailOf(log, 200).split('\n').filter((l) => l.includes('no longer asked for'));
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { field: string }).field).sort(), ['gpu_recovery_action', 'power.draw.instant']);
});

test('XID: the real kernel log appended while the agent runs, then a rotation', async () => {
  appendFileSync(kernLog, dmesg);
  let text = await until('five Xid 119', (t) => value(t, 'surgeguard_gpu_xid_errors_total', { xid: '119' }) === 5);
  assert.equal(value(text, 'surgeguard_gpu_xid_errors_total', { pci_bus_id: '0000:9b:00.0', uuid: 'GPU-509665ad-b600-ac93-3616-d754b23d636d' }), 5);
  renameSync(kernLog, `${kernLog}.1`);
  appendFileSync(`${kernLog}.1`, '[Sun Feb 23 16:31:00 2025] NVRM: Xid (PCI:0000:9b:00): 119, pid=1, name=late, Timeout after 6s of waiting for RPC response from GPU4 GSP!\n');
  writeFileSync(kernLog, '[Sun Feb 23 16:32:00 2025] NVRM: Xid (PCI:0000:00:09): 79, pid=\'<unknown>\', name=<unknown>, GPU has fallen off the bus.\n');
  text = await until('Xid 79 from the new file', (t) => value(t, 'surgeguard_gpu_xid_errors_total', { xid: '79' }) === 1);
  assert.equal(value(text, 'surgeguard_gpu_xid_errors_total', { xid: '119' }), 6, 'the line written to the old file after the rename is counted');
  // The kernel's PCI:0000:00:09 names the GPU that nvidia-smi calls 00000000:00:09.0.
  assert.equal(value(text, 'surgeguard_gpu_xid_errors_total', { xid: '79', gpu: '0', uuid: 'GPU-00000000-0000-0000-0000-000000000000' }), 1);
});

test('a hanging nvidia-smi is killed at the timeout and reported; the other collectors go on', async () => {
  writeFileSync(control, 'hang');
  const before = Date.now();
  const text = await until('gpu failing', (t) => value(t, 'surgeguard_collector_success', { collector: 'gpu' }) === 0);
  assert.equal(value(text, 'surgeguard_gpu_power_watts'), undefined);
  assert.equal(value(text, 'surgeguard_collector_success', { collector: 'network' }), 1);
  const net1 = value(text, 'surgeguard_collector_last_success_timestamp_seconds', { collector: 'network' }) ?? 0;
  await until('network still sampling', (t) => (value(t, 'surgeguard_collector_last_success_timestamp_seconds', { collector: 'network' }) ?? 0) > net1);
  assert.ok(Date.now() - before < 15_000);
  const timeouts = tailOf(log, 400).split('\n').filter((l) => l.includes('SG_COLLECTOR_TIMEOUT'));
  assert.ok(timeouts.length > 0, 'the timeout is logged with its code');
  assert.match(timeouts[0] ?? '', /did not answer within 1000 ms and was killed/);
  // Killed, not left behind: once no new call hangs, no hung fake of this test outlives the
  // 1 s timeout (without the kill they would sleep forever).
  writeFileSync(control, '');
  assert.deepEqual(await waitUntil('hung nvidia-smi processes to be gone', async () => (fakesOfThisTest().length === 0 ? [] : undefined), { timeoutMs: 5000, intervalMs: 100 }), []);
  await until('gpu recovered', (t) => value(t, 'surgeguard_collector_success', { collector: 'gpu' }) === 1 && value(t, 'surgeguard_gpu_power_watts') === 631.95);
});

/** PIDs of fake nvidia-smi processes started by this test's agent (found by their control file). */
function fakesOfThisTest(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('nvidia-smi.mjs') && readFileSync(`/proc/${d}/environ`, 'utf8').includes(control);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

test('corrupt nvidia-smi output is a collector error while the agent keeps serving', async () => {
  writeFileSync(control, 'corrupt');
  const text = await until('gpu failing on corrupt output', (t) => value(t, 'surgeguard_collector_success', { collector: 'gpu' }) === 0);
  assert.equal(value(text, 'surgeguard_collector_success', { collector: 'xid' }), 1);
  assert.ok(tailOf(log, 400).includes('not the CSV asked for'));
  writeFileSync(control, '');
  await until('gpu recovered', (t) => value(t, 'surgeguard_collector_success', { collector: 'gpu' }) === 1);
});

test('a real Prometheus scrapes the agent and PromQL returns its GPU series', async () => {
  const prom = await sharedPrometheus();
  const name = `agent-${process.pid}`;
  addScrapeTarget(prom, name, `127.0.0.1:${port}`);
  const r = await waitUntil('GPU series in Prometheus', async () => {
    const res = await promQuery(prom.url, `surgeguard_gpu_power_watts{sg_target="${name}"}`);
    return res.length > 0 ? res : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(r[0]?.metric.gpu_model, 'NVIDIA H100 80GB HBM3');
  assert.equal(r[0]?.metric.node, 'gpu-node-7');
  assert.equal(Number(r[0]?.value[1]), 631.95);
  const up = await promQuery(prom.url, `up{sg_target="${name}"}`);
  assert.equal(up[0]?.value[1], '1');
});
