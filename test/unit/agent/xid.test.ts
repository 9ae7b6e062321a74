import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Sample } from '../../../agent/collector.ts';
import { createXidCollector, parseXidLine } from '../../../agent/collectors/xid.ts';
import { GpuInventory } from '../../../agent/gpu-inventory.ts';
import { followFile, followKmsg, type KernelLineSource } from '../../../agent/kernel-log.ts';
import { ctx, fixture, valueOf } from './helpers.ts';

const LOG = fixture('gpu-faults/gpud_dmesg-with-xid-119.log');

test('the real dmesg log has five Xid 119 lines on PCI 0000:9b:00', () => {
  const events = LOG.split('\n').map(parseXidLine).filter((e) => e !== undefined);
  assert.equal(events.length, 5);
  assert.deepEqual(new Set(events.map((e) => `${e.pciBusId} ${e.xid}`)), new Set(['0000:9b:00.0 119']));
  assert.equal(parseXidLine('[  1.0] NVRM: Xid (PCI:0000:83:00): 79, pid=\'<unknown>\', name=<unknown>, GPU has fallen off the bus.')?.xid, '79');
  assert.equal(parseXidLine('NVRM: GPU at PCI:0000:9b:00: GPU-509665ad'), undefined);
});

function lines(src: string[]): KernelLineSource {
  return { read: () => src.splice(0), close: () => undefined };
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
