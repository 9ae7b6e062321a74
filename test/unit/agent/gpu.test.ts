import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DISABLED, isUnavailable, type Sample } from '../../../agent/collector.ts';
import { createGpuCollector, parsePcieReplays } from '../../../agent/collectors/gpu.ts';
import { parseMigDevices } from '../../../agent/collectors/mig.ts';
import { GPU_FIELDS, isAbsent, parseGpuCsv } from '../../../agent/collectors/gpu-csv.ts';
import { GpuHolders } from '../../../agent/gpu-holders.ts';
import { GpuInventory } from '../../../agent/gpu-inventory.ts';
import { normalizePciBusId } from '../../../agent/pci.ts';
import { hasCode } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import type { ExecFn } from '../../../agent/exec.ts';
import { parseQueryText, toQueryCsv } from '../../tools/nvidia-smi-convert.ts';
import { FIXTURES, captureLogger, ctx, execFromCapture, fixture, valueOf } from './helpers.ts';

const CONFIG = { nvidiaSmiPath: 'nvidia-smi', intervalSeconds: 5, timeoutSeconds: 3, pcieReplayIntervalSeconds: 60 };
const MIB = 1024 * 1024;

async function collect(exec: ExecFn, inventory = new GpuInventory()): Promise<Sample[]> {
  const c = createGpuCollector({ exec, logger: silentLogger(), node: 'n1', inventory, holders: new GpuHolders() }, CONFIG);
  const out = await c.collect(ctx());
  assert.notEqual(out, DISABLED);
  return out as Sample[];
}

type Want = Record<string, number | undefined>;

