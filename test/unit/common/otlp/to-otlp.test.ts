// The bridge from what /metrics serves to OpenTelemetry metric data: same values, gauges as
// gauges, counters as cumulative monotonic sums, histograms with per-bucket counts, and the
// renamed families under their semantic-convention names only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { createMetricRegistry } from '../../../../common/metrics.ts';
import { registryFamilies, type BridgeFamily } from '../../../../common/otlp/families.ts';
import { checkRenames, toMetricDataList, unitOf, type OtelRename, type RenameTable } from '../../../../common/otlp/to-otlp.ts';
import { toHrTime } from '../../../../common/otlp/exporter.ts';

const times = { start: toHrTime(1_000_000), now: toHrTime(1_060_500) };
const byName = (list: MetricData[], name: string): MetricData => {
  const m = list.find((x) => x.descriptor.name === name);
  assert.ok(m, `${name} exported`);
  return m;
};

test('toHrTime splits milliseconds into seconds and nanoseconds', () => {
  assert.deepEqual(toHrTime(1_060_500), [1060, 500_000_000]);
  assert.deepEqual(toHrTime(1.25), [0, 1_250_000]);
});

test('units from the base-unit suffix, _total set aside; none for other names', () => {
  const rows: Array<[string, string]> = [
    ['surgeguard_collector_duration_seconds', 's'],
    ['process_cpu_seconds_total', 's'],
    ['surgeguard_gpu_mig_memory_used_bytes', 'By'],
    ['surgeguard_gpu_memory_utilization_ratio', '1'],
    ['surgeguard_gpu_power_limit_watts', 'W'],
    ['surgeguard_gpu_sm_clock_hertz', 'Hz'],
    ['surgeguard_gpu_xid_errors_total', ''],
    ['surgeguard_collector_success', ''],
  ];
  for (const [name, unit] of rows) assert.equal(unitOf(name), unit, name);
});

test('a real registry: gauge, counter and histogram keep their values, names and labels', async () => {
  const r = createMetricRegistry();
  r.gauge('surgeguard_collector_success', 'ok', ['collector']).set({ collector: 'gpu' }, 1);
  r.counter('surgeguard_decisions_total', 'd', ['decision', 'reason']).inc({ decision: 'scale', reason: 'Forecast' }, 3);
  const h = r.histogram('surgeguard_tick_duration_seconds', 't', ['phase'], [0.1, 1, 10]);
  for (const v of [0.05, 0.5, 0.7, 5, 50]) h.observe({ phase: 'decide' }, v);
  r.gauge('surgeguard_unset', 'never set', ['x']);
  const list = toMetricDataList(await registryFamilies(r.registry).families(), new Map(), times);

  assert.equal(list.find((m) => m.descriptor.name === 'surgeguard_unset'), undefined, 'a family without series is left out, as /metrics leaves it out');
  const g = byName(list, 'surgeguard_collector_success');
  assert.equal(g.dataPointType, DataPointType.GAUGE);
  assert.deepEqual(g.dataPoints.map((p) => [p.attributes, p.value, p.startTime, p.endTime]), [[{ collector: 'gpu' }, 1, times.now, times.now]]);

  const c = byName(list, 'surgeguard_decisions_total');
  assert.ok(c.dataPointType === DataPointType.SUM && c.isMonotonic);
  assert.equal(c.aggregationTemporality, AggregationTemporality.CUMULATIVE);
  assert.deepEqual(c.dataPoints.map((p) => [p.attributes, p.value, p.startTime]), [[{ decision: 'scale', reason: 'Forecast' }, 3, times.start]]);

  const hist = byName(list, 'surgeguard_tick_duration_seconds');
  assert.ok(hist.dataPointType === DataPointType.HISTOGRAM);
  assert.equal(hist.descriptor.unit, 's');
  const [p] = hist.dataPoints;
  assert.deepEqual(p?.attributes, { phase: 'decide' });
  // Prometheus: le=0.1 → 1, le=1 → 3, le=10 → 4, +Inf → 5; OTLP counts each bucket alone.
  assert.deepEqual(p?.value.buckets, { boundaries: [0.1, 1, 10], counts: [1, 2, 1, 1] });
  assert.equal(p?.value.count, 5);
  assert.ok(Math.abs((p?.value.sum ?? 0) - 56.25) < 1e-9);
});

