// The main job end to end, on real parts: a recorded surge is scaled for before it peaks, then a
// GPU fault is found, alerted on and repaired.
//
// - A producer replays NAB's NYC taxi trace (test/fixtures/traces/nyc_taxi_9364-9476.csv: two
//   days, then a weekday morning rush that grows tenfold in three hours) into a topic of the
//   shared Kafka broker; the simulated consumer fleet (test/helpers/kafka-fleet.ts) commits at
//   10 messages/s per ready replica of a real Deployment, so lag grows and drains.
// - `./surgeguard agent` runs as a process for kwok node e2e-gpu-1: the fake nvidia-smi answers
//   for its 8 GPUs, it follows a kernel log file, and its Kafka collector reports the group's lag.
// - A Prometheus of this test scrapes the agent and the controller every 5 s and evaluates every
//   SHIPPED rule file (rules/*.yaml) every 5 s, sending alerts to an Alertmanager of this test,
//   which routes every alert both to the controller's POST /api/v1/alerts and to an on-call
//   receiver.
// - The controller (in process) scales the Deployment on a control plane of this test (6 kwok
//   nodes of 8 GPUs; kwok makes a pod ready startupSeconds after it is scheduled) and runs the
//   healing loop every 5 s with Prometheus as its data source, as the Helm chart deploys it.
//
// TIME SCALE: one recorded 30-minute interval per 1-second controller tick (forecastTimeScale
// 1800), so the 113-interval trace (56.5 recorded hours) takes 113 s, and a pod's 8 s startup
// stands for 4 recorded hours. The 15 s tick of the issue would make the replay alone 28 minutes;
// only the forecaster sees scaled time, everything else (startup, scrape, rule `for`, healing
// interval, Alertmanager waits) runs in wall-clock seconds, so the fault part is real time.
//
// The order asserted. Surge: the replicas the peak needs are ready before the peak demand
// arrives, while the demand then being sent needed fewer (a forecast, not a reaction). Fault: fault line < the shipped SurgeGuardGpuXidCritical fires in Prometheus (after its
// `for`) < Alertmanager delivers it to on-call and to the controller. The cordon comes from the
// healing loop's own gpu-xid check, which reads the same agent series from Prometheus and does not
// wait for the rule's `for`: fault line < node cordoned < alert firing (docs/healing.md, "Checks
// read Prometheus"). The alert delivered afterwards finds the node already under repair.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { addFakeNodes, kubeConfigFrom, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { routeEveryAlertTo, startAlertmanager } from '../../helpers/infra/alertmanager.ts';
import { addScrapeTarget, promQuery, startPrometheus, type PrometheusInfo } from '../../helpers/infra/prometheus.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { runContext } from '../../helpers/infra/run.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.ts';
import { durationSeconds } from '../../helpers/rules.ts';
import { cordonedBySurgeGuard, createInferenceFleet, firstSeen, firstTime, readFixtureTrace, shippedRuleFiles, startAgentProcess, xidLine, type AgentProcess, type InferenceFleet } from '../../helpers/e2e.ts';

const TRACE = 'nyc_taxi_9364-9476.csv';
const SECONDS_PER_INTERVAL = 1;
const TIME_SCALE = 1800;
const STARTUP_SECONDS = 8;
const CAPACITY = 10;
const PARTITIONS = 24;
const SCRAPE_SECONDS = 5;
const HEALING_SECONDS = 5;
const NODES = Array.from({ length: 6 }, (_, i) => `e2e-gpu-${i + 1}`);
const FAULT_NODE = 'e2e-gpu-1';
const ALERT = 'SurgeGuardGpuXidCritical';

const trace = readFixtureTrace(TRACE);
const scaleNote = `time scale: one recorded ${trace.intervalSeconds / 60}-minute interval per ${SECONDS_PER_INTERVAL} s controller tick (forecastTimeScale ${TIME_SCALE}); scrape and rule evaluation every ${SCRAPE_SECONDS} s, healing every ${HEALING_SECONDS} s, pod startup ${STARTUP_SECONDS} s, all in wall-clock time`;
// Messages per second for a recorded count of trips: the rush peak needs 11 replicas, the night 1 to 3.
const rateOf = (trips: number): number => 2 + trips * 0.005;
// The rush the surge assertions look at: the last morning, from the night's low in the last 12
// recorded hours (Wednesday 04:30) to the highest demand after it (08:30).
const RUSH_START = trace.demand.length - 24 + argMin(trace.demand.slice(-24));
const PEAK = RUSH_START + argMax(trace.demand.slice(RUSH_START));