// One row per real capture: the values nvidia-smi printed, converted to base units; undefined
// means the cell was N/A (or similar) and the series must be absent, never 0.
const TABLE: Array<{ file: string; gpus: number; want: Want; labels?: Record<string, string> }> = [
  {
    file: 'csv/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load__query-gpu.csv',
    gpus: 1,
    labels: { gpu: '0', uuid: 'GPU-00000000-0000-0000-0000-000000000000', gpu_model: 'NVIDIA H100 80GB HBM3' },
    want: {
      surgeguard_gpu_utilization_ratio: 1,
      surgeguard_gpu_memory_utilization_ratio: 0.11,
      surgeguard_gpu_memory_used_bytes: 19818 * MIB,
      surgeguard_gpu_memory_total_bytes: 81559 * MIB,
      surgeguard_gpu_temperature_celsius: 59,
      surgeguard_gpu_memory_temperature_celsius: 54,
      surgeguard_gpu_power_watts: 631.95,
      surgeguard_gpu_power_limit_watts: 700,
      surgeguard_gpu_sm_clock_hertz: 1980e6,
      surgeguard_gpu_memory_clock_hertz: 2619e6,
      surgeguard_gpu_pcie_link_generation: 5,
      surgeguard_gpu_pcie_link_width: 16,
      surgeguard_gpu_fan_ratio: undefined,
      surgeguard_gpu_mig_enabled: 0,
      surgeguard_gpu_retired_pages_pending: undefined,
    },
  },
  {
    file: 'csv/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle__query-gpu.csv',
    gpus: 1,
    want: { surgeguard_gpu_utilization_ratio: 0, surgeguard_gpu_power_watts: 69.85, surgeguard_gpu_sm_clock_hertz: 345e6, surgeguard_gpu_temperature_celsius: 41 },
  },
  {
    file: 'csv/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-mig__590.48.01__idle__query-gpu.csv',
    gpus: 1,
    want: { surgeguard_gpu_utilization_ratio: undefined, surgeguard_gpu_memory_utilization_ratio: undefined, surgeguard_gpu_mig_enabled: 1, surgeguard_gpu_power_watts: 71.15, surgeguard_gpu_memory_used_bytes: 59 * MIB },
  },
  {
    file: 'csv/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-mig__590.48.01__load__query-gpu.csv',
    gpus: 1,
    want: { surgeguard_gpu_utilization_ratio: undefined, surgeguard_gpu_mig_enabled: 1, surgeguard_gpu_power_watts: 433.78, surgeguard_gpu_memory_temperature_celsius: 59 },
  },
  {
    file: 'csv/nvidia_gpu_exporter_linux-x86_64__nvidia-l40s__595.80__load__query-gpu.csv',
    gpus: 1,
    want: { surgeguard_gpu_utilization_ratio: 0.09, surgeguard_gpu_memory_temperature_celsius: undefined, surgeguard_gpu_mig_enabled: undefined, surgeguard_gpu_power_watts: 110.23, surgeguard_gpu_memory_clock_hertz: 9001e6, surgeguard_gpu_pcie_link_generation: 4 },
  },
  {
    file: 'csv/nvidia_gpu_exporter_linux-x86_64__nvidia-l40s__595.80__idle__query-gpu.csv',
    gpus: 1,
    want: { surgeguard_gpu_utilization_ratio: 1, surgeguard_gpu_power_watts: 144.97, surgeguard_gpu_power_limit_watts: 350 },
  },
  // -q text, converted: remapped rows pending on an A10 (needs a reset).
  {
    file: 'query_text/gpud_nvidia-smi-query.535.129.03.out.0.valid.a10',
    gpus: 1,
    labels: { gpu: '0', uuid: 'GPU-73d12ef7-f589-f867-4259-c7090ab44736', gpu_model: 'NVIDIA A10' },
    want: { surgeguard_gpu_fan_ratio: 0, surgeguard_gpu_power_watts: 43.89, surgeguard_gpu_mig_enabled: undefined, surgeguard_gpu_retired_pages_pending: undefined },
  },
  { file: 'query_text/gpud_nvidia-smi-query.535.154.05.out.0.valid.4090', gpus: 8, want: { surgeguard_gpu_memory_used_bytes: 6730 * MIB, surgeguard_gpu_fan_ratio: 0.72, surgeguard_gpu_pcie_link_generation: 1 } },
  { file: 'query_text/gpud_nvidia-smi-query.535.154.05.out.0.valid', gpus: 8, want: { surgeguard_gpu_memory_used_bytes: 20328 * MIB, surgeguard_gpu_fan_ratio: 0.38, surgeguard_gpu_power_watts: 67.76 } },
  { file: 'query_text/gpud_nvidia-smi-query.535.154.05.out.1.valid', gpus: 8, want: { surgeguard_gpu_power_watts: 18.9, surgeguard_gpu_temperature_celsius: 30 } },
  { file: 'query_text/gpud_nvidia-smi-query.535.154.05.out.2.valid', gpus: 8, want: { surgeguard_gpu_power_watts: 22.43, surgeguard_gpu_temperature_celsius: 50 } },
  { file: 'query_text/gpud_nvidia-smi-query.535.154.05.out.3.valid', gpus: 8, want: { surgeguard_gpu_memory_used_bytes: 22078 * MIB, surgeguard_gpu_fan_ratio: 1 } },
  { file: 'query_text/gpud_nvidia-smi-query.535.161.08.out.0.valid', gpus: 8, want: { surgeguard_gpu_memory_total_bytes: 81559 * MIB, surgeguard_gpu_memory_temperature_celsius: 39, surgeguard_gpu_mig_enabled: 0 } },
  { file: 'query_text/gpud_nvidia-smi-query.535.183.01.out.0.valid', gpus: 8, want: { surgeguard_gpu_power_watts: 71.97, surgeguard_gpu_sm_clock_hertz: 345e6 } },
  { file: 'query_text/gpud_nvidia-smi-query.560.35.03.out.0.valid', gpus: 1, want: { surgeguard_gpu_memory_used_bytes: 290 * MIB, surgeguard_gpu_fan_ratio: 0.3, surgeguard_gpu_power_limit_watts: 250 } },
  { file: 'query_text/azhpc-diagnostics_nvidia-smi-q.out', gpus: 8, want: {} },
  // -q -x XML, converted: a V100 with ECC errors, two retired pages and a pending retirement.
  {
    file: 'xml/openpai_nvidia_smi_retired_pages.xml',
    gpus: 1,
    labels: { gpu: '0', uuid: 'GPU-ef23ffa6-c9fd-93d5-aeb8-612c087255ff', gpu_model: 'Tesla V100-SXM3-32GB' },
    want: { surgeguard_gpu_retired_pages_pending: 1, surgeguard_gpu_power_watts: 50.6, surgeguard_gpu_memory_total_bytes: 32480 * MIB, surgeguard_gpu_fan_ratio: undefined },
  },
  { file: 'xml/telegraf_a100-sxm4-v12.xml', gpus: 1, want: { surgeguard_gpu_mig_enabled: 1, surgeguard_gpu_utilization_ratio: undefined, surgeguard_gpu_memory_temperature_celsius: 44 } },
  { file: 'xml/openpai_nvidia_smi_out_of_order.xml', gpus: 4, want: {} },
  { file: 'xml/openpai_nvidia_smi_outdated_gpu.xml', gpus: 1, want: { surgeguard_gpu_utilization_ratio: undefined, surgeguard_gpu_memory_total_bytes: undefined, surgeguard_gpu_power_watts: undefined } },
  { file: 'xml/openpai_nvidia_smi_sample.xml', gpus: 2, want: { surgeguard_gpu_utilization_ratio: 1, surgeguard_gpu_power_watts: 119.47 } },
  { file: 'xml/openpai_nvidia_smi_sample_ecc_unsupported.xml', gpus: 2, want: {} },
  { file: 'xml/telegraf_gtx-1070-ti.xml', gpus: 1, want: { surgeguard_gpu_power_watts: undefined, surgeguard_gpu_power_limit_watts: undefined, surgeguard_gpu_fan_ratio: 1 } },
  { file: 'xml/telegraf_gtx-1660-ti.xml', gpus: 1, want: {} },
  { file: 'xml/telegraf_quadro-p2000-v12.xml', gpus: 1, want: {} },
  { file: 'xml/telegraf_quadro-p400.xml', gpus: 1, want: {} },
  { file: 'xml/telegraf_rtx-3060-v12.xml', gpus: 1, want: {} },
  { file: 'xml/telegraf_rtx-3080-v12.xml', gpus: 1, want: {} },
  { file: 'xml/telegraf_rtx-3080-v13.xml', gpus: 1, want: { surgeguard_gpu_utilization_ratio: 0.65 } },
  { file: 'xml/telegraf_rtx-4000-sff-ada-v13.xml', gpus: 1, want: {} },
  { file: 'xml/telegraf_tesla-t4.xml', gpus: 1, want: { surgeguard_gpu_power_watts: 26.78, surgeguard_gpu_power_limit_watts: 70 } },
];

