// The shipped rules and dashboards against a working SurgeGuard: a control plane of the test's
// own with kwok GPU nodes, the agent as a process (fake nvidia-smi, a kernel log that gets an
// XID 79, the Kafka collector), a consumer group with lag, and the controller with its scaling
// and healing loops managing a PredictiveScaler, all scraped by a Prometheus that loads every
// rule file. Then every recording rule and every required dashboard panel must return data.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { addFakeNodes, kubeConfigFrom, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { REPO_ROOT, runCleanups } from '../../helpers/infra/process.ts';
import { startAgentProcess } from '../../helpers/e2e.ts';
import { addScrapeTarget, promQuery, startPrometheus, type PrometheusInfo } from '../../helpers/infra/prometheus.ts';
import { runContext } from '../../helpers/infra/run.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { createScenario, type Scenario } from '../../helpers/scenario.ts';
import { allRules, dashboards, ruleFiles, substituteGrafanaVariables } from '../../helpers/rules.ts';

// Six GPU nodes, so that one node with a fatal XID is not a fleet-wide problem (over 20%) and
// the healing loop acts on it instead of blocking.
const NODES = Array.from({ length: 6 }, (_, i) => `scn-${i + 1}`);
const AGENT_NODE = NODES[0] ?? '';
const dir = mkdtempSync(join(tmpdir(), 'sg-rules-scn-'));
const kernLog = join(dir, 'kern.log');
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
let kube: KubeHandle;
let kc: KubeConfig;
let prom: PrometheusInfo;
let controller: TestController;
let fleet: KafkaFleet;
let scenario: Scenario;
let startedAt = 0;
let setupSeconds = 0;

after(() => runCleanups(cleanups));

before(async () => {
  startedAt = Date.now();
  const [k, p, kafka] = await Promise.all([
    startKube(),
    startPrometheus(runContext(), { ruleFiles: ruleFiles(), scrapeIntervalSeconds: 1, evaluationIntervalSeconds: 1 }),
    sharedKafka(),
  ]);
  kube = k;
  prom = p;
  cleanups.push({ what: 'control plane', run: () => k.stop() }, { what: 'prometheus', run: () => p.stop() });
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await addFakeNodes(kc, NODES, { gpus: 8 });
  scenario = await createScenario(kc, kafka.brokers, { name: 'rules-scn', selector: 'rules-scn', startupSeconds: 2, capacity: 10, partitions: 4, maxReplicas: 6 });

  // The controller first: the forecast error needs its forecast 2m old, the longest wait here.
  // Demand above what one replica serves: the scaler scales up while lag builds.
  fleet = await startKafkaFleet({ brokers: kafka.brokers, topic: scenario.topic, groupId: scenario.group, capacityPerReplica: 10, kc, namespace: scenario.namespace, deployment: scenario.deployment });
  cleanups.push({ what: 'fleet', run: () => fleet.stop() });
  fleet.setRate(35);

  controller = await startTestController({
    kubeconfig: kube.kubeconfig,
    namespace: 'default',
    identity: 'rules-scn',
    kafkaBrokers: kafka.brokers,
    overrides: {
      prometheus: { url: prom.url, backfill: false },
      healing: { enabled: true, intervalSeconds: 1, checks: { xidWindowSeconds: 120 } },
    },
  });
  cleanups.push({ what: 'controller', run: () => controller.stop() });
  addScrapeTarget(prom, 'scn-controller', new URL(controller.url).host, { job: 'surgeguard-controller' });

  // The agent of AGENT_NODE: 8 fake GPUs, the kernel log, and the cluster-wide Kafka view of the group.
  writeFileSync(kernLog, '');
  const agent = await startAgentProcess({
    dir, node: AGENT_NODE, gpus: 8, kernelLog: kernLog,
    kafka: { brokers: kafka.brokers, groupPattern: `^${scenario.group}$` },
    collectors: { gpu: { intervalSeconds: 1 }, xid: { intervalSeconds: 0.5 }, network: { intervalSeconds: 1 }, kafka: { intervalSeconds: 1, timeoutSeconds: 4 } },
  });
  cleanups.push({ what: 'agent', run: () => agent.stop() });
  addScrapeTarget(prom, 'scn-agent', agent.address, { job: 'surgeguard-agent' });

  // dcgm-exporter needs a GPU: its exposition is served from the fixture (test/fixtures/dcgm, NOTICE
  // there), so the DCGM half of rules/gpu-source.yaml records too.
  const dcgmBody = readFileSync(join(REPO_ROOT, 'test/fixtures/dcgm/dcgm-exporter.prom'));
  const dcgm = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(dcgmBody));
  await new Promise<void>((r) => dcgm.listen(0, '127.0.0.1', r));
  cleanups.push({ what: 'dcgm-exporter fixture', run: () => new Promise((r) => dcgm.close(r)) });
  addScrapeTarget(prom, 'scn-dcgm', `127.0.0.1:${(dcgm.address() as { port: number }).port}`, { job: 'dcgm-exporter' });

  // A node-fault XID on one of the agent's GPUs: GPU and XID series, a finding, a remediation.
  appendFileSync(kernLog, `[${new Date().toUTCString()}] NVRM: Xid (PCI:0000:00:09): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.\n`);
  setupSeconds = (Date.now() - startedAt) / 1000;
});

