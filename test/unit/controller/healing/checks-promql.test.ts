// The Prometheus-based health checks (ECC, thermal, consumer-stalled) against a real PromQL
// engine: promtool evaluates each expression the check sends over recorded series, so a broken
// threshold, comparison, window or label filter changes which findings come back. promtool is
// the same binary the rule tests use; it must be installed (the test fails, not skips).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { consumerStalledCheck } from '../../../../controller/healing/checks/consumer-stalled.ts';
import { gpuEccCheck } from '../../../../controller/healing/checks/gpu-ecc.ts';
import { gpuThermalCheck } from '../../../../controller/healing/checks/gpu-thermal.ts';
import { gpuXidCheck } from '../../../../controller/healing/checks/gpu-xid.ts';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import type { Finding, VectorQuery } from '../../../../controller/healing/types.ts';
import { ensurePrometheusInstalled } from '../../../helpers/infra/prometheus.ts';
import { promtool } from '../../../helpers/promtool-query.ts';
import { REPO_ROOT } from '../../../helpers/infra/process.ts';
import { join } from 'node:path';


before(async () => {
  await ensurePrometheusInstalled();
});

const byTarget = (findings: readonly Finding[]): Record<string, string> => Object.fromEntries(findings.map((f) => [f.target.name, `${f.fault}/${f.severity}`]));
const ctx = (query: VectorQuery) => ({ nowMs: 0, nodes: [], pods: [], query });

const ecc = (type: string, scope: string, node: string): string => `surgeguard_gpu_ecc_${scope}_errors_total{type="${type}",node="${node}",gpu="0",uuid="GPU-${node}"}`;
/** The checks read the unified series that rules/gpu-source.yaml records; promtool evaluates it too. */
const GPU_RULES = [join(REPO_ROOT, 'rules/gpu-source.yaml')];

test('gpu-ecc: uncorrected errors rising in the window and failed remaps are fatal; pending repair and corrected errors over the threshold degrade', async () => {
  const checks = healingConfigSchema.parse({ checks: { eccWindowSeconds: 600, correctableEccPerWindow: 1000 } }).checks;
  const q = promtool(
    {
      [ecc('uncorrected', 'volatile', 'flat')]: '3x15',
      [ecc('uncorrected', 'volatile', 'rising')]: '0x10 1x5',
      [ecc('uncorrected', 'volatile', 'long-ago')]: '0 1x15', // rose before the window
      [ecc('uncorrected', 'aggregate', 'aggregate-only')]: '0+1x15', // the lifetime counter is not this check's
      [ecc('corrected', 'volatile', 'corrected-low')]: '0+50x15', // ~500 per 10 min
      [ecc('corrected', 'volatile', 'corrected-high')]: '0+500x15', // ~5000 per 10 min
      [ecc('corrected', 'volatile', 'both')]: '0+500x15',
      [ecc('uncorrected', 'volatile', 'both')]: '0x10 2x5',
      'surgeguard_gpu_row_remap_failure{node="remap-failed",gpu="1",uuid="GPU-r"}': '0x5 1x10',
      'surgeguard_gpu_row_remap_failure{node="remap-fine",gpu="1",uuid="GPU-f"}': '0x15',
      'surgeguard_gpu_row_remap_pending{node="remap-pending",gpu="2",uuid="GPU-p"}': '1x15',
      'surgeguard_gpu_retired_pages_pending{node="pages-pending",gpu="3",uuid="GPU-q"}': '1x15',
      'surgeguard_gpu_retired_pages_pending{node="pages-done",gpu="3",uuid="GPU-d"}': '0x15',
    },
    '15m',
    '1m',
    GPU_RULES,
  );
  const findings = await gpuEccCheck({}, checks).run(ctx(q));
  assert.deepEqual(byTarget(findings), {
    rising: 'fatal/critical',
    'corrected-high': 'degraded/warning',
    both: 'fatal/critical', // fatal wins over degraded on the same node
    'remap-failed': 'fatal/critical',
    'remap-pending': 'degraded/warning',
    'pages-pending': 'degraded/warning',
  });
  assert.equal(q.exprs.length, 4);
  assert.match(findings.find((f) => f.target.name === 'rising')?.summary ?? '', /uncorrectable ECC errors in 600s on GPU 0 of node rising/);

  // The threshold is the configured one: at 100 per window the slower node counts too.
  const strict = healingConfigSchema.parse({ checks: { correctableEccPerWindow: 100 } }).checks;
  const again = await gpuEccCheck({}, strict).run(ctx(promtool({ [ecc('corrected', 'volatile', 'corrected-low')]: '0+50x15' }, '15m', '1m', GPU_RULES)));
  assert.deepEqual(byTarget(again), { 'corrected-low': 'degraded/warning' });
});

