// The agent as a real process under faults of its node: a FIFO where the kernel log should be
// (it must still listen and stop on SIGTERM), a kernel log it may not read (as uid 65532 without
// group adm on Debian), and an nvidia-smi that appears only after the agent started.
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { REPO_ROOT, alive, freePort, startSupervised, stopPid, tailOf, waitUntil } from '../../helpers/infra/process.ts';
import { runContext } from '../../helpers/infra/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-agent-faults-'));
const pids: number[] = [];
after(async () => {
  for (const pid of pids) await stopPid(pid);
});

interface Started {
  readonly pid: number;
  readonly url: string;
  readonly log: string;
}

async function startAgent(name: string, args: readonly string[], opts: { withoutFileOverride?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Started> {
  const port = await freePort();
  const log = join(dir, `${name}.log`);
  const agentArgs = ['agent', '--listen', `127.0.0.1:${port}`, ...args];
  // As root, drop the capabilities that bypass file modes, so the agent meets them as uid 65532 would.
  const asRoot = process.getuid?.() === 0;
  const [cmd, ...rest] = opts.withoutFileOverride && asRoot ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', join(REPO_ROOT, 'surgeguard'), ...agentArgs] : [join(REPO_ROOT, 'surgeguard'), ...agentArgs];
  const started = await startSupervised({
    cmd: cmd ?? '',
    args: rest,
    log,
    pidFile: join(dir, `${name}.pid`),
    ownerPid: runContext().ownerPid,
    env: {
      ...process.env,
      NODE_NAME: `node-${name}`,
      SURGEGUARD_COLLECTORS__XID__INTERVAL_SECONDS: '0.2',
      SURGEGUARD_COLLECTORS__POD_RESOURCES__ENABLED: 'false',
      SURGEGUARD_COLLECTORS__NETWORK__ENABLED: 'false',
      ...opts.env,
    },
  });
  pids.push(started.pid);
  return { pid: started.pid, url: `http://127.0.0.1:${port}`, log };
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function until(a: Started, what: string, check: (text: string) => boolean, timeoutMs = 30_000): Promise<string> {
  return waitUntil(what, async () => {
    const t = await (await fetch(`${a.url}/metrics`)).text();
    return check(t) ? t : undefined;
  }, { timeoutMs, pid: a.pid, log: a.log, intervalMs: 200 });
}

function logLines(a: Started): Array<Record<string, unknown>> {
  return tailOf(a.log, 500).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a FIFO as kernel log: the agent listens, says the log is not a file, and exits on SIGTERM; an nvidia-smi installed later is found', async () => {
  const fifo = join(dir, 'kern.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const smi = join(dir, 'driver/nvidia-smi');
  const a = await startAgent('fifo', ['--kernel-log', fifo, '--nvidia-smi', smi]);
  const text = await until(a, 'the agent to serve with the FIFO', (t) => value(t, 'surgeguard_kernel_log_readable') !== undefined && value(t, 'surgeguard_gpu_nvidia_smi_available') !== undefined, 60_000);
  assert.equal(value(text, 'surgeguard_kernel_log_readable', { path: fifo, reason: 'not_a_regular_file' }), 0);
  assert.equal(value(text, 'surgeguard_collector_success', { collector: 'xid' }), 0);
  assert.equal(value(text, 'surgeguard_gpu_nvidia_smi_available', { path: smi }), 0);
  assert.equal(value(text, 'surgeguard_collector_enabled', { collector: 'gpu' }), 0);
  assert.equal(value(text, 'surgeguard_collector_success', { collector: 'gpu' }), undefined, 'missing nvidia-smi is not a failing collector');
  const blind = logLines(a).filter((l) => l.path === fifo && l.level === 'warn');
  assert.equal(blind.length, 1, 'the blind kernel log is logged once');
  assert.equal(blind[0]?.errno, 'fifo');
  const missing = logLines(a).filter((l) => l.path === smi && l.level === 'warn');
  assert.equal(missing.length, 1);
  assert.equal(missing[0]?.errno, 'ENOENT');

  // The driver arrives after the agent: the first retry is 10 s after the first miss.
  mkdirSync(join(dir, 'driver'));
  copyFileSync(join(REPO_ROOT, 'test/fakes/nvidia-smi'), smi);
  chmodSync(smi, 0o755);
  writeFileSync(join(dir, 'driver/nvidia-smi.mjs'), `import ${JSON.stringify(join(REPO_ROOT, 'test/fakes/nvidia-smi.mjs'))};\n`);
  const later = await until(a, 'GPU series once nvidia-smi exists', (t) => value(t, 'surgeguard_gpu_power_watts') !== undefined, 30_000);
  assert.equal(value(later, 'surgeguard_gpu_nvidia_smi_available', { path: smi }), 1);
  assert.equal(value(later, 'surgeguard_collector_success', { collector: 'gpu' }), 1);
  assert.equal(value(later, 'surgeguard_collector_enabled', { collector: 'gpu' }), 1);

  process.kill(a.pid, 'SIGTERM');
  const t0 = Date.now();
  while (alive(a.pid) && Date.now() - t0 < 10_000) await sleep(50);
  assert.equal(alive(a.pid), false, 'the agent must exit on SIGTERM');
});

test('a kernel log without read permission: readable 0 (permission_denied), xid success 0, one line naming path and EACCES', async () => {
  const kern = join(dir, 'kern.log');
  writeFileSync(kern, 'Nov 29 10:00:00 node kernel: [    0.000000] Linux version 6.1.0\n[Sun Feb 23 16:00:00 2025] NVRM: Xid (PCI:0000:9b:00): 119, pid=1, name=old, from before the agent could read\n');
  chmodSync(kern, 0o000);
  const a = await startAgent('locked', ['--kernel-log', kern, '--nvidia-smi', join(REPO_ROOT, 'test/fakes/nvidia-smi')], { withoutFileOverride: true });
  const text = await until(a, 'xid blind', (t) => value(t, 'surgeguard_collector_success', { collector: 'xid' }) !== undefined, 60_000);
  assert.equal(value(text, 'surgeguard_collector_success', { collector: 'xid' }), 0);
  assert.equal(value(text, 'surgeguard_kernel_log_readable', { path: kern, reason: 'permission_denied' }), 0);
  const lines = logLines(a).filter((l) => l.path === kern && l.level === 'warn');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.errno, 'EACCES');
  assert.match(String(lines[0]?.msg), /cannot read kernel log .*kern\.log \(permission_denied: EACCES\)/);
  // The fix (a group that may read it, here: a mode that lets it) is picked up without a restart.
  chmodSync(kern, 0o644);
  const fixed = await until(a, 'xid reading again', (t) => value(t, 'surgeguard_collector_success', { collector: 'xid' }) === 1);
  assert.equal(value(fixed, 'surgeguard_kernel_log_readable', { path: kern, reason: 'ok' }), 1);
  assert.equal(value(fixed, 'surgeguard_gpu_xid_errors_total'), undefined, 'history in a file that becomes readable is not counted as new');
  appendFileSync(kern, '[Sun Feb 23 16:40:00 2025] NVRM: Xid (PCI:0000:9b:00): 79, pid=1, name=new, GPU has fallen off the bus.\n');
  await until(a, 'the new Xid counted', (t) => value(t, 'surgeguard_gpu_xid_errors_total', { xid: '79' }) === 1);
});