interface Check {
  readonly what: string;
  readonly exprs: readonly string[];
}

/** Every recording rule, by its name. */
function recordChecks(): Check[] {
  return allRules().flatMap((r) => (r.record ? [{ what: `record ${r.record}`, exprs: [r.record] }] : []));
}

/** Every required panel: it has data when any of its queries returns a sample. */
function requiredPanelChecks(): Check[] {
  return [...dashboards().values()].flatMap((d) =>
    d.panels
      .filter((p) => (p.description ?? '').startsWith('[required]'))
      .map((p) => ({ what: `${d.title} / ${p.title}`, exprs: (p.targets ?? []).map((t) => substituteGrafanaVariables(t.expr ?? '')) })),
  );
}

async function hasData(c: Check): Promise<boolean> {
  for (const expr of c.exprs) if ((await promQuery(prom.url, expr)).length > 0) return true;
  return false;
}

test('after a scenario with agent, controller, scaling and healing, every recording rule and required panel returns data', async (t) => {
  const checks = [...recordChecks(), ...requiredPanelChecks()];
  assert.ok(checks.length > 25, `only ${checks.length} checks`);
  // The forecast error compares demand with the forecast of 2m earlier: the longest wait here.
  const deadline = Date.now() + 200_000;
  const firstData = new Map<string, number>();
  let missing: string[];
  for (;;) {
    missing = [];
    for (const c of checks) {
      if (firstData.has(c.what)) continue;
      if (await hasData(c)) firstData.set(c.what, (Date.now() - startedAt) / 1000);
      else missing.push(c.what);
    }
    if (missing.length === 0 || Date.now() > deadline) break;
    await sleep(2_000);
  }
  assert.deepEqual(missing, [], 'recording rules and required panels without data');

  // The scenario did what it is for: the scaler scaled, lag built, the healing loop acted on the XID.
  const cordoned = (await kc.makeApiClient(CoreV1Api).readNode({ name: AGENT_NODE })).spec?.unschedulable === true;
  assert.ok(cordoned, `${AGENT_NODE} was cordoned for its XID 79`);
  assert.ok(fleet.maxLag() > 0, 'the consumer group had lag');
  const slowest = [...firstData].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([what, s]) => `${what} ${s.toFixed(0)} s`);
  t.diagnostic(`setup ${setupSeconds.toFixed(0)} s; ${checks.length} checks, the last to have data: ${slowest.join(', ')}`);
});
