// Actuator Hpa on the real control plane: the controller serves external.metrics.k8s.io behind the
// kube-apiserver's aggregation layer (front-proxy certificates, request headers, an APIService),
// the HorizontalPodAutoscaler in the real kube-controller-manager reads it and is the only writer
// of the replicas (the audit log shows it), and when the controller stops the HPA keeps the count
// it has instead of dropping it.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiregistrationV1Api, AutoscalingV2Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, readAudit, serviceAccountKubeconfig, sharedKube, type KubeInfo } from '../../helpers/infra/kube.ts';
import { REPO_ROOT } from '../../helpers/infra/process.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';
import { rbacRulesAllUsed, untilRolesEffective, type RoleDoc } from '../../helpers/rbac.ts';
import { helmBinary, helmTemplate, CHART } from '../../../scripts/render-manifests.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { servingCert } from '../../helpers/infra/serving-cert.ts';
import { adoptHpa } from '../../../controller/adapters/adopt.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { createScenario, deploymentReplicas, readScaler, condition, type Scenario } from '../../helpers/scenario.ts';

const METRIC = 'surgeguard_desired_replicas';
const APISERVICE = 'v1beta1.external.metrics.k8s.io';
const ns = `sg-em-${process.pid}`;
const service = 'surgeguard-external-metrics';
let kube: KubeInfo;
let kc: KubeConfig;
let controller: TestController | undefined;
let fleet: KafkaFleet | undefined;
let scenario: Scenario;
let saUser: string;
/** The chart rendered with external metrics on: its roles are the ones the controller runs under. */
let chartRoles: RoleDoc[];

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  const brokers = (await sharedKafka()).brokers;
  await installCrd(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), ns);
  await addFakeNodes(kc, [`hpa-a-${process.pid}`, `hpa-b-${process.pid}`], { gpus: 8 });
  // The aggregator dials NAME.NAMESPACE.svc: the serving certificate names it.
  const cert = servingCert(`${service}.${ns}.svc`);
  // The controller runs as a ServiceAccount bound to the shipped roles: the controller's own, and
  // the chart's external-metrics roles (delegated authentication and authorization).
  const rendered = parseManifests(await helmTemplate(await helmBinary(REPO_ROOT), join(REPO_ROOT, CHART), { set: ['controller.externalMetrics.enabled=true,controller.externalMetrics.tlsSecret=unused,controller.externalMetrics.caBundle=QUJD'] }));
  chartRoles = rendered.filter((o) => (o.kind === 'ClusterRole' || o.kind === 'Role') && o.metadata?.name === 'surgeguard-controller-external-metrics') as unknown as RoleDoc[];
  assert.equal(chartRoles.length, 2, 'the chart renders a ClusterRole and a kube-system Role for external metrics');
  await ensureNamespace(kc.makeApiClient(CoreV1Api), 'surgeguard');
  await applyManifests(kc, parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/rbac.yaml'), 'utf8')));
  await applyManifests(kc, chartRoles as never);
  const saName = `sg-hpa-${process.pid}`;
  const sa = await serviceAccountKubeconfig(kube, { namespace: 'surgeguard', name: saName, clusterRole: 'surgeguard-controller' });
  saUser = sa.username;
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const subjects = [{ kind: 'ServiceAccount', name: saName, namespace: 'surgeguard' }];
  await rbac.createClusterRoleBinding({ body: { metadata: { name: `${saName}-external-metrics` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'surgeguard-controller-external-metrics' }, subjects } });
  await rbac.createNamespacedRoleBinding({ namespace: 'kube-system', body: { metadata: { name: `${saName}-external-metrics` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'surgeguard-controller-external-metrics' }, subjects } });
  await rbac.createNamespacedRoleBinding({ namespace: 'surgeguard', body: { metadata: { name: saName }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'surgeguard-controller' }, subjects } });
  await untilRolesEffective(kc, { namespace: 'surgeguard', name: saName }, 'surgeguard', (name) => name === 'surgeguard-controller');
  await untilRolesEffective(kc, { namespace: 'surgeguard', name: saName }, 'surgeguard', () => true, chartRoles);
  controller = await startTestController({
    kubeconfig: sa.kubeconfig,
    namespace: 'surgeguard',
    identity: `hpa-${process.pid}`,
    kafkaBrokers: brokers,
    overrides: { scalerSelector: `sg-test=hpa-${process.pid}`, leaderElection: { namespace: 'surgeguard', leaseName: `hpa-${process.pid}`, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 }, externalMetrics: { listen: '127.0.0.1:0', tls: { certFile: cert.certFile, keyFile: cert.keyFile } } },
  });
  const port = Number(new URL(controller.externalMetricsAddress ?? '').port);
  // An ExternalName Service resolves to the loopback listener: no kube-proxy is needed, and
  // traffic stays on 127.0.0.0/8. In a cluster the chart's Service selects the controller pods.
  await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: ns, body: { metadata: { name: service }, spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port }] } } });
  await kc.makeApiClient(ApiregistrationV1Api).createAPIService({
    body: {
      metadata: { name: APISERVICE },
      spec: { group: 'external.metrics.k8s.io', version: 'v1beta1', service: { namespace: ns, name: service, port }, caBundle: Buffer.from(cert.caPem).toString('base64'), groupPriorityMinimum: 100, versionPriority: 100 },
    },
  });
  await waitUntil('APIService Available', async () => {
    const a = await kc.makeApiClient(ApiregistrationV1Api).readAPIService({ name: APISERVICE });
    return a.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  scenario = await createScenario(kc, brokers, { name: 'hpa', selector: `hpa-${process.pid}`, startupSeconds: 2, capacity: 10, partitions: 16, maxReplicas: 16, extraSpec: { actuator: 'Hpa' } });
  fleet = await startKafkaFleet({ brokers, topic: scenario.topic, groupId: scenario.group, capacityPerReplica: 10, kc, namespace: scenario.namespace, deployment: 'infer' });
  fleet.setRate(20);
});

