// Karpenter's node repair acting on the condition SurgeGuard writes, end to end: a control plane of
// its own (kwok plays the kubelets), Karpenter v1.15.0 with its kwok cloud provider and the
// NodeRepair feature gate, and `surgeguard controller` as a process with healing on.
//
// Karpenter repairs only the conditions its cloud provider's RepairPolicies list, compiled in: the
// kwok provider's are Ready=False/Unknown (10 min) and its simulated faults KWOKUnhealthy=True (30 s,
// replace) and KWOKRebootRequired=True (kwok/cloudprovider/cloudprovider.go:197-234 at v1.15.0);
// nothing configures them, and SurgeGuard refuses to write Ready. So SurgeGuard is configured as it
// would be for any provider: the condition type the provider acts on, here KWOKUnhealthy, with
// `faultStatus: "True"` since that type names a problem (on EKS: AcceleratedHardwareReady, False).
//
// Two GPU pods make Karpenter launch two 4-GPU nodes. An XID 79 alert arrives for one of them, as
// Alertmanager would send it; SurgeGuard sets KWOKUnhealthy=True on that node (and cordons and
// drains it), and Karpenter, 30 s after the condition's transition, picks its repair policy and
// replaces the node; the other node, never marked, stays. Four static GPU nodes keep the marked one
// under SurgeGuard's fleet-wide limit (20 %), past which it would mark no node.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1NodeCondition } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startControllerProcess } from '../../helpers/controller-process.ts';
import { installCrd } from '../../helpers/controller.ts';
import { startKarpenter, type Karpenter } from '../../helpers/infra/karpenter.ts';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { freePort, runCleanups, waitUntil } from '../../helpers/infra/process.ts';

const NS = 'surgeguard';
const APP = 'repair';
const POOL_KEY = 'surgeguard.io/test-pool';
const CONDITION = 'KWOKUnhealthy';
/** The kwok provider's toleration for KWOKUnhealthy=True (cloudprovider.go, the policy's TolerationDuration). */
const TOLERATION_MS = 30_000;
const dir = mkdtempSync(join(tmpdir(), 'sg-karpenter-repair-'));
const token = `repair-${process.pid}`;
let kube: KubeHandle;
let kc: KubeConfig;
let core: CoreV1Api;
let karpenter: Karpenter | undefined;
let controller: { child: ChildProcess; url: string } | undefined;
let lifecycle: { stop: () => Promise<void> } | undefined;

/**
 * The one job of kube-controller-manager's node lifecycle controller this control plane needs
 * (it runs without it, see startKube): lift the not-ready taint the API server puts on every new
 * node once the node is Ready, so that Karpenter's nodes initialize and take pods. Optimistic
 * (the node's resourceVersion in the patch): a write that races SurgeGuard's cordon is retried.
 */
