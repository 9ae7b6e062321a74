// pod, namespace and container on the per-GPU series (issue 19): who holds a GPU, read by the
// gpu_allocation collector, labels the gpu collector's series at its next cycle; the old label
// set leaves /metrics when the holder changes, and a GPU nobody (or several containers) holds
// has none of the three labels, as dcgm-exporter leaves them out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { createGpuCollector } from '../../../agent/collectors/gpu.ts';
import { createGpuAllocationCollector } from '../../../agent/collectors/gpu-allocation.ts';
import { GpuHolders, holdersByGpu, physicalGpuUuid } from '../../../agent/gpu-holders.ts';
import { GpuInventory } from '../../../agent/gpu-inventory.ts';
import type { DeviceAllocation } from '../../../agent/pod-resources.ts';
import { CollectorRunner } from '../../../agent/runner.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { silentLogger } from '../../../common/logger.ts';
import { execFromCapture, fixture } from './helpers.ts';

const alloc = (deviceId: string, pod: string, container = 'model', namespace = 'ml'): DeviceAllocation => ({ namespace, pod, container, resourceName: 'nvidia.com/gpu', deviceId });

describe('holdersByGpu: one holder per GPU, or none', () => {
  const A = 'GPU-aaaa';
  const rows: Array<{ name: string; allocations: DeviceAllocation[]; want: Record<string, string | undefined> }> = [
    { name: 'one container holds the GPU', allocations: [alloc(A, 'p1')], want: { [A]: 'ml/p1/model' } },
    { name: 'nobody holds it', allocations: [], want: { [A]: undefined } },
    { name: 'time-sliced replicas held by one container', allocations: [alloc(`${A}::0`, 'p1'), alloc(`${A}::1`, 'p1')], want: { [A]: 'ml/p1/model' } },
    { name: 'time-sliced replicas held by two pods: shared, no labels', allocations: [alloc(`${A}::0`, 'p1'), alloc(`${A}::1`, 'p2')], want: { [A]: undefined } },
    { name: 'two containers of one pod: shared', allocations: [alloc(`${A}::0`, 'p1', 'a'), alloc(`${A}::1`, 'p1', 'b')], want: { [A]: undefined } },
    { name: 'same pod name in two namespaces: shared', allocations: [alloc(`${A}::0`, 'p1', 'c', 'x'), alloc(`${A}::1`, 'p1', 'c', 'y')], want: { [A]: undefined } },
    { name: 'a MIG device names no whole GPU', allocations: [alloc('MIG-5d4b9a2e-8f3c-5b1a-9d6e-1f2a3b4c5d6e', 'p1')], want: { [A]: undefined, 'MIG-5d4b9a2e-8f3c-5b1a-9d6e-1f2a3b4c5d6e': undefined } },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const got = holdersByGpu(r.allocations);
      for (const [uuid, want] of Object.entries(r.want)) {
        const h = got.get(uuid);
        assert.equal(h ? `${h.namespace}/${h.pod}/${h.container}` : undefined, want, uuid);
      }
    });
  }

  test('physicalGpuUuid', () => {
    assert.equal(physicalGpuUuid('GPU-aaaa'), 'GPU-aaaa');
    assert.equal(physicalGpuUuid('GPU-aaaa::3'), 'GPU-aaaa');
    assert.equal(physicalGpuUuid('MIG-GPU-aaaa/1/0'), undefined);
    assert.equal(physicalGpuUuid('nic0'), undefined);
  });
});

/** An agent's two GPU collectors on a real 8-GPU capture, with a pod-resources answer the test changes. */
function twoCollectors(): { runner: CollectorRunner; setAllocations: (a: DeviceAllocation[] | Error) => void; uuids: () => string[] } {
  const inventory = new GpuInventory();
  const holders = new GpuHolders();
  let answer: DeviceAllocation[] | Error = [];
  const exec = execFromCapture(fixture('nvidia-smi/query_text/gpud_nvidia-smi-query.535.161.08.out.0.valid'));
  const gpu = createGpuCollector({ exec, logger: silentLogger(), node: 'n1', inventory, holders }, { nvidiaSmiPath: 'nvidia-smi', intervalSeconds: 5, timeoutSeconds: 3, pcieReplayIntervalSeconds: 60 });
  const client = { list: () => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)), close: () => undefined };
  const allocation = createGpuAllocationCollector({ client, inventory, holders, node: 'n1' }, { intervalSeconds: 30, timeoutSeconds: 5, resourceNames: ['nvidia.com/gpu'] });
  const runner = new CollectorRunner({ registry: createMetricRegistry(), logger: silentLogger() }, [gpu, allocation]);
  return {
    runner,
    setAllocations: (a) => {
      answer = a;
    },
    uuids: () => inventory.all().sort((x, y) => Number(x.index) - Number(y.index)).map((g) => g.uuid),
  };
}