const throttle = (reason: string, node: string, gpu = '0'): string => `surgeguard_gpu_throttle_reason{reason="${reason}",node="${node}",gpu="${gpu}"}`;

test('gpu-thermal: a hardware slowdown in every sample of the window degrades the node; a gap, a software cap or too few samples do not', async () => {
  const checks = healingConfigSchema.parse({ checks: { thermalSustainSeconds: 120 } }).checks;
  const q = promtool(
    {
      [throttle('hw_thermal_slowdown', 'hot')]: '1x20',
      [throttle('hw_thermal_slowdown', 'hot', '1')]: '1x20',
      [throttle('hw_power_brake_slowdown', 'brake')]: '1x20',
      [throttle('hw_thermal_slowdown', 'blip')]: '1x16 0 1 1 1', // cooled once inside the window
      [throttle('sw_power_cap', 'capped')]: '1x20', // policy, not a fault
      [throttle('hw_thermal_slowdown', 'cold')]: '0x20',
      // One scrape cannot trigger it. The check reads the recorded series, whose samples are rule
      // evaluations: this one scrape is recorded at the 9m30s and 10m evaluations, two of the three.
      [throttle('hw_thermal_slowdown', 'new')]: '_x19 1',
    },
    '10m',
    '30s',
    GPU_RULES,
  );
  const findings = await gpuThermalCheck({}, checks).run(ctx(q));
  assert.deepEqual(byTarget(findings), { hot: 'degraded/warning', brake: 'degraded/warning' });
  assert.deepEqual((findings.find((f) => f.target.name === 'hot')?.evidence.gpus as string[]).sort(), ['0:hw_thermal_slowdown', '1:hw_thermal_slowdown'], 'one finding per node, every GPU in it');
});

/** dcgm-exporter's labels (test/fixtures/dcgm/dcgm-exporter.prom), without the commas-free-value limit broken. */
const dcgm = (metric: string, node: string, uuid: string): string => `${metric}{gpu="0",UUID="${uuid}",device="nvidia0",modelName="H100",Hostname="${node}",container="",namespace="",pod=""}`;

