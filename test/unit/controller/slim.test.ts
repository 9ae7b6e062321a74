import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
// What the generated list calls turn a list's JSON into (Dates and all); not re-exported by the package.
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { gpuInventory, podRequest } from '../../../controller/capacity/inventory.ts';
import { poolOf } from '../../../controller/capacity/lead-time.ts';
import { placeholderConfigSchema } from '../../../controller/capacity/placeholder-config.ts';
import { readPool } from '../../../controller/capacity/placeholder-pool.ts';
import { asPlaceholder, isPlaceholderPod, MANAGED_BY, MANAGED_BY_LABEL, POOL_LABEL } from '../../../controller/capacity/placeholder-pods.ts';
import { replacementCapacity } from '../../../controller/capacity/replacement.ts';
import { healingConfigSchema } from '../../../controller/healing/config.ts';
import { podCrashLoopCheck } from '../../../controller/healing/checks/pod-crashloop.ts';
import { podNeverReadyCheck } from '../../../controller/healing/checks/pod-never-ready.ts';
import { evictable } from '../../../controller/healing/remediations/drain-node.ts';
import { isCordoned, lastRemediationUnix, LAST_REMEDIATION_ANNOTATION, remediationOf, REMEDIATION_ANNOTATION, UNHEALTHY_TAINT } from '../../../controller/healing/state.ts';
import { deploymentScale } from '../../../controller/kube/cached-scale.ts';
import { podStats } from '../../../controller/kube/cluster.ts';
import { replicasManager } from '../../../controller/kube/scale-target.ts';
import { slimDeployment, slimNode, slimPod } from '../../../controller/kube/slim.ts';