const dir = mkdtempSync(join(tmpdir(), 'sg-e2e-'));
const kernLog = join(dir, 'kern.log');
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
let kube: KubeHandle;
let kc: KubeConfig;
let prom: PrometheusInfo;
let agent: AgentProcess;
let controller: TestController;
let oncall: WebhookReceiver;
let fleet: InferenceFleet;
let demand: KafkaFleet;
let rulesLoaded: number;

after(() => runCleanups(cleanups));

before(async () => {
  const [k, kafka, am, receiver] = await Promise.all([startKube(), sharedKafka(), startAlertmanager(), startWebhookReceiver()]);
  kube = k;
  oncall = receiver;
  cleanups.push({ what: 'control plane', run: () => kube.stop() }, { what: 'alertmanager', run: () => am.stop() }, { what: 'on-call receiver', run: () => oncall.close() });
  const rules = shippedRuleFiles();
  const p = await startPrometheus(runContext(), { scrapeIntervalSeconds: SCRAPE_SECONDS, evaluationIntervalSeconds: SCRAPE_SECONDS, ruleFiles: rules, alertmanager: am.address });
  prom = p;
  cleanups.push({ what: 'prometheus', run: () => p.stop() });
  rulesLoaded = rules.flatMap((f) => (parse(readFileSync(f, 'utf8')) as { groups: unknown[] }).groups).length;

  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await addFakeNodes(kc, NODES, { gpus: 8 });
  fleet = await createInferenceFleet(kc, kafka.brokers, { name: `e2e-${process.pid}`, startupSeconds: STARTUP_SECONDS, capacity: CAPACITY, partitions: PARTITIONS, maxReplicas: 24, spec: { behavior: { scaleDown: { stabilizationSeconds: 3 } } } });

  writeFileSync(kernLog, '');
  agent = await startAgentProcess({ dir, node: FAULT_NODE, gpus: 8, kernelLog: kernLog, kafka: { brokers: kafka.brokers, groupPattern: `^${fleet.group}$` } });
  cleanups.push({ what: 'agent', run: () => agent.stop() });

  controller = await startTestController({
    kubeconfig: kube.kubeconfig,
    namespace: 'default',
    identity: 'e2e',
    kafkaBrokers: kafka.brokers,
    prometheusUrl: prom.url,
    overrides: { forecastTimeScale: TIME_SCALE, healing: { enabled: true, intervalSeconds: HEALING_SECONDS } },
  });
  cleanups.push({ what: 'controller', run: () => controller.stop() });
  await routeEveryAlertTo(am, [
    { name: 'surgeguard-controller', url: `${controller.url}/api/v1/alerts`, bearerToken: controller.token },
    { name: 'on-call', url: oncall.url },
  ]);
  // Job names as the shipped ServiceMonitors set them, which the self-monitoring rules assume.
  addScrapeTarget(prom, 'e2e-agent', agent.address, { job: 'surgeguard-agent' });
  addScrapeTarget(prom, 'e2e-controller', new URL(controller.url).host, { job: 'surgeguard-controller' });
  await waitUntil('Prometheus scraping the agent and the controller', async () => ((await promQuery(prom.url, 'up{job=~"surgeguard-(agent|controller)"} == 1')).length === 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  await waitUntil('SurgeGuard leading', async () => (controller.elector.isLeader() ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });

  demand = await startKafkaFleet({ brokers: kafka.brokers, topic: fleet.topic, groupId: fleet.group, capacityPerReplica: CAPACITY, kc, namespace: fleet.namespace, deployment: fleet.deployment });
  cleanups.push({ what: 'kafka fleet', run: () => demand.stop() });
});

interface Sample {
  t: number;
  ready: number;
  spec: number;
  lag: number;
}

test('a recorded surge is scaled for before it peaks; then a GPU fault is alerted on by the shipped rules and the node cordoned', { timeout: 8 * 60_000 }, async (t) => {
  t.diagnostic(scaleNote);
  const groups = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: unknown[] } };
  assert.equal(groups.data.groups.length, rulesLoaded, 'Prometheus loaded every group of the shipped rule files');

  // 1. The surge.
  const start = Date.now();
  const samples = await replay(start);
  const needed = Math.ceil(rateOf(trace.demand[PEAK] ?? 0) / CAPACITY);
  const tRush = start + RUSH_START * SECONDS_PER_INTERVAL * 1000;
  const tPeak = start + PEAK * SECONDS_PER_INTERVAL * 1000;
  const atRush = samples.filter((s) => s.t <= tRush).at(-1);
  const tSurgeReady = samples.find((s) => s.t >= tRush && s.ready >= needed)?.t ?? Infinity;
  // When the Deployment last went up to the peak's replicas before they were ready.
  const lastShort = samples.filter((s) => s.t < tSurgeReady && s.spec < needed).at(-1)?.t ?? -Infinity;
  const tSurgeAsked = samples.find((s) => s.t > lastShort)?.t ?? Infinity;
  const lagPeak = samples.filter((s) => s.t >= tRush).reduce((m, s) => Math.max(m, s.lag), 0);
  const agentLag = await promQuery(prom.url, `max_over_time(consumer_group:surgeguard_kafka_consumer_group_lag:sum{consumer_group="${fleet.group}"}[5m])`);
  const rel = (ms: number): string => `${((ms - start) / 1000).toFixed(1)} s`;
  t.diagnostic(`surge (${TRACE}): rush starts at ${rel(tRush)} (recorded ${iso(trace.timestamps[RUSH_START])}) with ${atRush?.ready ?? '?'} replicas ready; the peak (${trace.demand[PEAK]} trips, ${rateOf(trace.demand[PEAK] ?? 0).toFixed(0)} msg/s, ${needed} replicas) arrives at ${rel(tPeak)} (recorded ${iso(trace.timestamps[PEAK])}); ${needed} replicas asked for since ${rel(tSurgeAsked)}, ready at ${rel(tSurgeReady)}`);
  t.diagnostic(`spec/ready from the rush: ${samples.filter((s) => s.t >= tRush - 4000 && s.t <= tPeak + 4000).filter((_, i) => i % 2 === 0).map((s) => `${rel(s.t)}:${s.spec}/${s.ready}`).join(' ')}`);
  const neededThen = Math.ceil(rateOf(trace.demand[Math.floor((tSurgeReady - start) / 1000 / SECONDS_PER_INTERVAL)] ?? Infinity) / CAPACITY);
  t.diagnostic(`when the ${needed} replicas were ready, the demand being sent needed ${neededThen}`);
  t.diagnostic(`lag peak after the rush started: ${lagPeak} messages (fleet); the agent's lag of the group in Prometheus, max over the replay: ${agentLag[0]?.value[1] ?? 'none'}`);
  assert.ok(tSurgeReady < tPeak, `the ${needed} replicas the peak needs were ready at ${rel(tSurgeReady)}, after the peak at ${rel(tPeak)}`);
  // Ahead of demand, not behind it: when they were ready, the demand being sent needed fewer.
  assert.ok(neededThen < needed, `the ${needed} replicas were ready only when the demand itself needed ${neededThen}: reactive, not pre-scaled`);
  assert.ok(Number(agentLag[0]?.value[1] ?? 0) > 0, 'the agent reported the consumer group lag to Prometheus');
  const partitions = await promQuery(prom.url, `count(surgeguard_kafka_consumer_group_lag{job="surgeguard-agent",consumer_group="${fleet.group}",topic="${fleet.topic}"})`);
  assert.equal(Number(partitions[0]?.value[1]), PARTITIONS, 'the agent attributes the lag to each partition of the group');

  // 2. The fault.
  const forSeconds = durationSeconds(shippedRule(ALERT).for ?? '0s');
  const tFault = Date.now();
  appendFileSync(kernLog, xidLine(79, new Date(tFault)));
  const [agentSaw, cordonSeen, tFiring, tOncall, tController] = await Promise.all([
    firstSeen('the agent counting XID 79', async () => /^surgeguard_gpu_xid_errors_total\{[^}]*xid="79"[^}]*\} 1$/m.test(await (await fetch(`${agent.url}/metrics`)).text()), { timeoutMs: 30_000 }),
    firstSeen(`${FAULT_NODE} cordoned`, async () => cordonedBySurgeGuard(await kc.makeApiClient(CoreV1Api).readNode({ name: FAULT_NODE })), { timeoutMs: 120_000 }),
    firstTime(`${ALERT} firing in Prometheus`, async () => (await promQuery(prom.url, `ALERTS{alertname="${ALERT}",alertstate="firing",node="${FAULT_NODE}",xid="79"}`)).length > 0, { timeoutMs: (forSeconds + 6 * SCRAPE_SECONDS) * 1000, intervalMs: 250 }),
    firstTime(`${ALERT} delivered to on-call`, async () => oncall.received.some((r) => firingFor(r.body, ALERT, FAULT_NODE)), { timeoutMs: (forSeconds + 8 * SCRAPE_SECONDS) * 1000, intervalMs: 100 }),
    firstTime(`${ALERT} delivered to the controller`, async () => controllerReceived(controller, ALERT) ?? false, { timeoutMs: (forSeconds + 8 * SCRAPE_SECONDS) * 1000, intervalMs: 100 }),
  ]);
  const tAgent = agentSaw.at;
  const tCordon = cordonSeen.at;
  const cordon = controller.remediations.list({ limit: 1000 }).find((e) => e.target.name === FAULT_NODE && e.reason === 'NodeCordoned');
  const since = (ms: number): string => `+${((ms - tFault) / 1000).toFixed(1)} s`;
  t.diagnostic(`fault: XID 79 written to ${FAULT_NODE}'s kernel log at ${rel(tFault)}; agent counts it ${since(tAgent)}; node cordoned ${since(tCordon)} (check ${cordon?.check}); ${ALERT} (for ${forSeconds} s) firing in Prometheus ${since(tFiring)}; Alertmanager delivered to on-call ${since(tOncall)}, to the controller ${since(tController)}; ${scaleNote}`);
  // The two are polled side by side, so under load the agent's poll can see the count a poll
  // later than the cordon: what would be wrong is the agent still showing no XID in a poll that
  // started after the node was seen cordoned.
  assert.ok(tFault < tAgent, 'the agent counted the fault after it was written');
  assert.ok(agentSaw.absentAt < cordonSeen.by, `the agent still showed no XID ${since(agentSaw.absentAt)}, after the node was seen cordoned (${since(cordonSeen.by)})`);
  assert.equal(cordon?.check, 'gpu-xid', 'the healing loop cordoned the node on its own XID check');
  assert.ok(tCordon < tFiring, `the cordon (${since(tCordon)}) waits for no rule's for; the alert fired ${since(tFiring)}`);
  assert.ok(tFiring - tFault >= forSeconds * 1000, `${ALERT} fired ${since(tFiring)}, before its for of ${forSeconds} s`);
  assert.ok(tFiring <= tOncall, `on-call got the alert (${since(tOncall)}) before Prometheus fired it (${since(tFiring)})`);
  assert.ok(tFiring <= tController, `the controller got the alert (${since(tController)}) before Prometheus fired it (${since(tFiring)})`);
  assert.ok(tCordon - tFault < 60_000, `the node was cordoned ${since(tCordon)} after the fault; the goal is under a minute`);
});