test('gpu.source: with dcgm or auto the ECC and thermal checks read dcgm-exporter\'s series; auto takes DCGM for a GPU both report; agent ignores DCGM', async () => {
  const checks = healingConfigSchema.parse({ checks: { eccWindowSeconds: 600, thermalSustainSeconds: 120 } }).checks;
  const series = {
    [dcgm('DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 'dcgm-only', 'GPU-d')]: '0x10 2x5',
    [dcgm('DCGM_FI_DEV_ROW_REMAP_FAILURE', 'dcgm-remap', 'GPU-r')]: '0x5 1x10',
    [dcgm('DCGM_FI_DEV_CLOCKS_EVENT_REASONS', 'dcgm-hot', 'GPU-h')]: '64x15', // 0x40: hardware thermal slowdown
    // Both report this GPU: DCGM says healthy, the agent says uncorrected errors rose.
    [dcgm('DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 'both', 'GPU-both')]: '0x15',
    [ecc('uncorrected', 'volatile', 'both')]: '0x10 1x5',
    [ecc('uncorrected', 'volatile', 'agent-only')]: '0x10 1x5',
  };
  const run = async (source: 'agent' | 'dcgm' | 'auto'): Promise<Record<string, string>> => {
    const q = promtool(series, '15m', '1m', GPU_RULES);
    return byTarget([...(await gpuEccCheck({}, checks, source).run(ctx(q))), ...(await gpuThermalCheck({}, checks, source).run(ctx(q)))]);
  };
  assert.deepEqual(await run('dcgm'), { 'dcgm-only': 'fatal/critical', 'dcgm-remap': 'fatal/critical', 'dcgm-hot': 'degraded/warning' });
  assert.deepEqual(await run('agent'), { both: 'fatal/critical', 'agent-only': 'fatal/critical' });
  assert.deepEqual(await run('auto'), { 'dcgm-only': 'fatal/critical', 'dcgm-remap': 'fatal/critical', 'dcgm-hot': 'degraded/warning', 'agent-only': 'fatal/critical' });
});

const committed = (group: string, partition: string): string => `surgeguard_kafka_consumer_group_committed_offset{consumer_group="${group}",topic="t",partition="${partition}"}`;
const lag = (group: string, partition: string): string => `surgeguard_kafka_consumer_group_lag{consumer_group="${group}",topic="t",partition="${partition}"}`;

test('consumer-stalled: offsets still for the whole window while lag grows pages on-call; a moving partition, flat lag or a short history do not', async () => {
  const checks = healingConfigSchema.parse({ checks: { consumerStalledSeconds: 300 } }).checks;
  const q = promtool(
    {
      [committed('stalled', '0')]: '100x10',
      [lag('stalled', '0')]: '0+10x10',
      [committed('moving', '0')]: '100+5x10',
      [lag('moving', '0')]: '0+10x10',
      [committed('idle', '0')]: '100x10', // nothing to consume: lag flat
      [lag('idle', '0')]: '0x10',
      [committed('one-moves', '0')]: '100x10',
      [committed('one-moves', '1')]: '100+5x10',
      [lag('one-moves', '0')]: '0+10x10',
      [lag('one-moves', '1')]: '0+10x10',
      [committed('young', '0')]: '_x8 100 100',
      [lag('young', '0')]: '_x8 10 20',
    },
    '10m',
  );
  const findings = await consumerStalledCheck({}, checks).run(ctx(q));
  assert.deepEqual(byTarget(findings), { stalled: 'notice/critical' });
  const f = findings[0];
  assert.equal(f?.target.kind, 'ConsumerGroup');
  assert.equal(f?.evidence.window, '300s');
  assert.ok(Number(f?.evidence.lagGrowth) > 0, `lag growth ${String(f?.evidence.lagGrowth)}`);
  assert.match(f?.summary ?? '', /consumer group stalled committed nothing for 300s while its lag grew by \d+/);
});

test('gpu-xid: a code repeated on one GPU within the window escalates as the XID policy says; once, or long ago, does not', async () => {
  const checks = healingConfigSchema.parse({ checks: { xidWindowSeconds: 900, xidPolicy: { rules: [{ xids: [13], action: 'restart-pod', repeat: { count: 3, windowSeconds: 1200, action: 'drain-degraded' } }] } } }).checks;
  const xid = (metric: string, node: string): string => `surgeguard_gpu_${metric}{node="${node}",gpu="0",uuid="GPU-${node}",xid="13"}`;
  const q = promtool(
    {
      // Read at 3500 s, within 900 s of the evaluation at 3600 s, on every node.
      [xid('xid_last_timestamp_seconds', 'thrice')]: '3500x60',
      [xid('xid_last_timestamp_seconds', 'once')]: '3500x60',
      [xid('xid_last_timestamp_seconds', 'long-ago')]: '3500x60',
      [xid('xid_errors_total', 'thrice')]: '0x40 1 2 3x18', // three in the last 20 minutes
      [xid('xid_errors_total', 'once')]: '0x50 1x10',
      [xid('xid_errors_total', 'long-ago')]: '0 1 2 3x57', // three, but 55 minutes ago
    },
    '60m',
  );
  const findings = await gpuXidCheck({}, checks).run(ctx(q));
  // No pod holds these GPUs, so the unescalated restart-pod is told at node level.
  assert.deepEqual(byTarget(findings), { thrice: 'degraded/warning', once: 'notice/warning', 'long-ago': 'notice/warning' });
});

test('the three checks report nothing without Prometheus (no query), rather than failing', async () => {
  const checks = healingConfigSchema.parse({}).checks;
  for (const c of [gpuEccCheck({}, checks), gpuThermalCheck({}, checks), consumerStalledCheck({}, checks)]) assert.deepEqual(await c.run({ nowMs: 0, nodes: [], pods: [] }), []);
});
