// API Priority and Fairness as shipped (deploy/controller/flowcontrol.yaml, from the chart): on the
// real API server, the controller's ServiceAccount's requests are classified into its own priority
// level and its Lease requests into the built-in leader-election level. The API server says which
// schema and level served a request in the X-Kubernetes-PF-* response headers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api, FlowcontrolApiserverV1Api, type KubeConfig } from '@kubernetes/client-node';
import { REPO_ROOT, waitUntil } from '../../helpers/infra/process.ts';
import { ensureNamespace, kubeConfigFrom, serviceAccountKubeconfig, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';
import { installCrd } from '../../helpers/controller.ts';

let kube: KubeHandle;
let kc: KubeConfig;
let token: string;

before(async () => {
  // A control plane of its own: the shared one runs without Priority and Fairness.
  kube = await startKube(undefined, { priorityAndFairness: true });
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), 'surgeguard');
  for (const file of ['rbac.yaml', 'flowcontrol.yaml']) await applyManifests(kc, parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller', file), 'utf8')));
  token = (await serviceAccountKubeconfig(kube, { namespace: 'surgeguard', name: 'surgeguard-controller' })).token;
});

after(() => kube?.stop());

/** A GET as the controller's ServiceAccount; returns the APF headers the API server answered with. */
function get(path: string): Promise<{ status: number; flowSchema: string; priorityLevel: string }> {
  const url = new URL(path, kube.server);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca: readFileSync(kube.caFile), headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, flowSchema: String(res.headers['x-kubernetes-pf-flowschema-uid'] ?? ''), priorityLevel: String(res.headers['x-kubernetes-pf-prioritylevel-uid'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test("the controller's requests go to its own priority level, its Lease requests to leader-election", async () => {
  const fc = kc.makeApiClient(FlowcontrolApiserverV1Api);
  const schema = await fc.readFlowSchema({ name: 'surgeguard-controller' });
  const leases = await fc.readFlowSchema({ name: 'surgeguard-controller-leader-election' });
  const level = await fc.readPriorityLevelConfiguration({ name: 'surgeguard-controller' });
  const leaderElection = await fc.readPriorityLevelConfiguration({ name: 'leader-election' });
  // The API server digests new flow-control objects a moment after they are written.
  const scalers = await waitUntil('the new priority level serving', async () => {
    const r = await get('/apis/surgeguard.io/v1alpha1/predictivescalers');
    return r.status === 200 && r.flowSchema === schema.metadata?.uid ? r : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  assert.equal(scalers.flowSchema, schema.metadata?.uid);
  assert.equal(scalers.priorityLevel, level.metadata?.uid);
  const lease = await get('/apis/coordination.k8s.io/v1/namespaces/surgeguard/leases/surgeguard-controller');
  assert.equal(lease.flowSchema, leases.metadata?.uid);
  assert.equal(lease.priorityLevel, leaderElection.metadata?.uid);
  // Its seats are its own: not lent to others in a flood, none borrowed from them.
  assert.equal(level.spec?.limited?.lendablePercent, 0);
  assert.equal(level.spec?.limited?.borrowingLimitPercent, 0);
});
