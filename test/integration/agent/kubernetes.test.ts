// The agent's Kubernetes side on the real API server: its manifests (with the Prometheus
// Operator's published ServiceMonitor CRD installed) pass a server-side dry run, and its pod
// watch sees exactly the IPs of the pods on its own node.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { watchNodePodIps } from '../../../agent/pod-ips-kube.ts';
import { silentLogger } from '../../../common/logger.ts';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, sharedKube } from '../../helpers/infra/kube.ts';
import { REPO_ROOT, waitUntil } from '../../helpers/infra/process.ts';
import { installMonitoringCrds } from '../../helpers/controller.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';

let kc: KubeConfig;

before(async () => {
  kc = kubeConfigFrom((await sharedKube()).kubeconfig);
  await installMonitoringCrds(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), 'surgeguard');
});

test('every manifest in deploy/agent passes a server-side dry run', async () => {
  const files = readdirSync(join(REPO_ROOT, 'deploy/agent')).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.includes('servicemonitor.yaml') && files.includes('daemonset.yaml'));
  for (const f of files) {
    const objects = parseManifests(readFileSync(join(REPO_ROOT, 'deploy/agent', f), 'utf8'));
    const answered = await applyManifests(kc, objects, { dryRun: true });
    assert.equal(answered.length, objects.length, f);
  }
});

test('the pod watch (scope: node) holds the IPs of the pods on its node only', async () => {
  const [mine, other] = [`agent-node-${process.pid}`, `agent-other-${process.pid}`];
  await addFakeNodes(kc, [mine, other], { gpus: 8 });
  const ns = `agent-pods-${process.pid}`;
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(core, ns);
  const source = watchNodePodIps(mine, silentLogger(), kc);
  try {
    for (const [name, node] of [['a', mine], ['b', mine], ['c', other]] as const) {
      await core.createNamespacedPod({ namespace: ns, body: { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'x', image: 'registry.invalid/x:1' }], tolerations: [{ operator: 'Exists' }] } } });
    }
    // kwok gives each running pod an IP from its CIDR.
    const seen = await waitUntil('pod IPs of this node', async () => {
      const pods = (await core.listNamespacedPod({ namespace: ns })).items;
      const ip = (n: string): string | undefined => pods.find((p) => p.metadata?.name === n)?.status?.podIP;
      const got = source.ips();
      const [a, b, c] = [ip('a'), ip('b'), ip('c')];
      return a && b && c && got?.has(a) && got.has(b) ? { a, c, got } : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300 });
    assert.equal(seen.got.has(seen.c), false, 'a pod of another node was attributed to this one');
    await core.deleteNamespacedPod({ name: 'a', namespace: ns, gracePeriodSeconds: 0 });
    await waitUntil('the deleted pod\'s IP is dropped', async () => (source.ips()?.has(seen.a) === false ? true : undefined), { timeoutMs: 30_000, intervalMs: 300 });
  } finally {
    await source.close?.();
  }
});
