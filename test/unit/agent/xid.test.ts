import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BlindError, type Sample } from '../../../agent/collector.ts';
import { createXidCollector, parseXidLine } from '../../../agent/collectors/xid.ts';
import { GpuInventory } from '../../../agent/gpu-inventory.ts';
import { followFile, followKmsg, type KernelLineSource, type KernelLogState } from '../../../agent/kernel-log.ts';
import { CollectorRunner } from '../../../agent/runner.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { REPO_ROOT } from '../../helpers/infra/process.ts';
import { captureLogger, ctx, fixture, valueOf } from './helpers.ts';

const LOG = fixture('gpu-faults/gpud_dmesg-with-xid-119.log');

test('the real dmesg log has five Xid 119 lines on PCI 0000:9b:00', () => {
  const events = LOG.split('\n').map(parseXidLine).filter((e) => e !== undefined);
  assert.equal(events.length, 5);
  assert.deepEqual(new Set(events.map((e) => `${e.pciBusId} ${e.xid}`)), new Set(['0000:9b:00.0 119']));
  assert.equal(parseXidLine('[  1.0] NVRM: Xid (PCI:0000:83:00): 79, pid=\'<unknown>\', name=<unknown>, GPU has fallen off the bus.')?.xid, '79');
  assert.equal(parseXidLine('NVRM: GPU at PCI:0000:9b:00: GPU-509665ad'), undefined);
});

function lines(src: string[]): KernelLineSource {
  return { read: () => src.splice(0), state: () => ({ source: 'file', path: '/var/log/kern.log', readable: true, reason: 'ok' }), close: () => undefined };
}

test('counts per GPU and code, with gpu/uuid from the inventory or the driver\'s own line', async () => {
  const pending = LOG.split('\n');
  const inventory = new GpuInventory();
  const c = createXidCollector({ source: lines(pending), inventory, node: 'n1' }, { intervalSeconds: 1 });
  let s = (await c.collect(ctx(1_000_000))) as Sample[];
  const labels = { node: 'n1', gpu: '', uuid: 'GPU-509665ad-b600-ac93-3616-d754b23d636d', pci_bus_id: '0000:9b:00.0', xid: '119' };
  assert.equal(valueOf(s, 'surgeguard_gpu_xid_errors_total', labels), 5);
  assert.equal(valueOf(s, 'surgeguard_gpu_xid_last_timestamp_seconds', labels), 1000);
  inventory.update([{ index: '4', uuid: 'GPU-509665ad-b600-ac93-3616-d754b23d636d', model: 'NVIDIA H100 80GB HBM3', pciBusId: '0000:9b:00.0' }]);
  pending.push('[Sun Feb 23 16:40:00 2025] NVRM: Xid (PCI:0000:9b:00): 79, pid=1, name=x, GPU has fallen off the bus.');
  s = (await c.collect(ctx(2_000_000))) as Sample[];
  assert.equal(valueOf(s, 'surgeguard_gpu_xid_errors_total', { gpu: '4', xid: '119' }), 5);
  assert.equal(valueOf(s, 'surgeguard_gpu_xid_errors_total', { gpu: '4', xid: '79' }), 1);
});

