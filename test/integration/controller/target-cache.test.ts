// Target reads from watch caches on the real control plane (issue 21): over many ticks the
// controller sends no GET of deployments/scale and no LIST of the target's pods (its statistics
// come from the pod cache that healing keeps), patches the scale only when the replicas change,
// and still scales the Deployment up on its Prometheus demand (real Prometheus scraping a demand
// series).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createScaler, installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { READY_DELAY_ANNOTATION, addFakeNodes, ensureNamespace, kubeConfigFrom, readAudit, sharedKube, type KubeInfo } from '../../helpers/infra/kube.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { addScrapeTarget, promQuery, sharedPrometheus } from '../../helpers/infra/prometheus.ts';

const id = `tcache-${process.pid}`;
const namespace = id;
let kube: KubeInfo;
let kc: KubeConfig;
let controller: TestController | undefined;
let exporter: Server | undefined;
const demand = 45;

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await addFakeNodes(kc, [id], { gpus: 8 });
  exporter = createServer((_req, res) => res.end(`sg_it_demand{ns="${namespace}"} ${demand}\n`));
  await new Promise<void>((resolve) => exporter?.listen(0, '127.0.0.1', resolve));
});
after(() => runCleanups([{ what: 'controller', run: async () => controller?.stop() }, { what: 'exporter', run: () => new Promise((r) => exporter?.close(r)) }]));

test('targets are read from the watch caches: no GET of the scale and no LIST of pods per tick, a patch only when the replicas change', async () => {
  const prom = await sharedPrometheus();
  addScrapeTarget(prom, id, `127.0.0.1:${(exporter?.address() as AddressInfo).port}`);
  const query = `sum(sg_it_demand{ns="${namespace}"})`;
  await waitUntil('the demand series in Prometheus', async () => ((await promQuery(prom.url, query)).length === 1 ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  await ensureNamespace(kc.makeApiClient(CoreV1Api), namespace);
  const labels = { app: 'infer' };
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: { metadata: { name: 'infer' }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels, annotations: { [READY_DELAY_ANNOTATION]: '1s' } }, spec: { containers: [{ name: 'm', image: 'registry.invalid/m:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }], tolerations: [{ operator: 'Exists' }] } } } },
  });
  await createScaler(kc, { name: 'infer', namespace, labels: { 'sg-test': id } }, { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'infer' }, signal: { prometheus: { query } }, requestsPerSecondPerReplica: 10, startupSeconds: 2, minReplicas: 1, maxReplicas: 8 });
  controller = await startTestController({ kubeconfig: kube.kubeconfig, namespace: 'default', identity: id, prometheusUrl: prom.url, overrides: { healing: { enabled: true, dryRun: true }, scalerSelector: `sg-test=${id}`, leaderElection: { namespace: 'default', leaseName: id, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 } } });
  const tickCount = async (): Promise<number> => Number(/surgeguard_controller_tick_duration_seconds_count (\d+)/.exec((await controller?.metrics.render())?.body ?? '')?.[1] ?? 0);
  const apps = kc.makeApiClient(AppsV1Api);
  await waitUntil('scaled up to at least 5 replicas on 45 requests/s', async () => (((await apps.readNamespacedDeployment({ name: 'infer', namespace })).spec?.replicas ?? 0) >= 5 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  // Ten more ticks at steady demand: each one reads the target, none needs to write it.
  const from = await tickCount();
  await waitUntil('ten more ticks', async () => ((await tickCount()) >= from + 10 ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
  const scale = readAudit(kube, (e) => e.objectRef?.namespace === namespace && e.objectRef.resource === 'deployments' && e.objectRef.subresource === 'scale');
  const gets = scale.filter((e) => e.verb === 'get');
  const patches = scale.filter((e) => e.verb === 'patch');
  // The Deployment controller writes the status while pods come up, which moves the
  // resourceVersion a guarded patch names: such a patch fails with 409 and its retry reads the
  // scale once from the API server (the cache may not have seen the other write). That GET is
  // the design; any other is a tick that did not read from the cache.
  const conflicts = patches.filter((e) => e.responseStatus?.code === 409);
  const applied = patches.filter((e) => e.responseStatus?.code !== 409);
  const ticks = await tickCount();
  // The ticks read the scale from the cache, and a patch's answer is the written scale.
  assert.ok(gets.length <= conflicts.length, `${gets.length} GETs of the scale over ${ticks} ticks with ${patches.length} patches (${conflicts.length} refused with 409): the ticks read the scale from the API server, or a patch was read back`);
  assert.ok(applied.length >= 1 && applied.length <= 4, `${applied.length} scale patches applied over ${ticks} ticks: patched when nothing changed`);
  // Pod statistics are due every 4 ticks: from the pod cache, not a LIST in the target's namespace.
  const podLists = readAudit(kube, (e) => e.objectRef?.namespace === namespace && e.objectRef.resource === 'pods' && e.verb === 'list');
  assert.equal(podLists.length, 0, `${podLists.length} LISTs of the target's pods over ${ticks} ticks`);
  const ready = /surgeguard_scaler_ready_replicas\{namespace="[^"]+",scaler="infer"\} (\d+)/.exec((await controller.metrics.render()).body);
  assert.ok(Number(ready?.[1]) >= 1, `the ready pods were counted from the cache: ${ready?.[0]}`);
  // The cache sees the controller's own write: the next tick did not decide the same step again.
  assert.ok(!controller.logs.some((l) => l.msg === 'scale patch failed; retrying next tick'), 'a scale patch failed');
  const reads = Number(/surgeguard_controller_scale_patches_total\{result="conflict"\} (\d+)/.exec((await controller.metrics.render()).body)?.[1] ?? 0);
  assert.equal(reads, 0, 'a patch conflicted with a stale cached resourceVersion');
});