describe('gpu collector over every real capture the parser can read', () => {
  test('the table covers every fixture except the corrupt one', () => {
    const files = ['csv', 'query_text', 'xml'].flatMap((d) => readdirSync(`${FIXTURES}nvidia-smi/${d}`).map((f) => `${d}/${f}`));
    const covered = new Set(TABLE.map((r) => r.file));
    assert.deepEqual(files.filter((f) => !covered.has(f) && !f.endsWith('.invalid')), []);
  });

  for (const row of TABLE) {
    test(row.file, async () => {
      const text = fixture(`nvidia-smi/${row.file}`);
      const samples = await collect(execFromCapture(text));
      assert.equal(samples.filter((s) => s.name === 'surgeguard_gpu_info').length, row.gpus);
      for (const [name, want] of Object.entries(row.want)) {
        const got = valueOf(samples, name, { gpu: '0' });
        if (want === undefined) assert.equal(got, undefined, `${name} must be absent`);
        else assert.ok(got !== undefined && Math.abs(got - want) < 1e-6, `${name}: got ${got}, want ${want}`);
      }
      if (row.labels) {
        const info = samples.find((s) => s.name === 'surgeguard_gpu_info' && s.labels.gpu === '0');
        assert.deepEqual({ gpu: info?.labels.gpu, uuid: info?.labels.uuid, gpu_model: info?.labels.gpu_model }, row.labels);
      }
      // Generic rule over every field: an N/A-like cell gives no series; nothing is NaN.
      const csvRows = parseGpuCsv(toQueryCsv(text), GPU_FIELDS);
      for (const s of samples) assert.ok(Number.isFinite(s.value), `${s.name} is ${s.value}`);
      for (const [i, r] of csvRows.entries()) {
        const g = String(i);
        if (isAbsent(r.get('utilization.gpu'))) assert.equal(valueOf(samples, 'surgeguard_gpu_utilization_ratio', { gpu: g }), undefined);
        if (isAbsent(r.get('temperature.memory'))) assert.equal(valueOf(samples, 'surgeguard_gpu_memory_temperature_celsius', { gpu: g }), undefined);
        if (isAbsent(r.get('fan.speed'))) assert.equal(valueOf(samples, 'surgeguard_gpu_fan_ratio', { gpu: g }), undefined);
        if (isAbsent(r.get('ecc.errors.corrected.aggregate.total'))) assert.equal(valueOf(samples, 'surgeguard_gpu_ecc_aggregate_errors_total', { gpu: g, type: 'corrected' }), undefined);
      }
    });
  }

  test('ECC, retired pages and remapped rows from the -q and XML cases', async () => {
    const v100 = await collect(execFromCapture(fixture('nvidia-smi/xml/openpai_nvidia_smi_retired_pages.xml')));
    assert.equal(valueOf(v100, 'surgeguard_gpu_ecc_aggregate_errors_total', { type: 'corrected' }), 291);
    assert.equal(valueOf(v100, 'surgeguard_gpu_ecc_aggregate_errors_total', { type: 'uncorrected' }), 7627);
    assert.equal(valueOf(v100, 'surgeguard_gpu_retired_pages', { cause: 'double_bit' }), 2);
    assert.equal(valueOf(v100, 'surgeguard_gpu_retired_pages', { cause: 'single_bit' }), 0);
    assert.equal(valueOf(v100, 'surgeguard_gpu_row_remap_pending'), undefined);

    const a10 = await collect(execFromCapture(fixture('nvidia-smi/query_text/gpud_nvidia-smi-query.535.129.03.out.0.valid.a10')));
    assert.equal(valueOf(a10, 'surgeguard_gpu_remapped_rows', { kind: 'uncorrectable' }), 4);
    assert.equal(valueOf(a10, 'surgeguard_gpu_remapped_rows', { kind: 'correctable' }), 0);
    assert.equal(valueOf(a10, 'surgeguard_gpu_row_remap_pending'), 1);
    assert.equal(valueOf(a10, 'surgeguard_gpu_row_remap_failure'), 0);
    // Counts only under remapped_rows, so a sum over kind is the rows remapped.
    assert.deepEqual(a10.filter((s) => s.name === 'surgeguard_gpu_remapped_rows' && s.labels.gpu === '0').map((s) => s.labels.kind).sort(), ['correctable', 'uncorrectable']);
    assert.equal(valueOf(a10, 'surgeguard_gpu_retired_pages', { cause: 'double_bit' }), undefined);
    assert.equal(valueOf(a10, 'surgeguard_gpu_throttle_reason', { reason: 'gpu_idle' }), 1);
    assert.equal(valueOf(a10, 'surgeguard_gpu_throttle_reason', { reason: 'hw_thermal_slowdown' }), 0);

    const h100 = await collect(execFromCapture(fixture('nvidia-smi/csv/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load__query-gpu.csv')));
    assert.equal(valueOf(h100, 'surgeguard_gpu_recovery_action', { action: 'none' }), 1);
    assert.equal(valueOf(h100, 'surgeguard_gpu_ecc_volatile_errors_total', { type: 'uncorrected' }), 0);
    const info = h100.find((s) => s.name === 'surgeguard_gpu_info');
    assert.deepEqual(info?.labels, { node: 'n1', gpu: '0', uuid: 'GPU-00000000-0000-0000-0000-000000000000', gpu_model: 'NVIDIA H100 80GB HBM3', pci_bus_id: '0000:00:09.0', driver_version: '590.48.01', vbios_version: '96.00.A5.00.01' });
  });

  test('the corrupt -q capture is refused by the converter', () => {
    assert.throws(() => parseQueryText(fixture('nvidia-smi/query_text/gpud_nvidia-smi-query.535.183.01.out.0.invalid')), /ends before "FB Memory Usage"/);
  });
});