after(() =>
  runCleanups([
    { what: 'controller', run: async () => controller?.stop() },
    { what: 'fleet', run: async () => fleet?.stop() },
    { what: 'APIService', run: async () => kc.makeApiClient(ApiregistrationV1Api).deleteAPIService({ name: APISERVICE }).catch(() => undefined) },
  ]),
);

async function externalMetric(namespace: string, selector: string): Promise<{ items: Array<{ value: string }> }> {
  return (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: 'external.metrics.k8s.io', version: 'v1beta1', namespace, plural: METRIC, labelSelector: selector })) as { items: Array<{ value: string }> };
}

test('actuator Hpa: the HPA reads the forecast through the aggregation layer and is the only writer of the replicas', async (t) => {
  const hpas = kc.makeApiClient(AutoscalingV2Api);
  await hpas.createNamespacedHorizontalPodAutoscaler({
    namespace: scenario.namespace,
    body: {
      metadata: { name: 'infer' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'infer' },
        minReplicas: 1,
        maxReplicas: 16,
        metrics: [{ type: 'External', external: { metric: { name: METRIC, selector: { matchLabels: { scaler: scenario.scaler } } }, target: { type: 'AverageValue', averageValue: '1' } } }],
      },
    },
  });
  const since = Date.now();
  // A surge: 120/s needs 12 replicas of 10/s (more with headroom); the HPA gets there from the served value.
  await waitUntil('SurgeGuard serves a value', async () => ((await readScaler(kc, scenario)).status?.externalMetric ? true : undefined), { timeoutMs: 30_000, intervalMs: 300 });
  fleet?.setRate(120);
  // When SurgeGuard first served a count of 12 or more, to measure the path from forecast to replicas.
  let servedAt: number | undefined;
  const reached = await waitUntil('the HPA scaled the target to at least 12', async () => {
    const r = await deploymentReplicas(kc, scenario);
    if (servedAt === undefined && ((await readScaler(kc, scenario)).status?.externalMetric?.value ?? 0) >= 12) servedAt = Date.now();
    return r.spec >= 12 ? r.spec : undefined;
  }, { timeoutMs: 90_000, intervalMs: 500 }).catch(async (err: unknown) => {
    // What the HPA and the scaler said, for a failure that needs it.
    const h = await hpas.readNamespacedHorizontalPodAutoscaler({ name: 'infer', namespace: scenario.namespace });
    const sc = await readScaler(kc, scenario);
    throw new Error(`${String(err)}\nHPA status: ${JSON.stringify(h.status)}\nscaler status: ${JSON.stringify(sc.status)}`);
  });
  t.diagnostic(`from serving 12+ to the HPA setting it: ${servedAt === undefined ? 'served and set within one poll' : `${((Date.now() - servedAt) / 1000).toFixed(1)} s`} (the HPA syncs every 15 s)`);
  const s = await readScaler(kc, scenario);
  assert.equal(condition(s, 'Active'), 'True');
  assert.equal(condition(s, 'Conflict'), 'False');
  assert.ok((s.status?.externalMetric?.value ?? 0) >= 12, JSON.stringify(s.status?.externalMetric));
  assert.equal(s.status?.externalMetric?.hpa, 'infer');

  // What the HPA reads, through the API server, is what the status says is served.
  const served = await externalMetric(scenario.namespace, `scaler=${scenario.scaler}`);
  assert.match(served.items[0]?.value ?? '', /^\d+m$/);
  // A scaler that does not exist is an error that names it (the HPA keeps its count), never a zero.
  await assert.rejects(externalMetric(scenario.namespace, 'scaler=nope'), (err: { code?: number; body?: unknown }) => err.code === 404 && /no PredictiveScaler .*\/nope/.test(String(err.body)));

  // Only the HPA wrote the replicas: every write to the scale came from kube-controller-manager's HPA controller.
  const writes = readAudit(kube, (e) => e.objectRef?.subresource === 'scale' && e.objectRef.namespace === scenario.namespace && (e.verb === 'update' || e.verb === 'patch') && Date.parse(e.requestReceivedTimestamp) >= since - 1000);
  assert.ok(writes.length >= 1, 'the HPA should have written the scale');
  assert.deepEqual(writes.filter((w) => !/horizontal-pod-autoscaler/.test(w.userAgent ?? '')).map((w) => `${w.verb} by ${w.user.username} (${w.userAgent})`), []);

  // Least privilege: the external-metrics roles grant nothing the controller did not use.
  rbacRulesAllUsed(readAudit(kube, (e) => e.user.username === saUser), () => true, chartRoles);
  const denied = readAudit(kube, (e) => e.user.username === saUser && e.responseStatus?.code === 403);
  assert.deepEqual(denied.map((e) => `${e.verb} ${e.objectRef?.resource}`), [], 'the shipped roles lack a permission the controller needs');

  // The decision is explained: an Event and the decision log say what was asked of the HPA.
  const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: scenario.namespace, fieldSelector: `involvedObject.name=${scenario.scaler},reason=AskedHpa` });
  assert.ok(events.items.length >= 1, 'an AskedHpa Event');
  assert.ok(controller?.decisions.list({ limit: 100 }).some((d) => d.decision === 'hpa'));

  // Without the front proxy's certificate the metric is refused.
  const direct = await new Promise<number>((resolve, reject) => {
    const req = request(`${controller?.externalMetricsAddress}/apis/external.metrics.k8s.io/v1beta1/namespaces/${scenario.namespace}/${METRIC}?labelSelector=scaler=${scenario.scaler}`, { rejectUnauthorized: false, headers: { 'X-Remote-User': 'system:admin' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(direct, 401);

  // The controller stops mid-surge: the HPA cannot read the metric and keeps the count it has.
  await controller?.stop();
  controller = undefined;
  await waitUntil('the HPA reports the metric unavailable', async () => {
    const h = await hpas.readNamespacedHorizontalPodAutoscaler({ name: 'infer', namespace: scenario.namespace });
    return h.status?.conditions?.some((c) => c.type === 'ScalingActive' && c.status === 'False') ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  const after = await deploymentReplicas(kc, scenario);
  assert.ok(after.spec >= reached, `the HPA dropped the fleet from ${reached} to ${after.spec} when the metric went away`);
});

test('surgeguard adopt: what it prints for an existing HPA is accepted by the API server (the CRD schema, and autoscaling/v2 with its tolerance field)', async () => {
  const existing = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'ranker', namespace: ns },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ranker' }, minReplicas: 2, maxReplicas: 40, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }] },
  };
  const a = adoptHpa(existing, { signal: { kafka: { topic: 'posts', consumerGroup: 'ranker' } }, requestsPerSecondPerReplica: 25, tolerance: true });
  const answered = (await applyManifests(kc, [a.scaler, a.hpa] as never, { dryRun: true })) as Array<{ kind?: string; spec?: { actuator?: string; behavior?: { scaleUp?: { tolerance?: string } } } }>;
  assert.equal(answered[0]?.spec?.actuator, 'Hpa');
  // The server kept the field: Kubernetes 1.35 serves HPA tolerance (beta).
  assert.equal(answered[1]?.spec?.behavior?.scaleUp?.tolerance, '0');
});