// Objects as the API server served them (test/fixtures/kube/: a kwok GPU node, a Deployment's pod
// and the Deployment, read from kube-apiserver 1.35 in a bench:scale cluster, managedFields and
// all), then varied into the states the readers look for.
const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../../fixtures/kube/${name}.json`, import.meta.url), 'utf8')) as T;
const copy = <T>(o: T): T => structuredClone(o);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function pods(): V1Pod[] {
  const running = fixture<V1Pod>('pod');
  const crashing = copy(running);
  crashing.metadata = { ...crashing.metadata, name: 'crashing' };
  crashing.status = { ...crashing.status, containerStatuses: [{ name: 'model', image: 'x', imageID: '', ready: false, restartCount: 9, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s' } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] };
  const pending = copy(running);
  delete pending.spec?.nodeName;
  pending.metadata = { ...pending.metadata, name: 'pending' };
  pending.spec = { ...(pending.spec as NonNullable<V1Pod['spec']>), nodeSelector: { 'karpenter.sh/nodepool': 'cpu' } };
  pending.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] };
  const leaving = copy(running);
  leaving.metadata = { ...leaving.metadata, name: 'leaving', deletionTimestamp: new Date('2026-12-06T19:30:00Z') };
  const daemon = copy(running);
  daemon.metadata = { ...daemon.metadata, name: 'daemon', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'dcgm', uid: 'u', controller: true }], annotations: { ...daemon.metadata?.annotations, [LAST_APPLIED]: JSON.stringify(running) } };
  const mirror = copy(running);
  mirror.metadata = { ...mirror.metadata, name: 'mirror', annotations: { 'kubernetes.io/config.mirror': 'abc' } };
  const neverReady = copy(running);
  neverReady.metadata = { ...neverReady.metadata, name: 'never-ready', creationTimestamp: new Date('2026-12-06T17:00:00Z') };
  neverReady.status = { ...neverReady.status, conditions: (neverReady.status?.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False' } : c)) };
  const initGpu = copy(running);
  initGpu.metadata = { ...initGpu.metadata, name: 'init-gpu' };
  initGpu.spec = { ...(initGpu.spec as NonNullable<V1Pod['spec']>), initContainers: [{ name: 'warm', image: 'x', resources: { limits: { 'nvidia.com/gpu': '4' } } }] };
  const placeholder = copy(running);
  placeholder.metadata = { ...placeholder.metadata, name: 'placeholder', labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [POOL_LABEL]: 'gpu' }, annotations: { 'surgeguard.io/placeholder-resource': 'nvidia.com/gpu' } };
  return [running, crashing, pending, leaving, daemon, mirror, neverReady, initGpu, placeholder];
}

function nodes(): V1Node[] {
  const ready = fixture<V1Node>('node');
  const cordoned = copy(ready);
  cordoned.metadata = {
    ...cordoned.metadata,
    name: 'gpu-0002',
    annotations: { ...cordoned.metadata?.annotations, [REMEDIATION_ANNOTATION]: JSON.stringify({ check: 'gpu-xid', fault: 'fatal', phase: 'draining', summary: 'XID 79', startedAtUnix: 1_800_000_000 }), [LAST_REMEDIATION_ANNOTATION]: '1800000000', [LAST_APPLIED]: JSON.stringify(ready) },
  };
  cordoned.spec = { ...cordoned.spec, unschedulable: true, taints: [{ key: UNHEALTHY_TAINT.key, effect: UNHEALTHY_TAINT.effect, value: 'gpu-xid' }] };
  const notReady = copy(ready);
  notReady.metadata = { ...notReady.metadata, name: 'gpu-0003', creationTimestamp: new Date('2026-12-06T19:29:00Z') };
  notReady.status = { ...notReady.status, conditions: (notReady.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False' } : c)) };
  return [ready, cordoned, notReady];
}

/** Both forms a cache holds: a list's items (client-node's models, Dates) and watch events (the JSON as sent). */
function forms<T>(objs: T[], type: string): Array<{ form: string; objs: T[] }> {
  const json = objs.map((o) => JSON.parse(JSON.stringify(o)) as T);
  return [
    { form: 'watched (JSON)', objs: json },
    { form: 'listed (models)', objs: json.map((o) => ObjectSerializer.deserialize(o, type) as T) },
  ];
}

/** What every reader of the caches makes of a set of pods and nodes. */
function readings(ps: V1Pod[], ns: V1Node[]): Record<string, unknown> {
  const pool = placeholderConfigSchema.parse({ enabled: true, pools: [{ name: 'gpu', capGpus: 16, nodeSelector: { 'karpenter.sh/nodepool': 'gpu' } }] }).pools[0];
  assert.ok(pool);
  const nowMs = Date.parse('2026-12-06T19:40:00Z');
  return {
    podStats: podStats(ps),
    inventory: gpuInventory(ns, ps, 'nvidia.com/gpu', (p) => p.metadata?.labels?.app === 'd0'),
    requests: ps.map((p) => podRequest(p, 'nvidia.com/gpu')),
    evictable: ps.map(evictable),
    placeholders: ps.map((p) => [isPlaceholderPod(p), asPlaceholder(p, () => undefined)]),
    cordoned: ns.map(isCordoned),
    remediation: ns.map((n) => [remediationOf(n), lastRemediationUnix(n)]),
    pools: ns.map(poolOf),
    replacement: ns.map((node) => replacementCapacity({ node, nodes: ns, pods: ps, horizonSeconds: 600, nowMs })),
    pool: readPool(pool, { nodes: ns, pods: ps }, [{ key: 'sgb-0/s0', namespace: 'sgb-0', selector: 'app=d0' }], []),
  };
}

test('slim pods and nodes read the same as whole ones to every reader of the caches, listed or watched', async () => {
  const checks = healingConfigSchema.parse({}).checks;
  const ctx = (ps: V1Pod[], ns: V1Node[]) => ({ nowMs: Date.parse('2026-12-06T19:40:00Z'), nodes: ns, pods: ps });
  for (const [p, n] of forms(pods(), 'V1Pod').map((f, i) => [f, forms(nodes(), 'V1Node')[i]] as const)) {
    assert.ok(n);
    const slimPods = p.objs.map(slimPod);
    const slimNodes = n.objs.map(slimNode);
    assert.deepEqual(readings(slimPods, slimNodes), readings(p.objs, n.objs), p.form);
    for (const check of [podCrashLoopCheck({}, checks), podNeverReadyCheck({}, checks)]) {
      const whole = await check.run(ctx(p.objs, n.objs));
      assert.ok(whole.length > 0, `${check.name} finds the pod it is for in the fixtures (${p.form})`);
      assert.deepEqual(await check.run(ctx(slimPods, slimNodes)), whole, `${check.name}, ${p.form}`);
    }
  }
});

test('a slim pod or node keeps no managedFields, no last-applied copy and none of the spec no reader reads', () => {
  const [running, , , , daemon] = pods();
  assert.ok(running && daemon);
  const pod = slimPod(running);
  assert.equal(pod.metadata?.managedFields, undefined);
  assert.equal(pod.spec?.volumes, undefined);
  assert.equal(pod.spec?.tolerations, undefined);
  assert.equal(pod.status?.podIP, undefined);
  assert.equal(slimPod(daemon).metadata?.annotations?.[LAST_APPLIED], undefined);
  assert.ok(JSON.stringify(pod).length < JSON.stringify(running).length / 3, `slim pod ${JSON.stringify(pod).length} bytes of ${JSON.stringify(running).length}`);
  const [, cordoned] = nodes();
  assert.ok(cordoned);
  const node = slimNode(cordoned);
  assert.equal(node.metadata?.managedFields, undefined);
  assert.equal(node.metadata?.annotations?.[LAST_APPLIED], undefined);
  assert.equal(node.status?.nodeInfo, undefined);
  assert.equal(node.metadata?.annotations?.[REMEDIATION_ANNOTATION], cordoned.metadata?.annotations?.[REMEDIATION_ANNOTATION]);
  assert.deepEqual(node.spec?.taints, cordoned.spec?.taints, 'cordon rewrites the taint list from the cached one: all of it must be there');
});

test("a slim Deployment shows the same scale and names the same last writer of spec.replicas", () => {
  for (const { form, objs } of forms([fixture<V1Deployment>('deployment')], 'V1Deployment')) {
    const [whole] = objs;
    assert.ok(whole);
    const slim = slimDeployment(whole);
    assert.deepEqual(deploymentScale(slim), deploymentScale(whole), form);
    const writer = replicasManager(whole.metadata?.managedFields);
    assert.ok(writer, 'the fixture has a writer of spec.replicas');
    assert.deepEqual(replicasManager(slim.metadata?.managedFields), writer, form);
    assert.equal(slim.metadata?.managedFields?.length, 1, 'only the entry that owns spec.replicas');
    assert.equal(slim.spec?.template, undefined);
  }
});