/** Replays the trace into the topic at one recorded interval per tick, sampling the Deployment every 500 ms. */
async function replay(start: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  const stop = { done: false };
  const apps = kc.makeApiClient(AppsV1Api);
  const sampler = (async () => {
    while (!stop.done) {
      const d = await apps.readNamespacedDeployment({ name: fleet.deployment, namespace: fleet.namespace }).catch(() => undefined);
      if (d) samples.push({ t: Date.now(), ready: d.status?.readyReplicas ?? 0, spec: d.spec?.replicas ?? 0, lag: demand.lag() });
      await sleep(500);
    }
  })();
  for (let i = 0; i < trace.demand.length; i++) {
    demand.setRate(rateOf(trace.demand[i] ?? 0));
    await sleep(Math.max(0, start + (i + 1) * SECONDS_PER_INTERVAL * 1000 - Date.now()));
  }
  stop.done = true;
  await sampler;
  return samples;
}

function shippedRule(alert: string): { for?: string } {
  for (const f of shippedRuleFiles()) {
    const groups = (parse(readFileSync(f, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; for?: string }> }> }).groups;
    const rule = groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
    if (rule) return rule;
  }
  throw new Error(`no shipped rule ${alert} in rules/*.yaml`);
}

function firingFor(body: unknown, alert: string, node: string): boolean {
  const b = body as { status?: string; alerts?: Array<{ status: string; labels: Record<string, string> }> };
  return (b.alerts ?? []).some((a) => a.status === 'firing' && a.labels.alertname === alert && a.labels.node === node);
}

/** When the controller logged a delivery of `alert` (Alertmanager groups by alertname: the group key names it). */
function controllerReceived(c: TestController, alert: string): number | undefined {
  const line = c.logs.find((l) => l.msg === 'alerts received from Alertmanager' && String(l.groupKey).includes(`alertname="${alert}"`) && Number(l.firing) > 0);
  return line ? Date.parse(String(line.time)) : undefined;
}

function argMax(xs: number[]): number {
  return xs.reduce((best, v, i) => (v > (xs[best] ?? -Infinity) ? i : best), 0);
}

function argMin(xs: number[]): number {
  return xs.reduce((best, v, i) => (v < (xs[best] ?? Infinity) ? i : best), 0);
}

function iso(unix: number | undefined): string {
  return unix === undefined ? '?' : new Date(unix * 1000).toISOString().slice(0, 16).replace('T', ' ');
}