describe('gpu collector behaviour', () => {
  const h100 = fixture('nvidia-smi/captures/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt').split('# load :: query-gpu')[1]?.split('\n').slice(3, 5).join('\n') ?? '';

  test('a field the driver does not know is dropped once and never asked again', async () => {
    const calls: string[][] = [];
    const exec = execFromCapture(h100, { unknown: ['power.draw.instant', 'gpu_recovery_action'], calls });
    const c = createGpuCollector({ exec, logger: silentLogger(), node: 'n1', inventory: new GpuInventory(), holders: new GpuHolders() }, CONFIG);
    const first = (await c.collect(ctx())) as Sample[];
    assert.equal(valueOf(first, 'surgeguard_gpu_power_watts'), 631.95);
    assert.equal(valueOf(first, 'surgeguard_gpu_recovery_action', { action: 'none' }), undefined);
    const queries = () => calls.filter((a) => a[0]?.startsWith('--query-gpu='));
    assert.equal(queries().length, 3);
    calls.length = 0;
    await c.collect(ctx(1_700_000_001_000));
    assert.equal(queries().length, 1);
    assert.ok(!queries()[0]?.[0]?.includes('power.draw.instant'));
  });

  test('power.draw N/A falls back to power.draw.instant', async () => {
    const exec: ExecFn = (_f, args) => {
      const fields = (args[0] ?? '').slice('--query-gpu='.length).split(',');
      const cells = fields.map((f) => ({ index: '0', uuid: 'GPU-1', name: 'X', 'power.draw': '[N/A]', 'power.draw.instant': '123.40' })[f] ?? '[Not Supported]');
      return Promise.resolve({ stdout: `${cells.join(', ')}\n`, stderr: '', exitCode: 0 });
    };
    const s = await collect(exec);
    assert.equal(valueOf(s, 'surgeguard_gpu_power_watts'), 123.4);
    assert.equal(valueOf(s, 'surgeguard_gpu_temperature_celsius'), undefined);
  });

  test('no nvidia-smi: unavailable (not failing), warned once, looked for again with backoff, found when the driver arrives', async () => {
    let installed = false;
    const base = execFromCapture(h100);
    const exec: ExecFn = (f, a, o) => (installed ? base(f, a, o) : Promise.reject(Object.assign(new Error('spawn /usr/bin/nvidia-smi ENOENT'), { code: 'ENOENT' })));
    const { logger, lines } = captureLogger();
    const c = createGpuCollector({ exec, logger, node: 'n1', inventory: new GpuInventory(), holders: new GpuHolders() }, { ...CONFIG, nvidiaSmiPath: '/usr/bin/nvidia-smi' });
    const retries: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await c.collect(ctx());
      assert.ok(isUnavailable(r));
      retries.push(r.retryAfterMs);
      assert.deepEqual(r.samples, [{ name: 'surgeguard_gpu_nvidia_smi_available', labels: { node: 'n1', path: '/usr/bin/nvidia-smi' }, value: 0 }]);
    }
    assert.deepEqual(retries, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    const warns = lines().filter((l) => l.level === 'warn');
    assert.equal(warns.length, 1, 'warned once, not on every retry');
    assert.equal(warns[0]?.path, '/usr/bin/nvidia-smi');
    assert.equal(warns[0]?.errno, 'ENOENT');
    installed = true;
    const s = (await c.collect(ctx())) as Sample[];
    assert.equal(valueOf(s, 'surgeguard_gpu_nvidia_smi_available'), 1);
    assert.ok((valueOf(s, 'surgeguard_gpu_power_watts') ?? 0) > 0);
    assert.ok(lines().some((l) => l.level === 'info' && l.msg === 'nvidia-smi found; GPU metrics resume'));
  });

  test('corrupt or truncated output is a collector error with a stable code', async () => {
    const truncated = toQueryCsv(h100).slice(0, 200);
    for (const stdout of ['0, GPU-\u0000garbage, , ,\n', truncated, 'not,a,csv\n']) {
      const exec: ExecFn = () => Promise.resolve({ stdout, stderr: '', exitCode: 0 });
      await assert.rejects(collect(exec), (err) => hasCode(err, 'SG_COLLECTOR_FAILED') && /not the CSV asked for/.test((err as Error).message));
    }
    const failing: ExecFn = () => Promise.resolve({ stdout: 'NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n', stderr: '', exitCode: 9 });
    await assert.rejects(collect(failing), /exited 9: NVIDIA-SMI has failed/);
  });

  test('a node with the driver but no GPU reports no series and no error', async () => {
    const exec: ExecFn = () => Promise.resolve({ stdout: 'No devices were found\n', stderr: '', exitCode: 6 });
    assert.deepEqual(await collect(exec), [{ name: 'surgeguard_gpu_nvidia_smi_available', labels: { node: 'n1', path: 'nvidia-smi' }, value: 1 }]);
  });

  test('PCIe replays come from -q and are matched by normalised bus id', async () => {
    const q = fixture('nvidia-smi/captures/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt').split('# load :: query (-q)')[1] ?? '';
    assert.deepEqual([...parsePcieReplays(q)], [['0000:00:09.0', 9]]);
    const base = execFromCapture(h100);
    const exec: ExecFn = (f, args, o) => (args.includes('-q') ? Promise.resolve({ stdout: q, stderr: '', exitCode: 0 }) : base(f, args, o));
    const inventory = new GpuInventory();
    const s = await collect(exec, inventory);
    assert.equal(valueOf(s, 'surgeguard_gpu_pcie_replays_total'), 9);
    assert.equal(inventory.byPciBusId('0000:00:09.0')?.index, '0');
  });
});

