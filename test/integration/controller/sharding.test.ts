// Sharding on the real API server: three controller processes under ServiceAccounts bound to the
// shipped roles and the chart's sharding Role split twelve scalers over Deployments, each scaler
// acted on by one replica; one replica is SIGKILLed mid-run and its scalers move to the others
// once its shard Leases expired; the audit log shows every scale and status write made by the
// replica whose shard Lease write came last before it (never two writers for one target). Three
// scalers of one GPU pool (spec.gpu) are acted on by one replica, the owner of the pool's shard, and
// move together. Dead membership Leases (a released one made before the start, the SIGKILLed
// replica's) are deleted memberLeaseDeleteAfterSeconds after their last change; live ones never.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { deleteLeaseIfUnchanged, memberLease } from '../../../controller/sharding/kube-sharding.ts';
import { memberLeaseName } from '../../../controller/sharding/member-view.ts';
import { assignShards, shardOf } from '../../../controller/sharding/rendezvous.ts';
import { gpuPoolKey } from '../../../controller/sharding/shard-key.ts';
import { CHART, helmBinary, helmTemplate } from '../../../scripts/render-manifests.ts';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, readAudit, serviceAccountKubeconfig, sharedKube, type AuditEvent, type KubeInfo } from '../../helpers/infra/kube.ts';
import { sharedPrometheus } from '../../helpers/infra/prometheus.ts';
import { REPO_ROOT, waitUntil } from '../../helpers/infra/process.ts';
import { createScaler, installCrd } from '../../helpers/controller.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';
import { rbacRulesAllUsed, untilRolesEffective } from '../../helpers/rbac.ts';
import { startControllerProcess } from '../../helpers/controller-process.ts';

