// The healing loop on real parts: a control plane of its own with 20 kwok GPU nodes, the
// agent following a kernel log, a Prometheus scraping it every 15 s, the real Alertmanager,
// and two controller processes under the shipped ServiceAccount roles. Serial: each test
// leaves the fleet repaired (as a human would) for the next.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, PolicyV1Api, RbacAuthorizationV1Api, setHeaderOptions, type KubeConfig, type V1Node, type V1NodeCondition, type V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, readAudit, READY_DELAY_ANNOTATION, serviceAccountKubeconfig, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { addReceiver, sharedAlertmanager, type AlertmanagerInfo } from '../../helpers/infra/alertmanager.ts';
import { addScrapeTarget, startPrometheus } from '../../helpers/infra/prometheus.ts';
import { REPO_ROOT, freePort, runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { runContext } from '../../helpers/infra/run.ts';
import { installCrd } from '../../helpers/controller.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';
import { rbacRulesAllUsed, untilRolesEffective } from '../../helpers/rbac.ts';
import { startControllerProcess } from '../../helpers/controller-process.ts';
import { startAgentProcess } from '../../helpers/e2e.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.ts';
import { REMEDIATION_ANNOTATION, LAST_REMEDIATION_ANNOTATION, UNHEALTHY_TAINT } from '../../../controller/healing/state.ts';
import { FLOOR_ANNOTATION } from '../../../controller/reconcile/scaler-policy.ts';
import type { RemediationEntry } from '../../../controller/healing/audit.ts';

const NS = 'surgeguard';
const APP = 'heal';
const NODES = Array.from({ length: 20 }, (_, i) => `heal-${String(i + 1).padStart(2, '0')}`);
const SCRAPE_SECONDS = 15;
const HEALING_SECONDS = 5;
const XID_WINDOW_SECONDS = 30;
const dir = mkdtempSync(join(tmpdir(), 'sg-heal-'));
const kernLog = join(dir, 'kern.log');
const token = `heal-${process.pid}`;
const hmacKey = 'on-call-signing-key';
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
const procs = new Map<string, ChildProcess>();
const urls = new Map<string, string>();
const users: Record<string, string> = {};
let kube: KubeHandle;
let kc: KubeConfig;
let am: AlertmanagerInfo;
let pager: WebhookReceiver;
let team: WebhookReceiver;
const amReceiver = `heal-${process.pid}`;

after(() => runCleanups(cleanups));

before(async () => {
  kube = await startKube();
  cleanups.push({ what: 'control plane', run: () => kube.stop() });
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(core, NS);
  await ensureNamespace(core, APP);
  await applyManifests(kc, parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/rbac.yaml'), 'utf8')));
  await addFakeNodes(kc, NODES, { gpus: 8 });

  pager = await startWebhookReceiver();
  team = await startWebhookReceiver();
  cleanups.push({ what: 'receivers', run: () => Promise.all([pager.close(), team.close()]) });
  writeFileSync(join(dir, 'hmac'), hmacKey);
  writeFileSync(join(dir, 'token'), token);

  // The agent of node heal-03, with the fake nvidia-smi answering for its 8 GPUs.
  writeFileSync(kernLog, '');
  const agent = await startAgentProcess({ dir, node: 'heal-03', gpus: 8, kernelLog: kernLog });
  cleanups.push({ what: 'agent', run: () => agent.stop() });

  // A test rule for the alert path: the XID 79 the agent reports, routed to the controller.
  am = await sharedAlertmanager();
  writeFileSync(
    join(dir, 'rules.yaml'),
    stringify({ groups: [{ name: 'heal-test', rules: [{ alert: 'HealTestXid79', expr: `max by (node) (surgeguard_gpu_xid_last_timestamp_seconds{xid="79"}) > time() - ${XID_WINDOW_SECONDS}`, labels: { sg_receiver: amReceiver, severity: 'critical', surgeguard_fault: 'fatal' }, annotations: { summary: 'XID 79 on {{ $labels.node }}' } }] }] }),
  );
  const prom = await startPrometheus(runContext(), { scrapeIntervalSeconds: SCRAPE_SECONDS, evaluationIntervalSeconds: SCRAPE_SECONDS, ruleFiles: [join(dir, 'rules.yaml')], alertmanager: am.address });
  cleanups.push({ what: 'prometheus', run: () => prom.stop() });
  addScrapeTarget(prom, 'heal-agent', agent.address);

  for (const id of ['a', 'b']) {
    const sa = await serviceAccountKubeconfig(kube, { namespace: NS, name: `sg-heal-${id}`, clusterRole: 'surgeguard-controller' });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRoleBinding({ body: { metadata: { name: `sg-heal-${id}-healing` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'surgeguard-controller-healing' }, subjects: [{ kind: 'ServiceAccount', name: `sg-heal-${id}`, namespace: NS }] } });
    for (const role of ['surgeguard-controller', 'surgeguard-controller-healing']) {
      await rbac.createNamespacedRoleBinding({ namespace: NS, body: { metadata: { name: `sg-heal-${id}-${role}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role }, subjects: [{ kind: 'ServiceAccount', name: `sg-heal-${id}`, namespace: NS }] } });
    }
    users[id] = sa.username;
    await untilRolesEffective(kc, { namespace: NS, name: `sg-heal-${id}` }, NS, (name) => name.startsWith('surgeguard-controller'));
    writeFileSync(
      join(dir, `${id}.yaml`),
      stringify({
        listen: `127.0.0.1:${await freePort()}`,
        kubeconfig: sa.kubeconfig,
        identity: `heal-${id}`,
        intervalSeconds: 2,
        leaderElection: { namespace: NS, leaseName: 'heal', leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 },
        pauseConfigMap: { namespace: NS, name: 'surgeguard-controller' },
        prometheus: { url: prom.url, backfill: false },
        api: { tokenFile: join(dir, 'token') },
        healing: {
          intervalSeconds: HEALING_SECONDS,
          checks: { xidWindowSeconds: XID_WINDOW_SECONDS },
          drain: { replacementTimeoutSeconds: 120 },
          oncall: {
            attempts: 3,
            initialBackoffMs: 200,
            receivers: [
              { name: 'pager', url: pager.url, format: 'alertmanager', severities: ['critical'] },
              { name: 'team', url: team.url, format: 'json', severities: ['critical', 'warning'], hmacKeyFile: join(dir, 'hmac') },
            ],
          },
        },
      }),
    );
  }
  await startReplica('a');
  await waitUntil('heal-a leads', async () => ((await leaderOf()) === 'heal-a' ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
  await addReceiver(am, amReceiver, `${urls.get('a')}/api/v1/alerts`, { bearerToken: token, repeatInterval: '3s' });
});

async function startReplica(id: string): Promise<ChildProcess> {
  const { child, url } = await startControllerProcess(dir, id);
  procs.set(id, child);
  urls.set(id, url);
  cleanups.push({ what: `controller ${id}`, run: async () => (child.exitCode === null && child.signalCode === null ? (child.kill('SIGKILL'), await new Promise((r) => child.once('exit', r))) : undefined) });
  return child;
}

async function leaderOf(): Promise<string | undefined> {
  try {
    const { CoordinationV1Api } = await import('@kubernetes/client-node');
    return (await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'heal', namespace: NS })).spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}

const auth = { authorization: `Bearer ${token}` };

async function remediations(id: string): Promise<RemediationEntry[]> {
  const res = await fetch(`${urls.get(id)}/api/remediations?limit=1000`, { headers: auth });
  assert.equal(res.status, 200);
  return ((await res.json()) as { remediations: RemediationEntry[] }).remediations.reverse();
}

function amBody(status: 'firing' | 'resolved', alerts: Array<Record<string, string>>): object {
  return {
    version: '4', groupKey: '{}:{alertname="t"}', truncatedAlerts: 0, status, receiver: 'surgeguard', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: am.url,
    alerts: alerts.map((l) => ({ status, labels: { severity: 'critical', ...l }, annotations: { summary: `${l.alertname} on ${l.node ?? l.pod}` }, startsAt: new Date().toISOString(), endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `${l.alertname}-${l.node ?? l.pod}` })),
  };
}

async function postAlerts(id: string, body: object): Promise<Response> {
  return fetch(`${urls.get(id)}/api/v1/alerts`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function node(name: string): Promise<V1Node> {
  return kc.makeApiClient(CoreV1Api).readNode({ name });
}

/** The node's GPUHealthy condition when it has `status`, else undefined (for waitUntil). */
const gpuCondition = (n: V1Node, status: 'True' | 'False'): V1NodeCondition | undefined => n.status?.conditions?.find((c) => c.type === 'GPUHealthy' && c.status === status);

const cordoned = (n: V1Node): boolean => n.spec?.unschedulable === true && (n.spec.taints ?? []).some((t) => t.key === UNHEALTHY_TAINT.key && t.effect === 'NoSchedule');

/** What a human does after repairing a node: uncordon it and clear SurgeGuard's record. */
async function repair(name: string): Promise<void> {
  const n = await node(name);
  await kc.makeApiClient(CoreV1Api).patchNode(
    { name, body: { metadata: { annotations: { [REMEDIATION_ANNOTATION]: null, [LAST_REMEDIATION_ANNOTATION]: null } }, spec: { unschedulable: false, taints: (n.spec?.taints ?? []).filter((t) => t.key !== UNHEALTHY_TAINT.key) } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function podsOf(app: string): Promise<V1Pod[]> {
  return (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: APP, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

/**
 * A Deployment whose pods may run on `node` or `spare` and all start on `node` (the spare is
 * cordoned by hand meanwhile), so a repair of `node` has somewhere to move them.
 */
async function deployment(name: string, replicas: number, onNode: string, spare?: string, readyDelaySeconds = 0): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  if (spare) await core.patchNode({ name: spare, body: { spec: { unschedulable: true } } }, merge);
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: APP,
    body: {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name }, annotations: readyDelaySeconds ? { [READY_DELAY_ANNOTATION]: `${readyDelaySeconds}s` } : {} },
          spec: {
            containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
            // kwok nodes keep the not-ready taint (no node lifecycle controller here); SurgeGuard's
            // own taint and the cordon are not tolerated, as in a real fleet.
            tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }],
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [onNode, ...(spare ? [spare] : [])] }] }] } } },
          },
        },
      },
    },
  });
  await waitUntil(`${name} ready on ${onNode}`, async () => {
    const pods = await podsOf(name);
    return pods.length === replicas && pods.every((p) => p.spec?.nodeName === onNode && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  if (spare) await core.patchNode({ name: spare, body: { spec: { unschedulable: false } } }, merge);
}

test('the gate: 10 of 20 nodes failing at once touches none and pages once; 3 failing cordons 2 and blocks the third', async () => {
  const ten = NODES.slice(10).map((n) => ({ alertname: 'SurgeGuardGpuXidCritical', node: n }));
  assert.equal((await postAlerts('a', amBody('firing', ten))).status, 200);
  await pager.waitFor((b) => (b as { commonLabels?: { alertname?: string } }).commonLabels?.alertname === 'SurgeGuardFleetUnhealthy', 30_000);
  await sleep(3 * HEALING_SECONDS * 1000); // three more ticks: still one page, still nothing cordoned
  const pages = pager.received.filter((r) => (r.body as { status?: string; commonLabels?: { alertname?: string } }).commonLabels?.alertname === 'SurgeGuardFleetUnhealthy');
  assert.equal(pages.length, 1, 'on-call is paged once for a fleet-wide problem');
  assert.equal(pager.received.filter((r) => (r.body as { commonLabels?: { node?: string } }).commonLabels?.node).length, 0, 'and not once per node');
  for (const n of NODES) assert.equal(cordoned(await node(n)), false, `${n} must not be cordoned`);
  for (const n of NODES) assert.equal(gpuCondition(await node(n), 'False'), undefined, `${n} must not be marked unhealthy for other repair tools either`);
  const blocked = (await remediations('a')).filter((e) => e.reason === 'FleetWideProblem' && e.decision === 'blocked');
  assert.equal(new Set(blocked.map((e) => e.target.name)).size, 10);

  assert.equal((await postAlerts('a', amBody('resolved', ten))).status, 200);
  const three = NODES.slice(10, 13).map((n) => ({ alertname: 'SurgeGuardGpuXidCritical', node: n }));
  assert.equal((await postAlerts('a', amBody('firing', three))).status, 200);
  await waitUntil('two nodes cordoned', async () => ((await Promise.all(NODES.slice(10, 13).map(node))).filter(cordoned).length === 2 ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  await sleep(2 * HEALING_SECONDS * 1000);
  const states = await Promise.all(NODES.slice(10, 13).map(node));
  assert.deepEqual(states.map(cordoned), [true, true, false], 'max(1, floor(10% of 20)) = 2, in name order');
  const third = (await remediations('a')).filter((e) => e.target.name === NODES[12] && e.decision === 'blocked').at(-1);
  assert.equal(third?.reason, 'CordonLimit');
  assert.match(third?.message ?? '', /2 of 20 nodes cordoned \(limit 2\)/);
  // Kubernetes Events on the nodes tell the same story.
  const events = (await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' })).items;
  assert.ok(events.some((e) => e.involvedObject.name === NODES[10] && e.reason === 'NodeCordoned'));
  assert.ok(events.some((e) => e.involvedObject.name === NODES[12] && e.reason === 'CordonLimit' && e.type === 'Warning'));

  // The condition tells the truth about all three, the one the gate kept SurgeGuard's hands off too.
  await waitUntil('three GPUHealthy=False', async () => ((await Promise.all(NODES.slice(10, 13).map(node))).every((n) => gpuCondition(n, 'False')?.reason === 'AlertSurgeGuardGpuXidCritical') ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });

  assert.equal((await postAlerts('a', amBody('resolved', three))).status, 200);
  await Promise.all(NODES.slice(10, 13).map(repair));
  await waitUntil('three GPUHealthy=True again', async () => ((await Promise.all(NODES.slice(10, 13).map(node))).every((n) => gpuCondition(n, 'True')) ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
});

test('XID 79 in the kernel log: cordoned and tainted, GPU pods evicted at once, on-call told; resolved when it clears', async (t) => {
  await deployment('xid', 3, 'heal-03', 'heal-08');
  const t0 = Date.now();
  appendFileSync(kernLog, `[${new Date().toUTCString()}] NVRM: Xid (PCI:0000:00:09): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.\n`);
  const tCordon = await waitUntil('heal-03 cordoned', async () => (cordoned(await node('heal-03')) ? Date.now() : undefined), { timeoutMs: 90_000, intervalMs: 200 });
  // The node carries the verdict as a condition other repair tools can act on.
  const unhealthy = await waitUntil('GPUHealthy=False on heal-03', async () => gpuCondition(await node('heal-03'), 'False'), { timeoutMs: 30_000, intervalMs: 200 });
  assert.equal(unhealthy.reason, 'Xid79');
  assert.match(unhealthy.message ?? '', /XID 79 .* on GPU \d+ of node heal-03/);
  assert.ok((await node('heal-03')).status?.conditions?.some((c) => c.type === 'Ready'), 'the strategic merge kept the other conditions');
  type AmBody = { status?: string; commonLabels?: Record<string, string> };
  const fromCheck = (status: string) => (b: unknown): boolean => (b as AmBody).status === status && (b as AmBody).commonLabels?.node === 'heal-03' && (b as AmBody).commonLabels?.check === 'gpu-xid';
  const page = (await pager.waitFor(fromCheck('firing'), 60_000)) as { alerts: Array<{ labels: Record<string, string> }> };
  const tPage = Date.now();
  // The alert path: the test rule fires, Alertmanager delivers it to the controller, which
  // tells on-call about that finding too (the node is already being repaired: no second action).
  await pager.waitFor((b) => (b as AmBody).status === 'firing' && (b as AmBody).commonLabels?.check === 'alert/HealTestXid79', 90_000);
  const tWebhook = Date.now();
  assert.equal(page.alerts[0]?.labels.check, 'gpu-xid');
  assert.equal(page.alerts[0]?.labels.alertname, 'SurgeGuardGpuXid');
  assert.equal(page.alerts[0]?.labels.severity, 'critical');

  await waitUntil('the pods left heal-03', async () => {
    const pods = await podsOf('xid');
    return pods.length === 3 && pods.every((p) => p.spec?.nodeName && p.spec.nodeName !== 'heal-03') ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  const reasons = await waitUntil('heal-03 drained', async () => {
    const r = (await remediations('a')).filter((e) => e.target.name === 'heal-03').map((e) => e.reason);
    return r.includes('NodeDrained') ? r : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  assert.ok(reasons.includes('NodeCordoned') && reasons.includes('NodeDrained'), reasons.join(','));
  assert.equal(reasons.filter((r) => r === 'PodEvicted').length, 3);
  assert.ok(reasons.indexOf('NodeCordoned') < reasons.indexOf('PodEvicted'));
  // The signed JSON notification verifies with the receiver's key. Receivers are told in the
  // background and in no order, so the page seen above says nothing about this one: wait for it.
  await team.waitFor((b) => (b as { key?: string }).key === 'gpu-xid/Node/heal-03', 20_000);
  const signed = team.received.find((r) => (r.body as { key?: string }).key === 'gpu-xid/Node/heal-03');
  assert.ok(signed, 'the team receiver got the JSON body');
  const [, ts, mac] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(String(signed.headers['x-surgeguard-signature'])) ?? [];
  assert.equal(mac, createHmac('sha256', hmacKey).update(`${ts}.${JSON.stringify(signed.body)}`).digest('hex'));
  // The audit log shows the evictions went through the Eviction API.
  const evictions = readAudit(kube, (e) => e.verb === 'create' && e.objectRef?.subresource === 'eviction' && e.objectRef.namespace === APP && e.user.username === users.a);
  assert.equal(evictions.length, 3);

  t.diagnostic(`scrape ${SCRAPE_SECONDS} s, healing interval ${HEALING_SECONDS} s: fault line -> cordon ${((tCordon - t0) / 1000).toFixed(1)} s, -> on-call receiver ${((tPage - t0) / 1000).toFixed(1)} s (goal < 30 s)`);
  t.diagnostic(`alert path (scrape and rule evaluation every ${SCRAPE_SECONDS} s, for 0 s, Alertmanager group_wait 1 s, healing interval ${HEALING_SECONDS} s): fault line -> rule -> Alertmanager -> controller -> on-call receiver ${((tWebhook - t0) / 1000).toFixed(1)} s`);
  assert.ok(tCordon - t0 < 60_000);

  const resolved = await pager.waitFor(fromCheck('resolved'), (XID_WINDOW_SECONDS + 3 * SCRAPE_SECONDS + 30) * 1000);
  assert.ok(resolved);
  assert.equal(cordoned(await node('heal-03')), true, 'a drained node stays cordoned until a human repairs it');
  await sleep(2 * HEALING_SECONDS * 1000);
  assert.equal(gpuCondition(await node('heal-03'), 'False')?.reason, 'Xid79', 'and stays unhealthy while it carries the repair record, though the XID has aged out');
  await repair('heal-03');
  const healthy = await waitUntil('GPUHealthy=True on heal-03 once repaired', async () => gpuCondition(await node('heal-03'), 'True'), { timeoutMs: 30_000, intervalMs: 500 });
  assert.equal(healthy.reason, 'NoGpuFault');
  assert.ok(Date.parse(String(healthy.lastTransitionTime)) > Date.parse(String(unhealthy.lastTransitionTime)));
  const entries = (await remediations('a')).filter((e) => e.action === 'node-condition' && e.target.name === 'heal-03').map((e) => e.reason);
  assert.deepEqual(entries, ['GpuUnhealthyCondition', 'GpuHealthyCondition']);
});

test('a PodDisruptionBudget that forbids the eviction: a blocked decision, recorded and reported', async () => {
  await deployment('pdb', 2, 'heal-04');
  await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({ namespace: APP, body: { metadata: { name: 'pdb' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'pdb' } } } } });
  await waitUntil('the PDB observed', async () => {
    const p = await kc.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: 'pdb', namespace: APP });
    return p.status?.currentHealthy === 2 && p.status.observedGeneration === p.metadata?.generation ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  const victim = (await podsOf('pdb'))[0]?.metadata?.name ?? '';
  assert.equal((await postAlerts('a', amBody('firing', [{ alertname: 'InferencePodStuck', pod: victim, namespace: APP, severity: 'warning', surgeguard_fault: 'stuck' }]))).status, 200);
  const entry = await waitUntil('the blocked restart', async () => (await remediations('a')).find((e) => e.target.name === victim && e.action === 'restart-pod'), { timeoutMs: 30_000, intervalMs: 500 });
  assert.equal(entry.decision, 'blocked');
  assert.equal(entry.reason, 'PodDisruptionBudget');
  assert.match(entry.message, /disruption budget/i);
  assert.ok((await podsOf('pdb')).some((p) => p.metadata?.name === victim), 'the pod is still there');
  const told = (await team.waitFor((b) => (b as { key?: string }).key === `alert/InferencePodStuck/Pod/${APP}/${victim}`, 20_000)) as { decision: string };
  assert.match(told.decision, /blocked: PodDisruptionBudget/);
  const metrics = await (await fetch(`${urls.get('a')}/metrics`)).text();
  assert.match(metrics, /surgeguard_remediation_decisions_total\{action="restart-pod",decision="blocked",reason="PodDisruptionBudget"\} 1/);
  assert.equal((await postAlerts('a', amBody('resolved', [{ alertname: 'InferencePodStuck', pod: victim, namespace: APP }]))).status, 200);
});

test('Alertmanager delivering the same alert twice leads to one action', async () => {
  const before = Number(/surgeguard_alerts_received_total\{status="firing"\} (\d+)/.exec(await (await fetch(`${urls.get('a')}/metrics`)).text())?.[1] ?? 0);
  const alert = { labels: { alertname: 'SurgeGuardGpuXidCritical', node: 'heal-05', severity: 'critical', sg_receiver: amReceiver }, annotations: { summary: 'XID 48 on heal-05' }, startsAt: new Date().toISOString() };
  const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([alert]) });
  assert.equal(res.status, 200);
  await waitUntil('two deliveries of the alert', async () => {
    const n = Number(/surgeguard_alerts_received_total\{status="firing"\} (\d+)/.exec(await (await fetch(`${urls.get('a')}/metrics`)).text())?.[1] ?? 0);
    return n >= before + 2 ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  // An alert becomes a finding at the next healing tick, and the ledger is written at the end of
  // that tick: wait for both, then one more tick for a second action to show up if there is one.
  const ledgerOf = async (): Promise<Array<{ key: string }>> => JSON.parse((await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'surgeguard-healing-ledger', namespace: NS })).data?.actions ?? '[]') as Array<{ key: string }>;
  await waitUntil('heal-05 cordoned and in the ledger', async () => ((await remediations('a')).some((e) => e.target.name === 'heal-05' && e.reason === 'NodeCordoned') && (await ledgerOf()).some((e) => e.key.endsWith('/Node/heal-05')) ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  await sleep(HEALING_SECONDS * 1000);
  const cordons = (await remediations('a')).filter((e) => e.target.name === 'heal-05' && e.reason === 'NodeCordoned');
  assert.equal(cordons.length, 1);
  assert.equal((await ledgerOf()).filter((e) => e.key.endsWith('/Node/heal-05')).length, 1);
  await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ ...alert, endsAt: new Date().toISOString() }]) });
  await waitUntil('heal-05 drained', async () => ((await remediations('a')).some((e) => e.target.name === 'heal-05' && e.reason === 'NodeDrained') ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  await repair('heal-05');
});

test('bad webhook bodies get 400 with the reason and change nothing; no token gets 401', async () => {
  const noToken = await fetch(`${urls.get('a')}/api/v1/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(amBody('firing', [{ alertname: 'SurgeGuardGpuXidCritical', node: 'heal-06' }])) });
  assert.equal(noToken.status, 401);
  const bad = await fetch(`${urls.get('a')}/api/v1/alerts`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...amBody('firing', [{ alertname: 'SurgeGuardGpuXidCritical', node: 'heal-06' }]), version: '3' }) });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /version/);
  const garbled = await fetch(`${urls.get('a')}/api/v1/alerts`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"version":"4","alerts":[' });
  assert.equal(garbled.status, 400);
  await sleep(2 * HEALING_SECONDS * 1000);
  assert.equal(cordoned(await node('heal-06')), false);
  assert.deepEqual((await remediations('a')).filter((e) => e.target.name === 'heal-06'), [], 'nothing of a refused body was acted on');
});

test('thermal slowdown: replacements first, then the drain; a leader killed mid-drain is finished by the next without repeating a step', async (t) => {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'surgeguard.io', version: 'v1alpha1', namespace: APP, plural: 'predictivescalers',
    body: { apiVersion: 'surgeguard.io/v1alpha1', kind: 'PredictiveScaler', metadata: { name: 'thermal' }, spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'thermal' }, signal: { prometheus: { query: 'vector(10)' } }, requestsPerSecondPerReplica: 10, minReplicas: 3, maxReplicas: 10, startupSeconds: 8 } },
  });
  await deployment('thermal', 3, 'heal-07', 'heal-09', 8);
  await startReplica('b');
  const alert = [{ alertname: 'SurgeGuardGpuThermalSlowdown', node: 'heal-07', severity: 'warning' }];
  assert.equal((await postAlerts('a', amBody('firing', alert))).status, 200);
  // The standby refuses (503, so Alertmanager retries on another connection): it would otherwise
  // answer 200 and drop the alert. heal-b finishes the drain from the state on the node.
  assert.equal((await postAlerts('b', amBody('firing', alert))).status, 503);
  const scaler = (): Promise<{ metadata: { annotations?: Record<string, string> } }> => kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'surgeguard.io', version: 'v1alpha1', namespace: APP, plural: 'predictivescalers', name: 'thermal' }) as Promise<{ metadata: { annotations?: Record<string, string> } }>;
  const floor = await waitUntil('the floor raised', async () => (await scaler()).metadata.annotations?.[FLOOR_ANNOTATION], { timeoutMs: 30_000, intervalMs: 200 });
  assert.match(floor, /^6,\d+,drain heal-07$/, '3 replicas + 3 pods on the node');
  assert.equal(cordoned(await node('heal-07')), true);
  // Mid-drain (waiting for replacements): the leader dies without a word.
  procs.get('a')?.kill('SIGKILL');
  const killedAt = Date.now();
  await waitUntil('heal-b leads', async () => ((await leaderOf()) === 'heal-b' ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
  await waitUntil('heal-07 drained by heal-b', async () => ((await remediations('b')).some((e) => e.target.name === 'heal-07' && e.reason === 'NodeDrained') ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
  const log = (await remediations('b')).filter((e) => e.target.name === 'heal-07');
  const reasons = log.map((e) => e.reason);
  assert.ok(reasons.includes('ReplacementsReady'), `drained after the replacements were ready, not on the timeout: ${reasons.join(',')}`);
  assert.ok(reasons.indexOf('ReplacementsReady') < reasons.indexOf('PodEvicted'));
  assert.ok(!reasons.includes('NodeCordoned') && !reasons.includes('ReplicaFloorRaised'), `heal-b repeated a step: ${reasons.join(',')}`);
  // The API server's own record: one cordon, one floor, both by heal-a; the evictions by heal-b.
  const byUser = (u: string, f: (e: ReturnType<typeof readAudit>[number]) => boolean): number => readAudit(kube, (e) => e.user.username === u && f(e)).length;
  const floorPatch = (e: ReturnType<typeof readAudit>[number]): boolean => e.verb === 'patch' && e.objectRef?.resource === 'predictivescalers' && e.objectRef.name === 'thermal' && !e.objectRef.subresource;
  assert.equal(byUser(users.a ?? '', floorPatch), 1);
  assert.equal(byUser(users.b ?? '', floorPatch), 0);
  const evictions = readAudit(kube, (e) => e.verb === 'create' && e.objectRef?.subresource === 'eviction' && e.objectRef.namespace === APP && Date.parse(e.requestReceivedTimestamp) > killedAt - 1000);
  assert.ok(evictions.length >= 3 && evictions.every((e) => e.user.username === users.b));
  const ready = (await podsOf('thermal')).filter((p) => p.spec?.nodeName !== 'heal-07' && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  assert.ok(ready.length >= 3, 'the work runs elsewhere');
  t.diagnostic(`takeover and drain finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the leader was killed`);
});

test('the healing roles are least privilege: every rule used by the replicas, nothing denied', () => {
  const events = readAudit(kube, (e) => e.user.username === users.a || e.user.username === users.b);
  const denied = events.filter((e) => e.responseStatus?.code === 403);
  assert.deepEqual(denied.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ''}`), [], 'the shipped roles lack a permission the controller needs');
  rbacRulesAllUsed(events, (name) => name.endsWith('-healing'));
});