function liftNotReadyTaints(): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const n of await nodesOfPool().catch(() => [])) {
        const taints = n.spec?.taints ?? [];
        const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (!ready || !taints.some((t) => t.key === 'node.kubernetes.io/not-ready')) continue;
        await core
          .patchNode({ name: n.metadata?.name ?? '', body: { metadata: { resourceVersion: n.metadata?.resourceVersion }, spec: { taints: taints.filter((t) => t.key !== 'node.kubernetes.io/not-ready') } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
          // A conflict (the node changed since it was read) or a node gone: read again next round.
          .catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

before(async () => {
  kube = await startKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await installCrd(kc);
  await ensureNamespace(core, NS);
  await ensureNamespace(core, APP);
  await addFakeNodes(kc, ['static-1', 'static-2', 'static-3', 'static-4'], { gpus: 8 });
  karpenter = await startKarpenter(kube, { featureGates: 'NodeRepair=true' });
  lifecycle = liftNotReadyTaints();
  await karpenter.addPool({ name: 'gpu-r', labels: { [POOL_KEY]: 'r' }, instanceTypes: ['gpu-4x'], registrationDelaySeconds: 2, limits: { 'nvidia.com/gpu': '16' } });

  writeFileSync(join(dir, 'token'), token);
  writeFileSync(
    join(dir, 'controller.yaml'),
    stringify({
      listen: `127.0.0.1:${await freePort()}`,
      kubeconfig: kube.kubeconfig,
      identity: 'repair-a',
      scalerSelector: 'sg-test=none',
      leaderElection: { namespace: NS, leaseName: 'repair', leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 },
      pauseConfigMap: { namespace: NS, name: 'surgeguard-controller' },
      api: { tokenFile: join(dir, 'token') },
      healing: { intervalSeconds: 2, nodeCondition: { type: CONDITION, faultStatus: 'True' } },
    }),
  );
  controller = await startControllerProcess(dir, 'controller');
});

after(() => runCleanups([
  { what: 'node lifecycle', run: async () => lifecycle?.stop() },
  { what: 'controller', run: async () => (controller && controller.child.exitCode === null ? (controller.child.kill('SIGTERM'), await new Promise((r) => controller?.child.once('exit', r))) : undefined) },
  { what: 'karpenter', run: async () => karpenter?.stop() },
  { what: 'control plane', run: () => kube.stop() },
]));

async function nodesOfPool(): Promise<V1Node[]> {
  return (await core.listNode({ labelSelector: `${POOL_KEY}=r` })).items;
}

const conditionOf = (n: V1Node): V1NodeCondition | undefined => n.status?.conditions?.find((c) => c.type === CONDITION);

/** Posts one firing alert for `node` as Alertmanager's webhook does; 503 (not the leader yet) is retried. */
async function alertFor(node: string): Promise<void> {
  const body = {
    version: '4', groupKey: '{}:{alertname="GpuXid79"}', truncatedAlerts: 0, status: 'firing', receiver: 'surgeguard', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager.invalid',
    alerts: [{ status: 'firing', labels: { alertname: 'GpuXid79', node, severity: 'critical', surgeguard_fault: 'fatal' }, annotations: { summary: `XID 79 (GPU has fallen off the bus) on ${node}` }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `xid79-${node}` }],
  };
  await waitUntil('the alert accepted by the leader', async () => {
    const res = await fetch(`${controller?.url}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return res.status === 200 ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 300 });
}

/** Karpenter's JSON log lines with this message. */
function karpenterLines(message: string): Array<Record<string, unknown>> {
  return readFileSync(karpenter?.log ?? '', 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === message);
}

test('SurgeGuard marks a faulty GPU node with the condition the provider repairs; Karpenter replaces that node after the toleration, and only that one', async (t) => {
  const apps = kc.makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({
    namespace: APP,
    body: {
      metadata: { name: 'infer' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'infer' } },
        template: {
          metadata: { labels: { app: 'infer' } },
          // 3 of a node's 4 GPUs each: one pod per node, so Karpenter launches two nodes.
          spec: { nodeSelector: { [POOL_KEY]: 'r' }, containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '3' } } }] },
        },
      },
    },
  });
  let seen = '';
  const first = await waitUntil('two pool nodes Ready, each running one pod', async () => {
    const all = (await core.listNode()).items;
    const nodes = (await nodesOfPool()).filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const pods = (await core.listNamespacedPod({ namespace: APP })).items.filter((p) => p.spec?.nodeName && !p.metadata?.deletionTimestamp);
    const used = new Set(pods.map((p) => p.spec?.nodeName));
    seen = JSON.stringify({ nodes: all.map((n) => [n.metadata?.name, n.metadata?.labels?.[POOL_KEY], n.status?.conditions?.find((c) => c.type === 'Ready')?.status, (n.spec?.taints ?? []).map((t) => t.key), n.status?.allocatable?.['nvidia.com/gpu']]), pods: (await core.listNamespacedPod({ namespace: APP })).items.map((p) => [p.metadata?.name, p.spec?.nodeName, p.status?.phase, p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message]) });
    return nodes.length === 2 && used.size === 2 && nodes.every((n) => used.has(n.metadata?.name)) ? nodes.map((n) => n.metadata?.name ?? '').sort() : undefined;
  }, { timeoutMs: 120_000, intervalMs: 500, pid: karpenter?.pid, log: karpenter?.log }).catch((err: Error) => Promise.reject(new Error(`${err.message}\nlast seen: ${seen}`)));
  const [faulty, healthy] = first as [string, string];

  await alertFor(faulty);
  const marked = await waitUntil(`${CONDITION}=True on ${faulty}`, async () => {
    const c = conditionOf(await core.readNode({ name: faulty }));
    return c?.status === 'True' ? c : undefined;
  }, { timeoutMs: 30_000, intervalMs: 300 });
  assert.equal(marked.reason, 'AlertGpuXid79');
  assert.match(marked.message ?? '', /fallen off the bus/);
  const markedAt = new Date(marked.lastTransitionTime ?? 0).getTime();

  // Karpenter deletes the node (SurgeGuard never deletes one: it cordons and drains).
  await waitUntil(`Karpenter to delete ${faulty}`, async () => {
    const n = await core.readNode({ name: faulty }).catch((err: { code?: number }) => (err.code === 404 ? undefined : Promise.reject(err)));
    return !n || n.metadata?.deletionTimestamp ? true : undefined;
  }, { timeoutMs: 180_000, intervalMs: 1000, pid: karpenter?.pid, log: karpenter?.log });

  // Its repair decision names our condition and came after the toleration (from the condition's
  // own transition time to the time on Karpenter's log line: recorded times, not a wait).
  const repairs = karpenterLines('selected repair policy').filter((l) => JSON.stringify(l).includes(faulty));
  assert.ok(repairs.length > 0, `Karpenter logged no repair of ${faulty}`);
  const decision = repairs[0] as Record<string, unknown>;
  assert.equal(decision.condition, CONDITION, JSON.stringify(decision));
  assert.equal(decision.status, 'True', JSON.stringify(decision));
  assert.equal(decision.reason, 'AlertGpuXid79', JSON.stringify(decision));
  assert.equal(decision.action, 'ReplaceNode', JSON.stringify(decision));
  // Karpenter counts the toleration from SurgeGuard's lastTransitionTime, and acted only after it.
  const eligibleAt = new Date(String(decision['eligible-at'])).getTime();
  assert.equal(eligibleAt - markedAt, TOLERATION_MS, `eligible-at ${String(decision['eligible-at'])}, condition set ${marked.lastTransitionTime?.toISOString?.() ?? String(marked.lastTransitionTime)}`);
  const decidedAt = new Date(String(decision.time)).getTime();
  assert.ok(decidedAt >= eligibleAt, `repair chosen ${decidedAt - markedAt} ms after the condition was set; the toleration is ${TOLERATION_MS} ms`);
  t.diagnostic(`condition set ${new Date(markedAt).toISOString()}, eligible-at +${eligibleAt - markedAt} ms, repair policy selected +${decidedAt - markedAt} ms`);

  // The node never marked is not repaired; the workload runs on two pool nodes again, one of them new.
  assert.equal(karpenterLines('selected repair policy').filter((l) => JSON.stringify(l).includes(healthy)).length, 0);
  const after = await waitUntil('both pods running on pool nodes again, one on a replacement', async () => {
    const pods = (await core.listNamespacedPod({ namespace: APP })).items.filter((p) => p.spec?.nodeName && !p.metadata?.deletionTimestamp && p.status?.phase === 'Running');
    const on = new Set(pods.map((p) => p.spec?.nodeName ?? ''));
    return pods.length === 2 && on.has(healthy) && !on.has(faulty) ? [...on] : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1000, pid: karpenter?.pid, log: karpenter?.log });
  const healthyNode = await core.readNode({ name: healthy });
  assert.equal(healthyNode.metadata?.deletionTimestamp, undefined);
  assert.notEqual(conditionOf(healthyNode)?.status, 'True');
  assert.equal(after.filter((n) => !first.includes(n)).length, 1, 'one replacement node');
});