const NS = 'surgeguard';
const SHARDS = 8;
const SCALERS = 12;
const IDS = ['a', 'b', 'c'] as const;
const identity = (id: string): string => `shard-replica-${id}-${process.pid}`;
// Longer than failover.test.ts's 4 s: three controller processes on a loaded 2-core machine missed 4 s renewals.
const timing = { leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 0.5, intervalSeconds: 1 };
const prefixes = { memberLeasePrefix: `sgm-${process.pid}-`, shardLeasePrefix: `sgs-${process.pid}-` };
// Dead membership Leases go after 12 s unchanged (the least the schema allows: twice the duration).
const DELETE_AFTER = 12;
// Scalers with spec.gpu in these namespaces: one pool, so one shard and one replica.
const poolNamespaces = [0, 1, 2].map((k) => `shard-pool-${k}-${process.pid}`);
const POOL = gpuPoolKey('nvidia.com/gpu');
const keyOf = (namespace: string): string => (poolNamespaces.includes(namespace) ? POOL : `${namespace}/infer`);
const ghost = `${prefixes.memberLeasePrefix}ghost`;
// Scalers chosen so that the assignment gives each replica four: names hashed at random could leave
// one replica none (it did: 2/10/0), and then the kill would show little.
const namespaces: string[] = [];
{
  const owners = assignShards(SHARDS, IDS.map(identity));
  const per = new Map<string | undefined, number>();
  for (let k = 0; namespaces.length < SCALERS; k++) {
    const ns = `shard-${k}-${process.pid}`;
    const o = owners[shardOf(keyOf(ns), SHARDS)];
    if ((per.get(o) ?? 0) < SCALERS / IDS.length) {
      per.set(o, (per.get(o) ?? 0) + 1);
      namespaces.push(ns);
    }
  }
}
let kube: KubeInfo;
let kc: KubeConfig;
let chartRoles: unknown[];
const dir = mkdtempSync(join(tmpdir(), 'sg-sharding-'));
const procs = new Map<string, ChildProcess>();
const users: Record<string, string> = {};

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  const prom = await sharedPrometheus();
  await installCrd(kc);
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(core, NS);
  await applyManifests(kc, parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/rbac.yaml'), 'utf8')));
  // The chart's Role for sharding (rendered only with sharding on).
  const rendered = parseManifests(await helmTemplate(await helmBinary(REPO_ROOT), join(REPO_ROOT, CHART), { set: ['controller.config.sharding.enabled=true'] }));
  chartRoles = rendered.filter((o) => o.kind === 'Role' && o.metadata?.name === 'surgeguard-controller-sharding');
  assert.equal(chartRoles.length, 1, 'the chart renders the sharding Role with sharding on');
  await applyManifests(kc, chartRoles as Parameters<typeof applyManifests>[1]);
  for (const id of IDS) {
    const name = `sg-shard-${id}-${process.pid}`;
    const sa = await serviceAccountKubeconfig(kube, { namespace: NS, name, clusterRole: 'surgeguard-controller' });
    for (const role of ['surgeguard-controller', 'surgeguard-controller-sharding']) {
      await kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
        namespace: NS,
        body: { metadata: { name: `${name}-${role}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role }, subjects: [{ kind: 'ServiceAccount', name, namespace: NS }] },
      });
    }
    users[id] = sa.username;
    await untilRolesEffective(kc, { namespace: NS, name }, NS, (r) => r === 'surgeguard-controller');
    await untilRolesEffective(kc, { namespace: NS, name }, NS, (r) => r === 'surgeguard-controller-sharding', chartRoles);
    writeFileSync(
      join(dir, `${id}.yaml`),
      stringify({
        listen: '127.0.0.1:0',
        kubeconfig: sa.kubeconfig,
        identity: identity(id),
        intervalSeconds: timing.intervalSeconds,
        scalerSelector: `sg-test=sharding-${process.pid}`,
        leaderElection: { namespace: NS, leaseName: `sharding-leader-${process.pid}`, leaseDurationSeconds: timing.leaseDurationSeconds, renewDeadlineSeconds: timing.renewDeadlineSeconds, retryPeriodSeconds: timing.retryPeriodSeconds },
        sharding: { enabled: true, shards: SHARDS, namespace: NS, ...prefixes, leaseDurationSeconds: timing.leaseDurationSeconds, renewDeadlineSeconds: timing.renewDeadlineSeconds, retryPeriodSeconds: timing.retryPeriodSeconds, memberLeaseDeleteAfterSeconds: DELETE_AFTER },
        pauseConfigMap: { namespace: NS, name: `pause-sharding-${process.pid}` },
        prometheus: { url: prom.url, backfill: false, timeoutMs: 3000 },
        healing: { enabled: false },
      }),
    );
  }
  await addFakeNodes(kc, [0, 1, 2, 3, 4, 5].map((i) => `sharding-${i}-${process.pid}`), { gpus: 16 });
  // Demand that swings between 8 and 40 requests/s every 10 s (PromQL with no series), so every
  // scaler keeps scaling up and down across the kill and the writes of each replica show in the log.
  const apps = kc.makeApiClient(AppsV1Api);
  for (const [i, namespace] of [...namespaces, ...poolNamespaces].entries()) {
    await ensureNamespace(core, namespace);
    const labels = { app: 'infer' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'infer' },
        spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }], tolerations: [{ operator: 'Exists' }] } } },
      },
    });
    await createScaler(kc, { name: 'infer', namespace, labels: { 'sg-test': `sharding-${process.pid}` } }, {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'infer' },
        signal: { prometheus: { query: `8 + 32 * (floor((vector(time()) + ${i}) / 10) % 2)` } },
        requestsPerSecondPerReplica: 10,
        startupSeconds: 2,
        minReplicas: 1,
        maxReplicas: 6,
        mode: 'Active',
        behavior: { scaleDown: { stabilizationSeconds: 2 } },
        ...(poolNamespaces.includes(namespace) ? { gpu: { perReplica: 1, resource: 'nvidia.com/gpu' } } : {}),
    });
  }
});

after(async () => {
  await Promise.all([...procs.values()].map((p) => (p.exitCode === null && p.signalCode === null ? (p.kill('SIGKILL'), exited(p)) : undefined)));
});

const allNamespaces = [...namespaces, ...poolNamespaces];
const exited = (p: ChildProcess): Promise<number> => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(Date.now()) : p.once('exit', () => r(Date.now()))));
const isWrite = (e: AuditEvent): boolean =>
  (e.responseStatus?.code ?? 0) < 300 && allNamespaces.includes(e.objectRef?.namespace ?? '') && e.verb === 'patch' && ((e.objectRef?.resource === 'deployments' && e.objectRef.subresource === 'scale') || (e.objectRef?.resource === 'predictivescalers' && e.objectRef.subresource === 'status'));

test('sharding: each scaler acted on by one replica; a SIGKILLed replica\'s scalers move after its Leases expire; no double writes', async (t) => {
  const ours = (): Set<string> => new Set(Object.values(users));
  // A membership Lease left by a replica that stopped long ago (released: no holder), made before the replicas start.
  const leasesApi = kc.makeApiClient(CoordinationV1Api);
  await leasesApi.createNamespacedLease({ namespace: NS, body: { metadata: { name: ghost }, spec: { holderIdentity: '', leaseDurationSeconds: 1, renewTime: new Date(Date.now() - 3_600_000).toISOString().replace('Z', '000Z') as unknown as Date } } });
  for (const id of IDS) procs.set(id, (await startControllerProcess(dir, id)).child);
  const owners3 = assignShards(SHARDS, IDS.map(identity));
  const expected = new Map(allNamespaces.map((ns) => [ns, owners3[shardOf(keyOf(ns), SHARDS)] as string]));
  const userOf = (ident: string): string => users[IDS.find((id) => identity(id) === ident) as string] as string;
  const counts = IDS.map((id) => [...expected.values()].filter((o) => o === identity(id)).length);
  t.diagnostic(`scalers per replica by the assignment: ${counts.join('/')}`);

  // Every scaler written by the replica the assignment names, once the three see each other (statuses
  // are written when the decision changes, scales when the replicas do: the demand swings every 10 s).
  const startedAt = Date.now();
  await waitUntil(
    'each scaler written by its assigned replica',
    async () => {
      const since = readAudit(kube, (e) => isWrite(e) && Date.parse(e.requestReceivedTimestamp) > startedAt);
      return allNamespaces.every((ns) => since.some((e) => e.objectRef?.namespace === ns && e.user.username === userOf(expected.get(ns) as string))) ? true : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  t.diagnostic(`all ${allNamespaces.length} scalers written by their assigned replicas ${((Date.now() - startedAt) / 1000).toFixed(1)} s after the three started`);
  // Settled: over 12 s (a swing of the demand each way), each scaler written by exactly one replica, the assigned one.
  const settledFrom = Date.now();
  await new Promise((r) => setTimeout(r, 12_000));
  const settled = readAudit(kube, (e) => isWrite(e) && Date.parse(e.requestReceivedTimestamp) >= settledFrom);
  for (const ns of allNamespaces) {
    const writers = new Set(settled.filter((e) => e.objectRef?.namespace === ns).map((e) => e.user.username));
    assert.deepEqual([...writers], [userOf(expected.get(ns) as string)], `${ns}: written by ${[...writers].join(',') || 'nobody'} while settled`);
  }
  assert.ok(settled.some((e) => e.objectRef?.subresource === 'scale'), 'scale writes happened while settled');
  // The GPU pool's scalers, in three namespaces, all written by one replica: the owner of the pool's shard sees the whole budget.
  const poolWriters = new Set(settled.filter((e) => poolNamespaces.includes(e.objectRef?.namespace ?? '')).map((e) => e.user.username));
  assert.deepEqual([...poolWriters], [userOf(expected.get(poolNamespaces[0] as string) as string)], 'the pool\'s scalers are written by one replica');

  // SIGKILL the replica with the most scalers: no release, its shards wait out their Leases.
  const victim = IDS[counts.indexOf(Math.max(...counts))] as (typeof IDS)[number];
  const victimNs = allNamespaces.filter((ns) => expected.get(ns) === identity(victim));
  const child = procs.get(victim) as ChildProcess;
  child.kill('SIGKILL');
  const killedAt = await exited(child);
  const survivors = IDS.filter((id) => id !== victim).map(identity);
  const owners2 = assignShards(SHARDS, survivors);
  const moved = await waitUntil(
    'the victim\'s scalers written by the survivors the assignment names',
    async () => {
      const since = readAudit(kube, (e) => isWrite(e) && Date.parse(e.requestReceivedTimestamp) > killedAt);
      const firsts = victimNs.map((ns) => since.find((e) => e.objectRef?.namespace === ns && e.user.username === userOf(owners2[shardOf(keyOf(ns), SHARDS)] as string)));
      return firsts.every(Boolean) ? firsts.map((e) => Date.parse((e as AuditEvent).requestReceivedTimestamp)) : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 300 },
  );
  const firstMove = (Math.min(...moved) - killedAt) / 1000;
  const lastMove = (Math.max(...moved) - killedAt) / 1000;
  // The pool moved as one: its scalers' first writers after the kill are one survivor.
  const afterKill = readAudit(kube, (e) => isWrite(e) && Date.parse(e.requestReceivedTimestamp) > killedAt);
  assert.equal(new Set(poolNamespaces.map((ns) => afterKill.find((e) => e.objectRef?.namespace === ns)?.user.username)).size, 1, 'the pool\'s scalers moved to one survivor');
  t.diagnostic(`after the SIGKILL the victim's ${victimNs.length} scalers were first written by a survivor ${firstMove.toFixed(2)}-${lastMove.toFixed(2)} s later (lease ${timing.leaseDurationSeconds} s)`);
  // Not before its Leases could expire (the survivors measure the duration from their last sight of a renewal, up to one retry before the kill).
  assert.ok(firstMove >= timing.leaseDurationSeconds - timing.retryPeriodSeconds - 0.5, `a survivor wrote ${firstMove} s after the kill, before the victim's Lease could expire`);
  await new Promise((r) => setTimeout(r, 3000));

  // Dead membership Leases deleted, each once: the released one made before the start, and the
  // victim's, not before DELETE_AFTER from its last renewal (a retry before the kill, seen a retry after).
  const memberOf = (id: string): string => memberLeaseName(prefixes.memberLeasePrefix, identity(id));
  const isMemberDelete = (e: AuditEvent): boolean => ours().has(e.user.username) && e.verb === 'delete' && e.objectRef?.resource === 'leases' && (e.objectRef.name ?? '').startsWith(prefixes.memberLeasePrefix);
  const victimDeleted = await waitUntil(
    'the victim\'s membership Lease deleted',
    async () => readAudit(kube, (e) => isMemberDelete(e) && e.objectRef?.name === memberOf(victim) && e.responseStatus?.code === 200)[0],
    { timeoutMs: 45_000, intervalMs: 300 },
  );
  const deletedAfter = (Date.parse(victimDeleted.requestReceivedTimestamp) - killedAt) / 1000;
  t.diagnostic(`the victim's membership Lease deleted ${deletedAfter.toFixed(2)} s after the SIGKILL (memberLeaseDeleteAfterSeconds ${DELETE_AFTER})`);
  assert.ok(deletedAfter >= DELETE_AFTER - 2 * timing.retryPeriodSeconds - 0.5, `deleted ${deletedAfter} s after the kill, before it was dead for ${DELETE_AFTER} s`);
  const deletes = readAudit(kube, isMemberDelete);
  const done = deletes.filter((e) => e.responseStatus?.code === 200).map((e) => e.objectRef?.name).sort();
  assert.deepEqual(done, [ghost, memberOf(victim)].sort(), 'the dead membership Leases deleted, each once');
  const survivorLeases = IDS.filter((id) => id !== victim).map(memberOf);
  assert.deepEqual(deletes.filter((e) => survivorLeases.includes(e.objectRef?.name ?? '')), [], 'no delete of a live replica\'s membership Lease');
  for (const name of survivorLeases) assert.ok((await leasesApi.readNamespacedLease({ name, namespace: NS })).spec?.holderIdentity, `${name} is there and held`);

  // The audit log: every write to a target came from the replica whose write to that scaler's shard Lease came last before it.
  const events = readAudit(kube, (e) => ours().has(e.user.username)).sort((x, y) => x.requestReceivedTimestamp.localeCompare(y.requestReceivedTimestamp));
  const writes = events.filter(isWrite);
  assert.ok(writes.length >= SCALERS * 2);
  assert.deepEqual(new Set(writes.map((e) => e.user.username)), ours(), 'all three replicas wrote');
  let checked = 0;
  for (const w of writes) {
    const lease = `${prefixes.shardLeasePrefix}${shardOf(keyOf(w.objectRef?.namespace as string), SHARDS)}`;
    const last = [...events].reverse().find((e) => e.objectRef?.resource === 'leases' && e.objectRef.name === lease && (e.verb === 'update' || e.verb === 'create') && (e.responseStatus?.code ?? 0) < 300 && e.requestReceivedTimestamp <= w.requestReceivedTimestamp);
    assert.equal(last?.user.username, w.user.username, `${w.objectRef?.resource}/${w.objectRef?.subresource} of ${w.objectRef?.namespace} at ${w.requestReceivedTimestamp} by ${w.user.username}, but ${lease} was last written by ${last?.user.username}`);
    checked++;
  }
  t.diagnostic(`${checked} scale and status writes checked against the shard Leases (${writes.filter((e) => e.objectRef?.subresource === 'scale').length} of them to /scale)`);
  const denied = events.filter((e) => e.responseStatus?.code === 403);
  assert.deepEqual(denied.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ''}`), [], 'the roles lack a permission sharding needs');
  rbacRulesAllUsed(events, (name) => name === 'surgeguard-controller-sharding', chartRoles);
});

test('a membership Lease is deleted only as listed: one renewed since is kept (409), one already deleted is gone (404)', async () => {
  const api = kc.makeApiClient(CoordinationV1Api);
  // Not under the member prefix: the replicas still running would count its holder as a member.
  const name = `sg-precondition-${process.pid}`;
  const spec = (renew: number) => ({ holderIdentity: 'someone', leaseDurationSeconds: 6, renewTime: new Date(renew).toISOString().replace('Z', '000Z') as unknown as Date });
  await api.createNamespacedLease({ namespace: NS, body: { metadata: { name }, spec: spec(Date.now() - 60_000) } });
  const listed = memberLease(await api.readNamespacedLease({ name, namespace: NS }));
  // Renewed between the list and the delete.
  await api.replaceNamespacedLease({ name, namespace: NS, body: { metadata: { name, resourceVersion: listed.resourceVersion }, spec: spec(Date.now()) } });
  assert.equal(await deleteLeaseIfUnchanged(api, NS, listed), 'renewed');
  assert.equal((await api.readNamespacedLease({ name, namespace: NS })).spec?.holderIdentity, 'someone', 'kept');
  const current = memberLease(await api.readNamespacedLease({ name, namespace: NS }));
  assert.equal(await deleteLeaseIfUnchanged(api, NS, current), 'deleted');
  assert.equal(await deleteLeaseIfUnchanged(api, NS, current), 'gone');
});
