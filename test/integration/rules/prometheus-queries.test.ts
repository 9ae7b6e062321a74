// Every shipped rule loads into a real Prometheus and evaluates with health "ok", and every
// dashboard query (Grafana's variables substituted) is accepted by its query API. Two targets
// serve the same synthetic series, as two controller replicas or a node-scope and a
// cluster-scope agent do, so that a join that cannot take duplicates fails here.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { waitUntil } from '../../helpers/infra/process.ts';
import { addScrapeTarget, promQuery, startPrometheus, type PrometheusInfo } from '../../helpers/infra/prometheus.ts';
import { runContext } from '../../helpers/infra/run.ts';
import { panelQueries, ruleFiles, ruleGroups, substituteGrafanaVariables, variableSelectors } from '../../helpers/rules.ts';

interface RulesApi {
  status: string;
  data: { groups: Array<{ name: string; file: string; lastEvaluation: string; rules: Array<{ name: string; health: string; lastError?: string; type: string }> }> };
}

let prom: PrometheusInfo & { stop(): Promise<void> };
let scrapes = 0;

/** A little of every family the rules join on; counters and offsets grow with each scrape. */
function exposition(): string {
  const n = ++scrapes;
  const s = 'namespace="ml",scaler="llm"';
  const gpu = 'node="gpu-a",gpu="0",uuid="GPU-1",gpu_model="H100"';
  const dcgm = 'gpu="0",UUID="GPU-2",pci_bus_id="00000000:18:00.0",device="nvidia0",modelName="H100",Hostname="gpu-d",DCGM_FI_DRIVER_VERSION="550.90.07",container="",namespace="",pod=""';
  const part = 'consumer_group="ingest",topic="posts",partition="0"';
  return [
    `surgeguard_scaler_demand_requests_per_second{${s}} 100`,
    `surgeguard_scaler_forecast_requests_per_second{${s},quantile="p50"} 90`,
    `surgeguard_scaler_forecast_requests_per_second{${s},quantile="p90"} 120`,
    `surgeguard_scaler_desired_replicas{${s}} 4`,
    `surgeguard_scaler_unschedulable_pods{${s}} 1`,
    `surgeguard_controller_decisions_total{decision="hold",reason="MaxReplicas"} ${n}`,
    'surgeguard_controller_leader 0',
    `surgeguard_gpu_info{${gpu},pci_bus_id="0000:9b:00.0",driver_version="550",vbios_version="96"} 1`,
    `surgeguard_gpu_utilization_ratio{${gpu}} 0.5`,
    `surgeguard_gpu_throttle_reason{${gpu},reason="hw_thermal_slowdown"} 1`,
    `surgeguard_gpu_ecc_volatile_errors_total{${gpu},type="uncorrected"} ${n}`,
    `surgeguard_gpu_temperature_celsius{${gpu}} 60`,
    // A second node reported by dcgm-exporter, in its names and labels (test/fixtures/dcgm).
    `DCGM_FI_DEV_GPU_TEMP{${dcgm}} 70`,
    `DCGM_FI_DEV_ECC_DBE_VOL_TOTAL{${dcgm}} ${n}`,
    `DCGM_FI_DEV_CLOCKS_EVENT_REASONS{${dcgm}} 64`,
    `surgeguard_gpu_xid_last_timestamp_seconds{node="gpu-a",gpu="0",uuid="GPU-1",pci_bus_id="0000:9b:00.0",xid="79"} ${Date.now() / 1000}`,
    'surgeguard_node_info{node="gpu-a",os="linux",kernel="6.8",arch="x64",cpu_model="x"} 1',
    `surgeguard_kafka_consumer_group_lag{${part}} ${100 * n}`,
    `surgeguard_kafka_consumer_group_committed_offset{${part}} ${10 * n}`,
    `surgeguard_kafka_log_end_offset{topic="posts",partition="0"} ${110 * n}`,
    'surgeguard_collector_success{collector="gpu"} 0',
    'surgeguard_collector_enabled{collector="gpu"} 1',
    '',
  ].join('\n');
}

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition());
});

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  prom = await startPrometheus(runContext(), { ruleFiles: ruleFiles(), evaluationIntervalSeconds: 1 });
  addScrapeTarget(prom, 'replica-a', `127.0.0.1:${port}`, { job: 'surgeguard-controller', __metrics_path__: '/a' });
  addScrapeTarget(prom, 'replica-b', `127.0.0.1:${port}`, { job: 'surgeguard-controller', __metrics_path__: '/b' });
});
after(async () => {
  await prom?.stop();
  await new Promise<void>((r) => server.close(() => r()));
});