describe('MIG instances', () => {
  const capture = fixture('nvidia-smi/captures/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-mig__590.48.01.txt');
  const idle = (capture.split('# idle :: query (-q)')[1] ?? '').split('# load :: ')[0] ?? '';
  const load = capture.split('# load :: query (-q)')[1] ?? '';

  test('a real H100 with four MIG instances: index, instance ids, SMs and memory from nvidia-smi -q', () => {
    const idleDevices = parseMigDevices(idle).get('0000:00:09.0') ?? [];
    assert.deepEqual(idleDevices.map((d) => [d.index, d.gpuInstance, d.computeInstance, d.multiprocessors, (d.memoryTotalBytes ?? 0) / MIB]), [
      ['0', '2', '0', 60, 40448],
      ['1', '3', '0', 32, 20096],
      ['2', '9', '0', 16, 9984],
      ['3', '10', '0', 16, 9984],
    ]);
    // Under load the first instance holds the burn's memory: 11091 MiB of 40448, as the table shows.
    const loaded = parseMigDevices(load).get('0000:00:09.0') ?? [];
    assert.equal((loaded[0]?.memoryUsedBytes ?? 0) / MIB, 11091);
    assert.ok((idleDevices[0]?.memoryUsedBytes ?? Infinity) < 100 * MIB);
  });

  test('a GPU without MIG, or -q text cut short, gives no instance and no error', () => {
    const plain = fixture('nvidia-smi/captures/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt').split('# load :: query (-q)')[1] ?? '';
    assert.equal(parseMigDevices(plain).size, 0);
    const cut = load.slice(0, load.indexOf('GPU Instance ID'));
    assert.equal(parseMigDevices(cut).size, 0, 'a block without its instance ids is dropped');
  });

  test('the collector reads all of -q when a GPU has MIG on and exports each instance', async () => {
    const base = execFromCapture(capture);
    const asked: string[][] = [];
    const exec: ExecFn = (f, args, o) => (args.includes('-q') ? (asked.push([...args]), Promise.resolve({ stdout: load, stderr: '', exitCode: 0 })) : base(f, args, o));
    const s = await collect(exec);
    assert.deepEqual(asked, [['-q']], 'all of -q: the MIG blocks are not in -d PCIE');
    // The capture is masked: its two GPUs share one bus id, so each is matched to the same four instances.
    const used = s.filter((x) => x.name === 'surgeguard_gpu_mig_memory_used_bytes' && x.labels.gpu === '0');
    assert.equal(used.length, 4);
    assert.deepEqual(used.find((x) => x.labels.gpu_instance === '2')?.labels, { node: 'n1', gpu: '0', uuid: 'GPU-00000000-0000-0000-0000-000000000000', gpu_model: 'NVIDIA H100 80GB HBM3', gpu_instance: '2', compute_instance: '0', mig_device: '0' });
    assert.equal(used.find((x) => x.labels.gpu_instance === '2')?.value, 11091 * MIB);
  });
});

describe('normalizePciBusId', () => {
  const rows: Array<[string, string | undefined]> = [
    ['00000000:83:00.0', '0000:83:00.0'],
    ['PCI:0000:83:00', '0000:83:00.0'],
    ['PCI:0000:9B:00', '0000:9b:00.0'],
    ['0000:9b:00.0', '0000:9b:00.0'],
    ['00000001:0A:1F.3', '0001:0a:1f.3'],
    ['83:00.0', '0000:83:00.0'],
    ['GPU-123', undefined],
    ['', undefined],
  ];
  for (const [input, want] of rows) test(JSON.stringify(input), () => assert.equal(normalizePciBusId(input), want));
});
