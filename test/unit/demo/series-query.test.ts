// The demo's stand-in for Prometheus answers the gpu-xid and gpu-thermal checks as the real
// PromQL engine does: the same checks run against promtool (real Prometheus, with
// rules/gpu-source.yaml recording the unified series) and against the demo's store fed the same
// samples, and must find the same problems. An expression outside its subset is a coded error.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Sample } from '../../../agent/collector.ts';
import { gpuThermalCheck } from '../../../controller/healing/checks/gpu-thermal.ts';
import { gpuXidCheck } from '../../../controller/healing/checks/gpu-xid.ts';
import { healingConfigSchema } from '../../../controller/healing/config.ts';
import type { Finding, VectorQuery } from '../../../controller/healing/types.ts';
import { createSeriesStore } from '../../../demo/series-query.ts';
import { ensurePrometheusInstalled } from '../../helpers/infra/prometheus.ts';
import { REPO_ROOT } from '../../helpers/infra/process.ts';
import { promtool } from '../../helpers/promtool-query.ts';

before(async () => {
  await ensurePrometheusInstalled();
});

/** promtool's series notation (`1x20`, `0+50x15`, `_`, space-separated) as one value per minute from 0; null: no sample. */
function expand(values: string): Array<number | null> {
  const out: Array<number | null> = [];
  for (const part of values.split(' ')) {
    const m = /^(_|-?[\d.]+)(?:([+-][\d.]+))?(?:x(\d+))?$/.exec(part);
    assert.ok(m, part);
    const start = m[1] === '_' ? null : Number(m[1]);
    const step = Number(m[2] ?? 0);
    const n = m[3] === undefined ? 0 : Number(m[3]);
    for (let i = 0; i <= n; i++) out.push(start === null ? null : start + step * i);
  }
  return out;
}

function parseSeries(s: string): { name: string; labels: Record<string, string> } {
  const m = /^([^{]+)\{(.*)\}$/.exec(s);
  assert.ok(m);
  return { name: m[1] ?? '', labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])) };
}

/** The demo store fed the same samples, queried at `evalMinutes`. */
function demoQuery(series: Record<string, string>, evalMinutes: number): VectorQuery {
  const store = createSeriesStore();
  const all = Object.entries(series).map(([s, v]) => ({ ...parseSeries(s), values: expand(v) }));
  for (let minute = 0; minute <= evalMinutes; minute++) {
    const samples: Sample[] = all.flatMap((x) => (x.values[minute] === null || x.values[minute] === undefined ? [] : [{ name: x.name, labels: x.labels, value: x.values[minute] as number }]));
    store.add(samples, minute * 60_000);
  }
  return store.query(() => evalMinutes * 60_000);
}

const summary = (fs: readonly Finding[]): string[] => fs.map((f) => `${f.target.kind}/${f.target.name} ${f.fault}/${f.severity}: ${f.summary}`).sort();
const GPU_RULES = [join(REPO_ROOT, 'rules/gpu-source.yaml')];
const checks = healingConfigSchema.parse({}).checks;
const ctx = (query: VectorQuery) => ({ nowMs: 0, nodes: [], pods: [], query });

test('gpu-thermal (agent source): the same nodes are found by the demo store and by Prometheus', async () => {
  const t = (reason: string, node: string): string => `surgeguard_gpu_throttle_reason{reason="${reason}",node="${node}",gpu="0",uuid="GPU-${node}",gpu_model="H100"}`;
  const series = {
    [t('hw_thermal_slowdown', 'hot')]: '0x10 1x10',
    [t('hw_power_brake_slowdown', 'brake')]: '1x20',
    [t('hw_thermal_slowdown', 'blip')]: '1x17 0 1 1',
    [t('hw_thermal_slowdown', 'new')]: '0x18 1 1',
    [t('sw_power_cap', 'capped')]: '1x20',
    [t('hw_thermal_slowdown', 'cool')]: '0x20',
  };
  const check = gpuThermalCheck({}, checks, 'agent');
  const real = await check.run(ctx(promtool(series, '20m', '1m', GPU_RULES)));
  const demo = await check.run(ctx(demoQuery(series, 20)));
  assert.deepEqual(summary(demo), summary(real));
  assert.deepEqual(real.map((f) => f.target.name).sort(), ['brake', 'hot']);
});

test('gpu-xid: recent codes by the XID policy, old ones ignored, the driver\'s recovery action wins; the same by both', async () => {
  const x = (node: string, xid: string): string => `surgeguard_gpu_xid_last_timestamp_seconds{node="${node}",gpu="0",uuid="GPU-${node}",pci_bus_id="0000:00:09.0",xid="${xid}"}`;
  const series = {
    [x('fell-off', '79')]: '_x15 1140x5',
    [x('long-ago', '79')]: '100x20',
    [x('app', '13')]: '_x18 1150 1150',
    [x('watch', '92')]: '1100x20',
    [x('driver', '31')]: '1190x20',
    'surgeguard_gpu_recovery_action{node="driver",gpu="0",uuid="GPU-driver",gpu_model="H100",action="reset"}': '1x20',
    'surgeguard_gpu_recovery_action{node="fell-off",gpu="0",uuid="GPU-fell-off",gpu_model="H100",action="none"}': '1x20',
    'surgeguard_gpu_allocation{node="app",gpu="0",uuid="GPU-app",namespace="ml",pod="ranker",resource="nvidia.com/gpu"}': '1x20',
  };
  const check = gpuXidCheck({}, checks);
  const real = await check.run(ctx(promtool(series, '20m')));
  const demo = await check.run(ctx(demoQuery(series, 20)));
  assert.deepEqual(summary(demo), summary(real));
  assert.deepEqual(summary(real).map((s) => s.split(':')[0]), ['Node/driver fatal/critical', 'Node/fell-off fatal/critical', 'Node/watch notice/warning', 'Pod/ranker app/warning'].sort());
});

test('an expression outside the subset is SG_PROMETHEUS_REQUEST_FAILED naming it', async () => {
  const q = createSeriesStore().query(() => 0);
  await assert.rejects(q('sum by (node) (rate(x[5m]))'), (err: Error & { code?: string }) => err.code === 'SG_PROMETHEUS_REQUEST_FAILED' && err.message.includes('"sum by (node) (rate(x[5m]))"'));
  await assert.rejects(q('a{b="c"} * 2'), /cannot answer "a\{b="c"\} \* 2"/);
});
