// Proves the Kubernetes control plane is real: the scale subresource takes a merge patch,
// kwok makes pods ready after the delay a test sets, a PodDisruptionBudget refuses an
// eviction with 429, RBAC refuses an account without rights with 403, and the audit log
// records each of those requests with who made it and the response code.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, PolicyV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { READY_DELAY_ANNOTATION, addFakeNodes, ensureNamespace, kubeConfigFrom, readAudit, serviceAccountKubeconfig, sharedKube, type KubeInfo } from '../../helpers/infra/kube.ts';
import { waitUntil } from '../../helpers/infra/process.ts';

const ns = `smoke-${process.pid}`;
const READY_DELAY_SECONDS = 4;
let kube: KubeInfo;
let kc: KubeConfig;

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), ns);
  await addFakeNodes(kc, [`smoke-gpu-${process.pid}`], { gpus: 8 });
});

test('scale subresource, kwok readiness delay, PDB refusal, RBAC 403, all in the audit log', async (t) => {
  t.diagnostic(`control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) ready in ${kube.startSeconds.toFixed(1)} s`);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const labels = { app: 'infer' };
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'infer' },
      spec: {
        replicas: 0,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { [READY_DELAY_ANNOTATION]: `${READY_DELAY_SECONDS}s` } },
          spec: {
            containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
            tolerations: [{ operator: 'Exists' }],
          },
        },
      },
    },
  });

  // The scale subresource with a merge patch, as the controller will send it.
  await apps.patchNamespacedDeploymentScale({ name: 'infer', namespace: ns, body: { spec: { replicas: 2 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const scale = await apps.readNamespacedDeploymentScale({ name: 'infer', namespace: ns });
  assert.equal(scale.spec?.replicas, 2);

  const deployment = await waitUntil('2 ready replicas', async () => {
    const d = await apps.readNamespacedDeployment({ name: 'infer', namespace: ns });
    return d.status?.readyReplicas === 2 ? d : undefined;
  }, { timeoutMs: 90_000, intervalMs: 300 });
  assert.equal(deployment.status?.replicas, 2);

  // Each pod became ready no sooner than the delay after it was scheduled.
  const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=infer' })).items;
  assert.equal(pods.length, 2);
  for (const pod of pods) {
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime;
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime;
    assert.ok(scheduled && ready, `pod ${pod.metadata?.name} lacks conditions`);
    const seconds = (new Date(ready).getTime() - new Date(scheduled).getTime()) / 1000;
    // Condition times have one-second resolution.
    assert.ok(seconds >= READY_DELAY_SECONDS - 1, `pod ready after ${seconds} s, expected about ${READY_DELAY_SECONDS}`);
    assert.ok(pod.spec?.nodeName, `pod ${pod.metadata?.name} was not scheduled to a kwok node`);
  }

  // A PDB that needs both pods: the Eviction API answers 429.
  const policy = kc.makeApiClient(PolicyV1Api);
  await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: { metadata: { name: 'infer' }, spec: { minAvailable: 2, selector: { matchLabels: labels } } } });
  await waitUntil('PDB status observed', async () => {
    const pdb = await policy.readNamespacedPodDisruptionBudget({ name: 'infer', namespace: ns });
    return pdb.status?.observedGeneration === pdb.metadata?.generation && pdb.status?.currentHealthy === 2 ? true : undefined;
  }, { timeoutMs: 30_000 });
  const victim = pods[0]?.metadata?.name ?? '';
  const eviction = await core.createNamespacedPodEviction({ name: victim, namespace: ns, body: { metadata: { name: victim, namespace: ns } } }).then(
    () => 200,
    (err: { code?: number }) => err.code,
  );
  assert.equal(eviction, 429);

  // A ServiceAccount without any binding is refused by RBAC.
  const sa = await serviceAccountKubeconfig(kube, { namespace: ns, name: 'nobody' });
  const denied = await kubeConfigFrom(sa.kubeconfig)
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace: ns })
    .then(
      () => 200,
      (err: { code?: number }) => err.code,
    );
  assert.equal(denied, 403);

  // And the audit log saw all three, with the user and the response code.
  const events = await waitUntil('audit events', async () => {
    const ev = readAudit(kube, (e) => e.objectRef?.namespace === ns);
    const patch = ev.find((e) => e.verb === 'patch' && e.objectRef?.resource === 'deployments' && e.objectRef.subresource === 'scale');
    const evict = ev.find((e) => e.verb === 'create' && e.objectRef?.subresource === 'eviction');
    const list = ev.find((e) => e.user.username === sa.username && e.verb === 'list' && e.objectRef?.resource === 'pods');
    return patch && evict && list ? { patch, evict, list } : undefined;
  }, { timeoutMs: 10_000 });
  assert.equal(events.patch.responseStatus?.code, 200);
  assert.equal(events.patch.user.username, 'surgeguard-test-admin');
  assert.equal(events.evict.responseStatus?.code, 429);
  assert.equal(events.list.responseStatus?.code, 403);
});

test('kubectl, built with the control plane, reads it through the admin kubeconfig (how a person looks into a failed run)', () => {
  const out = execFileSync(join(kube.binDir, 'kubectl'), ['--kubeconfig', kube.kubeconfig, 'get', 'nodes', '-o', 'name'], { encoding: 'utf8', timeout: 30_000 });
  assert.ok(out.split('\n').includes(`node/smoke-gpu-${process.pid}`), out);
});