test('following a file: starts at the end, reads appends, survives rotation, truncation and disappearance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-xid-'));
  const file = join(dir, 'kern.log');
  const all = LOG.split('\n').filter(Boolean);
  writeFileSync(file, `${all.slice(0, 10).join('\n')}\n`);
  const f = followFile(file);
  try {
    assert.deepEqual(f.read(), [], 'what was there before start is not read');
    appendFileSync(file, `${all.slice(10, 20).join('\n')}\nhalf a li`);
    assert.deepEqual(f.read(), all.slice(10, 20));
    appendFileSync(file, 'ne\n');
    assert.deepEqual(f.read(), ['half a line']);
    // Rotation: the old file gets one more line after the rename, then a new file appears.
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, 'last line of the old file\n');
    writeFileSync(file, 'first line of the new file\n');
    assert.deepEqual(f.read(), ['last line of the old file', 'first line of the new file']);
    // A read in the gap between the rename and the create: the old file is still followed, so
    // what the writer appends to it before reopening is not lost.
    renameSync(file, `${file}.1`);
    assert.deepEqual(f.read(), []);
    appendFileSync(`${file}.1`, 'written in the gap\n');
    assert.deepEqual(f.read(), ['written in the gap']);
    appendFileSync(`${file}.1`, 'and after it\n');
    writeFileSync(file, 'first line of the third file\n');
    assert.deepEqual(f.read(), ['and after it', 'first line of the third file']);
    // Truncation in place (copytruncate).
    truncateSync(file, 0);
    appendFileSync(file, 'after truncate\n');
    assert.deepEqual(f.read(), ['after truncate']);
    // The file disappears: nothing, no error; it comes back: read from its start.
    rmSync(file);
    assert.deepEqual(f.read(), []);
    assert.deepEqual(f.read(), []);
    writeFileSync(file, 'back again\n');
    assert.deepEqual(f.read(), ['back again']);
  } finally {
    f.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/dev/kmsg records: those older than the agent are skipped, new ones read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-kmsg-'));
  const kmsg = join(dir, 'kmsg');
  const uptime = join(dir, 'uptime');
  writeFileSync(uptime, '4.00 7.00\n'); // the agent starts 4 s after boot
  writeFileSync(
    kmsg,
    [
      '6,100,3000000,-;NVRM: Xid (PCI:0000:9b:00): 119, pid=1, name=old, before the agent started',
      '4,101,5000000,-;NVRM: Xid (PCI:0000:9b:00): 79, pid=2, name=new, GPU has fallen off the bus.',
      ' SUBSYSTEM=pci',
      '6,102,6000000,c;NVRM: GPU at PCI:0000:9b:00: GPU-509665ad-b600-ac93-3616-d754b23d636d',
      '',
    ].join('\n'),
  );
  const src = followKmsg(kmsg, uptime);
  try {
    let got: string[] = [];
    for (let i = 0; i < 50 && got.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      got = got.concat(src.read());
    }
    assert.deepEqual(got, ['NVRM: Xid (PCI:0000:9b:00): 79, pid=2, name=new, GPU has fallen off the bus.', 'NVRM: GPU at PCI:0000:9b:00: GPU-509665ad-b600-ac93-3616-d754b23d636d']);
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Opens `path` with followFile in a child process and returns its state, or undefined when the
 * child did not answer within 10 s (the open blocked). With `noFileOverride`, a root child runs
 * without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so file modes bind it as they bind uid 65532.
 */
function stateInChild(path: string, opts: { noFileOverride?: boolean } = {}): KernelLogState | undefined {
  const script = `import { followFile } from ${JSON.stringify(`${REPO_ROOT}agent/kernel-log.ts`)};
const f = followFile(process.argv[1]); f.read(); process.stdout.write(JSON.stringify(f.state())); f.close();`;
  const node = [process.execPath, '--input-type=module', '-e', script, path];
  const asRoot = process.getuid?.() === 0;
  const [cmd, ...args] = opts.noFileOverride && asRoot ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', ...node] : node;
  const r = spawnSync(cmd ?? '', args, { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' });
  assert.equal(r.error === undefined || (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT', true, String(r.error));
  return r.status === 0 && r.stdout ? (JSON.parse(r.stdout) as KernelLogState) : undefined;
}

test('kernel log states: readable, missing, a directory, a FIFO (without blocking), no permission', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-klog-state-'));
  try {
    const file = join(dir, 'kern.log');
    writeFileSync(file, 'x\n');
    assert.deepEqual(stateInChild(file), { source: 'file', path: file, readable: true, reason: 'ok' });
    assert.deepEqual(stateInChild(join(dir, 'absent.log')), { source: 'file', path: join(dir, 'absent.log'), readable: false, reason: 'missing', detail: 'ENOENT' });
    mkdirSync(join(dir, 'log-dir'));
    assert.deepEqual(stateInChild(join(dir, 'log-dir')), { source: 'file', path: join(dir, 'log-dir'), readable: false, reason: 'not_a_regular_file', detail: 'directory' });
    const fifo = join(dir, 'kern.fifo');
    const mk = spawnSync('mkfifo', [fifo]);
    assert.equal(mk.status, 0, 'mkfifo must exist');
    assert.deepEqual(stateInChild(fifo), { source: 'file', path: fifo, readable: false, reason: 'not_a_regular_file', detail: 'fifo' }, 'opening a FIFO must not wait for a writer');
    // Debian's kern.log is 0640 root:adm and the agent runs as uid 65532 without group adm.
    const locked = join(dir, 'locked.log');
    writeFileSync(locked, 'secret\n');
    chmodSync(locked, 0o000);
    assert.deepEqual(stateInChild(locked, { noFileOverride: true }), { source: 'file', path: locked, readable: false, reason: 'permission_denied', detail: 'EACCES' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing, then present kernel log: blind (success 0, readable 0, one warning naming path and errno), then counting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-xid-blind-'));
  const file = join(dir, 'kern.log');
  const { logger, lines: logLines } = captureLogger();
  const registry = createMetricRegistry();
  const c = createXidCollector({ source: followFile(file), inventory: new GpuInventory(), node: 'n1', logger }, { intervalSeconds: 1 });
  const runner = new CollectorRunner({ registry, logger, now: () => 1_000_000 }, [c]);
  const scrape = async (): Promise<string> => (await registry.render()).body + runner.exposition(false);
  try {
    await assert.rejects(c.collect(ctx()), (err) => err instanceof BlindError && /cannot read kernel log .*kern\.log \(missing: ENOENT\)/.test(err.message));
    await runner.runOnce();
    await runner.runOnce();
    let text = await scrape();
    assert.match(text, /^surgeguard_collector_success\{collector="xid"\} 0$/m);
    assert.match(text, new RegExp(`^surgeguard_kernel_log_readable\\{node="n1",source="file",path="${file}",reason="missing"\\} 0$`, 'm'));
    const warns = logLines().filter((l) => l.level === 'warn' && l.path === file);
    assert.equal(warns.length, 1, 'the blind state is logged once, not every cycle');
    assert.equal(warns[0]?.errno, 'ENOENT');
    writeFileSync(file, '[  1.0] NVRM: Xid (PCI:0000:83:00): 79, pid=1, name=x, GPU has fallen off the bus.\n');
    await runner.runOnce();
    text = await scrape();
    assert.match(text, /^surgeguard_collector_success\{collector="xid"\} 1$/m);
    assert.match(text, /^surgeguard_kernel_log_readable\{[^}]*reason="ok"\} 1$/m);
    assert.match(text, /^surgeguard_gpu_xid_errors_total\{[^}]*xid="79"\} 1$/m);
    assert.ok(logLines().some((l) => l.level === 'info' && l.msg === 'kernel log readable again; XID errors are counted'));
  } finally {
    await runner.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('counts stay served while the log is unreadable: a counter that vanished would look like a reset', async () => {
  let state: KernelLogState = { source: 'file', path: '/var/log/kern.log', readable: true, reason: 'ok' };
  const pending = ['NVRM: Xid (PCI:0000:9b:00): 119, pid=1, name=x, Timeout'];
  const src: KernelLineSource = { read: () => pending.splice(0), state: () => state, close: () => undefined };
  const c = createXidCollector({ source: src, inventory: new GpuInventory(), node: 'n1' }, { intervalSeconds: 1 });
  assert.equal(valueOf((await c.collect(ctx())) as Sample[], 'surgeguard_gpu_xid_errors_total'), 1);
  state = { ...state, readable: false, reason: 'permission_denied', detail: 'EACCES' };
  const err = await c.collect(ctx()).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof BlindError);
  assert.equal(valueOf(err.samples, 'surgeguard_gpu_xid_errors_total'), 1);
  assert.equal(valueOf(err.samples, 'surgeguard_kernel_log_readable', { reason: 'permission_denied' }), 0);
});