test('every rule group loads and every rule evaluates with health ok and no error', async () => {
  const expected = ruleGroups().map((g) => g.name).sort();
  // Both targets scraped and a few rates possible, then one more evaluation of every group.
  await waitUntil('both targets scraped', async () => ((await promQuery(prom.url, 'count(surgeguard_scaler_demand_requests_per_second) == 2 and count(count_over_time(surgeguard_controller_decisions_total[1m]) > 2) == 2')).length > 0 ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 500,
    pid: prom.pid,
    log: prom.log,
  });
  const startedAt = Date.now();
  const groups = await waitUntil(
    'every rule group evaluated',
    async () => {
      const body = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as RulesApi;
      const gs = body.data.groups;
      const done = gs.length === expected.length && gs.every((g) => Date.parse(g.lastEvaluation) > startedAt && g.rules.every((r) => r.health !== 'unknown'));
      return done ? gs : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, pid: prom.pid, log: prom.log },
  );
  assert.deepEqual(groups.map((g) => g.name).sort(), expected);
  const bad = groups.flatMap((g) => g.rules.filter((r) => r.health !== 'ok' || r.lastError).map((r) => `${g.name}/${r.name}: ${r.health} ${r.lastError ?? ''}`));
  assert.deepEqual(bad, []);
  const count = groups.reduce((n, g) => n + g.rules.length, 0);
  assert.equal(count, ruleGroups().reduce((n, g) => n + g.rules.length, 0));
  // The duplicated series gave the recording rules something to compute (the forecast error
  // needs a forecast 2m old, so it is not asked for).
  for (const record of ['surgeguard:scaler_demand_requests_per_second:sum', 'quantile:surgeguard_scaler_forecast_requests_per_second:sum', 'consumer_group:surgeguard_kafka_consumer_group_lag_seconds:estimate', 'node:surgeguard_gpu_utilization_ratio:avg']) {
    assert.ok((await promQuery(prom.url, record)).length > 0, `${record} has no data`);
  }
  // The unified GPU series come from both sources: gpu-a from the agent, gpu-d from dcgm-exporter.
  for (const [record, node] of [['surgeguard:gpu_temperature_celsius{source="agent"}', 'gpu-a'], ['surgeguard:gpu_temperature_celsius{source="dcgm"}', 'gpu-d'], ['surgeguard:gpu_throttle_reason:flag{source="dcgm",reason="hw_thermal_slowdown"}', 'gpu-d']] as const) {
    assert.equal((await promQuery(prom.url, record))[0]?.metric.node, node, record);
  }
  assert.equal(Number((await promQuery(prom.url, 'surgeguard:scaler_demand_requests_per_second:sum'))[0]?.value[1]), 100, 'two replicas reporting the same scaler are counted once');
});

test('every dashboard panel query and variable selector evaluates without error', async () => {
  const queries = [...panelQueries().map((q) => ({ where: `${q.dashboard} / ${q.panel}`, expr: q.expr })), ...variableSelectors().map((s) => ({ where: 'variable', expr: s }))];
  assert.ok(queries.length > 40, `only ${queries.length} queries found`);
  const failures: string[] = [];
  for (const q of queries) {
    const expr = substituteGrafanaVariables(q.expr);
    assert.doesNotMatch(expr, /\$/, `${q.where}: a variable is left in ${expr}`);
    await promQuery(prom.url, expr).catch((err: unknown) => failures.push(`${q.where}: ${(err as Error).message}`));
  }
  assert.deepEqual(failures, []);
});