/** The GPU collector's series lines of one GPU (by uuid), without the allocation series. */
function gpuLines(text: string, uuid: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('surgeguard_gpu_') && !l.startsWith('surgeguard_gpu_allocation') && l.includes(`uuid="${uuid}"`));
}

describe('the per-GPU series carry their holder', () => {
  test('held, moved to another pod, released, unreadable: each label set leaves /metrics when it stops being true', async () => {
    const { runner, setAllocations, uuids } = twoCollectors();
    await runner.runOnce(); // fills the inventory; nobody holds anything yet
    const [g0, g1] = uuids();
    assert.ok(g0 && g1, 'the capture has 8 GPUs');
    const before = gpuLines(runner.exposition(false), g0);
    assert.ok(before.length > 20, `GPU 0 has its series (${before.length})`);
    assert.ok(before.every((l) => !/\b(pod|namespace|container)=/.test(l)), 'no holder: no pod labels at all, not empty ones');

    setAllocations([alloc(g0, 'ranker-a')]);
    await runner.runOnce(); // the gpu collector runs before the allocation one: holders reach it next cycle
    await runner.runOnce();
    let text = runner.exposition(false);
    const held = gpuLines(text, g0);
    assert.equal(held.length, before.length, 'the same series, one label set each');
    for (const l of held) assert.match(l, /,pod="ranker-a",namespace="ml",container="model"\} /, l);
    assert.ok(gpuLines(text, g1).every((l) => !l.includes('pod=')), 'GPU 1 is not held');
    assert.match(text, new RegExp(`^surgeguard_gpu_temperature_celsius\\{node="n1",gpu="0",uuid="${g0}",gpu_model="[^"]+",pod="ranker-a",namespace="ml",container="model"\\} \\d+$`, 'm'));
    assert.match(text, /^surgeguard_gpu_allocation\{[^}]*pod="ranker-a"[^}]*\} 1$/m, 'the join series is kept');

    setAllocations([alloc(g0, 'ranker-b')]);
    await runner.runOnce();
    await runner.runOnce();
    text = runner.exposition(false);
    assert.doesNotMatch(text, /ranker-a/, 'the old holder left /metrics: per-GPU and join series alike');
    assert.equal(gpuLines(text, g0).filter((l) => l.includes('pod="ranker-b"')).length, before.length);

    setAllocations([]);
    await runner.runOnce();
    await runner.runOnce();
    text = runner.exposition(false);
    assert.doesNotMatch(text, /ranker-b/);
    assert.deepEqual(gpuLines(text, g0).map(stripValue), before.map(stripValue), 'released: back to the label sets it had before it was held');

    setAllocations([alloc(g1, 'ranker-c')]);
    await runner.runOnce();
    await runner.runOnce();
    assert.match(runner.exposition(false), /pod="ranker-c"/);
    setAllocations(new Error('kubelet socket: connection refused'));
    await runner.runOnce();
    await runner.runOnce();
    text = runner.exposition(false);
    assert.doesNotMatch(text, /ranker-c/, 'a List that failed leaves no holder behind');
    assert.equal(runner.states.get('gpu_allocation')?.lastSuccess, false);
  });

  test('promtool check metrics accepts the labelled exposition', async () => {
    const { runner, setAllocations, uuids } = twoCollectors();
    await runner.runOnce();
    setAllocations(uuids().slice(0, 4).map((u, i) => alloc(u, `ranker-${i}`)));
    await runner.runOnce();
    await runner.runOnce();
    const text = runner.exposition(false);
    assert.equal((text.match(/pod="ranker-/g) ?? []).length > 4 * 20, true);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.error, undefined, 'promtool must be installed (scripts/install-prometheus.sh)');
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
    assert.equal(r.status, 0);
  });

  test('the OTLP view carries the same labels, and none where no pod holds the GPU', async () => {
    const { runner, setAllocations, uuids } = twoCollectors();
    await runner.runOnce();
    const [g0] = uuids();
    setAllocations([alloc(g0 ?? '', 'ranker-a')]);
    await runner.runOnce();
    await runner.runOnce();
    const temp = runner.families().find((f) => f.name === 'surgeguard_gpu_temperature_celsius');
    const points = temp?.points ?? [];
    assert.equal(points.length, 8);
    assert.deepEqual(points.filter((p) => p.labels.pod !== undefined).map((p) => [p.labels.uuid, p.labels.pod, p.labels.namespace, p.labels.container]), [[g0, 'ranker-a', 'ml', 'model']]);
    assert.ok(points.filter((p) => p.labels.uuid !== g0).every((p) => !('pod' in p.labels) && !('namespace' in p.labels)), 'absent, not empty');
  });
});

function stripValue(line: string): string {
  return line.replace(/ [^ ]+$/, '');
}
