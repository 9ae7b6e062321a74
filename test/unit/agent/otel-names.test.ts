// The agent's OTLP view over a whole agent wired to a real H100 capture: the families the
// export reads hold exactly the series /metrics serves, and the GPU series come out under the
// OpenTelemetry hardware names with the semantic-convention attributes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { AGENT_OTEL_RENAMES } from '../../../agent/otel-names.ts';
import { toHrTime } from '../../../common/otlp/exporter.ts';
import { checkRenames, toMetricDataList } from '../../../common/otlp/to-otlp.ts';
import { fixtureAgent, NOW_MS } from './agent-fixture.ts';

/** `name{a="b",...} value` lines of the text exposition, as sortable strings. */
function exposed(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

test('the rename table is consistent (families sharing a name agree on instrument and unit)', () => {
  assert.doesNotThrow(() => checkRenames(AGENT_OTEL_RENAMES));
  for (const [from, r] of AGENT_OTEL_RENAMES) assert.match(r.name, /^hw\./, from);
});

test('runner.families() holds the same series and values as the collectors part of /metrics', async () => {
  const agent = await fixtureAgent();
  try {
    await agent.runner.runOnce();
    const fromFamilies = agent.runner.families().flatMap((f) =>
      f.type === 'histogram' ? [] : f.points.map((p) => `${f.name}${Object.keys(p.labels).length ? `{${Object.entries(p.labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}` : ''} ${p.value}`),
    );
    assert.ok(fromFamilies.length > 50, `a whole agent's worth of series (${fromFamilies.length})`);
    assert.deepEqual(fromFamilies.sort(), exposed(agent.runner.exposition(false)).sort());
  } finally {
    await agent.stop();
  }
});

test('GPU series under hw.* names with hw.id, hw.model, hw.type; the rest keep SurgeGuard names', async () => {
  const agent = await fixtureAgent();
  try {
    await agent.runner.runOnce();
    const families = agent.runner.families();
    const list = toMetricDataList(families, AGENT_OTEL_RENAMES, { start: toHrTime(NOW_MS - 60_000), now: toHrTime(NOW_MS) });
    const metric = (name: string): MetricData => {
      const m = list.find((x) => x.descriptor.name === name);
      assert.ok(m, `${name} exported`);
      return m;
    };
    const value = (name: string): number | undefined => {
      const f = families.find((x) => x.name === name);
      return f && f.type !== 'histogram' ? f.points[0]?.value : undefined;
    };
    const uuid = 'GPU-00000000-0000-0000-0000-000000000000';
    const gpuAttrs = { 'hw.type': 'gpu', 'hw.id': uuid, 'hw.name': 'gpu0', 'hw.model': 'NVIDIA H100 80GB HBM3', 'hw.vendor': 'NVIDIA' };

    const util = metric('hw.gpu.utilization');
    assert.equal(util.dataPointType, DataPointType.GAUGE);
    assert.equal(util.descriptor.unit, '1');
    assert.deepEqual(util.dataPoints.map((p) => [p.attributes, p.value]), [[{ ...gpuAttrs, 'hw.gpu.task': 'general' }, value('surgeguard_gpu_utilization_ratio')]]);

    for (const [otel, sg] of [['hw.gpu.memory.usage', 'surgeguard_gpu_memory_used_bytes'], ['hw.gpu.memory.limit', 'surgeguard_gpu_memory_total_bytes']] as const) {
      const m = metric(otel);
      assert.ok(m.dataPointType === DataPointType.SUM && !m.isMonotonic, `${otel} is an UpDownCounter`);
      assert.equal(m.descriptor.unit, 'By');
      assert.deepEqual(m.dataPoints.map((p) => [p.attributes, p.value]), [[gpuAttrs, value(sg)]]);
    }
    assert.equal(value('surgeguard_gpu_memory_total_bytes'), 81559 * 1024 * 1024);
    assert.deepEqual(metric('hw.power').dataPoints.map((p) => [p.attributes, p.value]), [[gpuAttrs, value('surgeguard_gpu_power_watts')]]);
    const temps = metric('hw.temperature').dataPoints.map((p) => [p.attributes['hw.sensor_location'], p.attributes['hw.parent'], p.attributes['hw.type'], p.value]);
    assert.deepEqual(temps[0], ['GPU', uuid, 'temperature', value('surgeguard_gpu_temperature_celsius')]);

    const errors = metric('hw.errors');
    assert.ok(errors.dataPointType === DataPointType.SUM && errors.isMonotonic);
    const types = errors.dataPoints.map((p) => String(p.attributes['error.type'])).sort();
    assert.ok(types.includes('ecc_corrected') && types.includes('ecc_uncorrected') && types.includes('xid_119'), types.join(' '));

    const names = new Set(list.map((m) => m.descriptor.name));
    for (const gone of AGENT_OTEL_RENAMES.keys()) assert.ok(!names.has(gone), `${gone} is exported under its OTel name only`);
    // Not in the conventions (or meaning something else there): kept as they are.
    for (const kept of ['surgeguard_gpu_memory_utilization_ratio', 'surgeguard_gpu_power_limit_watts', 'surgeguard_gpu_ecc_aggregate_errors_total', 'surgeguard_gpu_info', 'surgeguard_gpu_sm_clock_hertz']) {
      assert.ok(names.has(kept), `${kept} keeps its name`);
    }
  } finally {
    await agent.stop();
  }
});

test('a GPU a pod holds: its hw.* points carry k8s.pod.name, k8s.namespace.name, k8s.container.name', async () => {
  const agent = await fixtureAgent();
  try {
    // The fixture's kubelet says ranker-7d9f holds the GPU; the gpu series carry it from the second cycle.
    await agent.runner.runOnce();
    await agent.runner.runOnce();
    const list = toMetricDataList(agent.runner.families(), AGENT_OTEL_RENAMES, { start: toHrTime(NOW_MS - 60_000), now: toHrTime(NOW_MS) });
    const holder = { 'k8s.pod.name': 'ranker-7d9f', 'k8s.namespace.name': 'inference', 'k8s.container.name': 'model' };
    for (const name of ['hw.gpu.utilization', 'hw.gpu.memory.usage', 'hw.power', 'hw.temperature']) {
      const points = list.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
      assert.ok(points.length > 0, name);
      for (const p of points) assert.deepEqual(Object.fromEntries(Object.entries(p.attributes).filter(([k]) => k.startsWith('k8s.'))), holder, name);
    }
  } finally {
    await agent.stop();
  }
});