const errors = (type: string): OtelRename => ({ name: 'hw.errors', instrument: 'counter', unit: '{error}', description: 'errors', attributes: (l) => ({ 'hw.id': l.uuid ?? '', 'error.type': `${type}${l.type ?? ''}` }) });

test('renamed families appear only under the new name; two families renamed alike become one metric', () => {
  const families: BridgeFamily[] = [
    { name: 'surgeguard_gpu_ecc_volatile_errors_total', help: 'ecc', type: 'counter', points: [{ labels: { uuid: 'GPU-1', type: 'corrected' }, value: 7 }] },
    { name: 'surgeguard_gpu_pcie_replays_total', help: 'pcie', type: 'counter', points: [{ labels: { uuid: 'GPU-1' }, value: 9 }] },
    { name: 'surgeguard_gpu_utilization_ratio', help: 'util', type: 'gauge', points: [{ labels: { uuid: 'GPU-1' }, value: 0.42 }] },
    { name: 'surgeguard_gpu_info', help: 'info', type: 'gauge', points: [{ labels: { uuid: 'GPU-1', driver_version: '550' }, value: 1 }] },
  ];
  const renames: RenameTable = new Map<string, OtelRename>([
    ['surgeguard_gpu_ecc_volatile_errors_total', errors('ecc_')],
    ['surgeguard_gpu_pcie_replays_total', errors('pcie_replay')],
    ['surgeguard_gpu_utilization_ratio', { name: 'hw.gpu.utilization', instrument: 'gauge', unit: '1', description: 'u', attributes: (l) => ({ 'hw.id': l.uuid ?? '', 'hw.type': 'gpu' }) }],
  ]);
  const list = toMetricDataList(families, renames, times);
  assert.deepEqual(list.map((m) => m.descriptor.name).sort(), ['hw.errors', 'hw.gpu.utilization', 'surgeguard_gpu_info']);
  const e = byName(list, 'hw.errors');
  assert.ok(e.dataPointType === DataPointType.SUM && e.isMonotonic);
  assert.equal(e.descriptor.unit, '{error}');
  assert.deepEqual(e.dataPoints.map((p) => [p.attributes['error.type'], p.value]), [['ecc_corrected', 7], ['pcie_replay', 9]]);
  const u = byName(list, 'hw.gpu.utilization');
  assert.equal(u.dataPointType, DataPointType.GAUGE);
  assert.deepEqual(u.dataPoints[0]?.attributes, { 'hw.id': 'GPU-1', 'hw.type': 'gpu' });
  assert.equal(u.dataPoints[0]?.value, 0.42);
  assert.deepEqual(byName(list, 'surgeguard_gpu_info').dataPoints[0]?.attributes, { uuid: 'GPU-1', driver_version: '550' });
});

test('an up-down counter rename is a non-monotonic cumulative sum', () => {
  const list = toMetricDataList(
    [{ name: 'surgeguard_gpu_memory_used_bytes', help: 'm', type: 'gauge', points: [{ labels: { uuid: 'GPU-1' }, value: 2048 }] }],
    new Map([['surgeguard_gpu_memory_used_bytes', { name: 'hw.gpu.memory.usage', instrument: 'updowncounter', unit: 'By', description: 'm', attributes: () => ({}) } as OtelRename]]),
    times,
  );
  const m = byName(list, 'hw.gpu.memory.usage');
  assert.ok(m.dataPointType === DataPointType.SUM && !m.isMonotonic);
  assert.equal(m.dataPoints[0]?.value, 2048);
});

test('families renamed to one name must agree on instrument and unit', () => {
  const gauge: OtelRename = { name: 'hw.errors', instrument: 'gauge', unit: '{error}', description: 'x', attributes: () => ({}) };
  assert.throws(() => checkRenames(new Map([['a_total', errors('')], ['b', gauge]])), /OTLP rename of b to hw\.errors \(gauge, \{error\}\) disagrees/);
  assert.doesNotThrow(() => checkRenames(new Map([['a_total', errors('')], ['b_total', errors('x')]])));
});
