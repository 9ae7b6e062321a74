// Two controller processes under ServiceAccounts bound to the shipped RBAC: one leads through
// a Lease, a graceful stop hands over within the retry period plus one tick, a SIGKILL within
// the lease duration plus the retry period, the audit log shows that only the Lease holder of
// the moment wrote to /scale, and every rule of the shipped role is used.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, readAudit, serviceAccountKubeconfig, sharedKube, type AuditEvent, type KubeInfo } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { REPO_ROOT, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd } from '../../helpers/controller.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';
import { rbacRulesAllUsed, untilRolesEffective } from '../../helpers/rbac.ts';
import { startControllerProcess } from '../../helpers/controller-process.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { createScenario, deploymentReplicas, readScaler, condition, type Scenario } from '../../helpers/scenario.ts';


const NS = 'surgeguard';
const LEASE = `failover-${process.pid}`;
const timing = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5, intervalSeconds: 1 };
let kube: KubeInfo;
let kc: KubeConfig;
let brokers: string[];
let scenario: Scenario;
let fleet: KafkaFleet;
const dir = mkdtempSync(join(tmpdir(), 'sg-failover-'));
const procs = new Map<string, ChildProcess>();
const users: Record<string, string> = {};

before(async () => {
  kube = await sharedKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  brokers = (await sharedKafka()).brokers;
  await installCrd(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), NS);
  await applyManifests(kc, parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/rbac.yaml'), 'utf8')));
  // Two replicas, each with its own ServiceAccount bound to the shipped roles, so the audit log tells them apart.
  for (const id of ['a', 'b']) {
    const sa = await serviceAccountKubeconfig(kube, { namespace: NS, name: `sg-ctl-${id}-${process.pid}`, clusterRole: 'surgeguard-controller' });
    await kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: NS,
      body: { metadata: { name: `sg-ctl-${id}-${process.pid}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'surgeguard-controller' }, subjects: [{ kind: 'ServiceAccount', name: `sg-ctl-${id}-${process.pid}`, namespace: NS }] },
    });
    users[id] = sa.username;
    await untilRolesEffective(kc, { namespace: NS, name: `sg-ctl-${id}-${process.pid}` }, NS, (name) => name === 'surgeguard-controller');
    if (id === 'b') await grantTargetCacheOffExtra(`sg-ctl-${id}-${process.pid}`);
    writeFileSync(
      join(dir, `${id}.yaml`),
      stringify({
        listen: '127.0.0.1:0',
        kubeconfig: sa.kubeconfig,
        identity: `replica-${id}`,
        intervalSeconds: timing.intervalSeconds,
        scalerSelector: `sg-test=failover-${process.pid}`,
        leaderElection: { namespace: NS, leaseName: LEASE, leaseDurationSeconds: timing.leaseDurationSeconds, renewDeadlineSeconds: timing.renewDeadlineSeconds, retryPeriodSeconds: timing.retryPeriodSeconds },
        pauseConfigMap: { namespace: NS, name: `pause-${process.pid}` },
        kafka: { brokers, requestTimeoutMs: 3000 },
        healing: { enabled: false },
        // Replica b reads each target's scale with a GET (the mode without the Deployment watch cache,
        // and the read a custom-resource target or a conflict needs), so both modes lead here and the
        // shipped role's `get deployments/scale` is exercised: scale patches are not read back.
        targetCache: id === 'a',
      }),
    );
  }
  await addFakeNodes(kc, [`failover-a-${process.pid}`, `failover-b-${process.pid}`, `failover-c-${process.pid}`], { gpus: 8 });
  scenario = await createScenario(kc, brokers, { name: 'failover', selector: `failover-${process.pid}`, startupSeconds: 3, capacity: 10, partitions: 16, maxReplicas: 16, extraSpec: { behavior: { scaleDown: { stabilizationSeconds: 3 } } } });
  fleet = await startKafkaFleet({ brokers, topic: scenario.topic, groupId: scenario.group, capacityPerReplica: 10, kc, namespace: scenario.namespace, deployment: 'infer' });
  fleet.setRate(20);
});

/**
 * Replica b runs with `targetCache: false`, so it gets what deploy/controller/rbac.yaml says that mode
 * adds: get on deployments, the read that names another writer of the replicas. A new leader needs it
 * when the last leader's scale write landed and its status write did not (the adoption path). This
 * rule is the test's, not the shipped role's, so rbacRulesAllUsed does not ask that it be used.
 */
async function grantTargetCacheOffExtra(serviceAccount: string): Promise<void> {
  const name = `sg-failover-get-deployments-${process.pid}`;
  const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }] };
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: role });
  await rbac.createClusterRoleBinding({ body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: NS }] } });
  await untilRolesEffective(kc, { namespace: NS, name: serviceAccount }, NS, (n) => n === name, [role]);
}

after(async () => {
  await Promise.all([...procs.values()].map((p) => (p.exitCode === null && p.signalCode === null ? (p.kill('SIGKILL'), exited(p)) : undefined)));
  await fleet?.stop();
});

/** Starts a controller process and resolves once it serves (model loaded, watch started). */
async function startReplica(id: string): Promise<ChildProcess> {
  const { child } = await startControllerProcess(dir, id);
  procs.set(id, child);
  return child;
}

async function holder(): Promise<string | undefined> {
  try {
    const l = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: NS });
    return l.spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}

/** Sets a demand that needs clearly fewer or more replicas than the target has now. */
async function changeDemand(): Promise<void> {
  const current = (await deploymentReplicas(kc, scenario)).spec;
  fleet.setRate(current >= 8 ? 3 : 120);
}

function scaleWritesBy(user: string, sinceMs: number): AuditEvent[] {
  return readAudit(kube, (e) => e.user.username === user && e.verb === 'patch' && e.objectRef?.subresource === 'scale' && e.objectRef.namespace === scenario.namespace && Date.parse(e.requestReceivedTimestamp) >= sinceMs - 1000);
}

const exited = (p: ChildProcess): Promise<number> => new Promise((r) => (p.exitCode !== null ? r(Date.now()) : p.once('exit', () => r(Date.now()))));

test('leader election: graceful handover, SIGKILL takeover, and only the holder writes /scale', async (t) => {
  const a = await startReplica('a');
  await waitUntil('replica-a leads', async () => ((await holder()) === 'replica-a' ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
  await startReplica('b');
  await waitUntil('replica-a scaled the target', async () => ((await deploymentReplicas(kc, scenario)).spec >= 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
  await new Promise((r) => setTimeout(r, 2000));

  // Graceful stop: the lease is released and replica-b takes it at its next retry.
  a.kill('SIGTERM');
  const aGone = await exited(a);
  const bLeads = await waitUntil('replica-b leads', async () => ((await holder()) === 'replica-b' ? Date.now() : undefined), { timeoutMs: 20_000, intervalMs: 50 });
  const graceful = (bLeads - aGone) / 1000;
  t.diagnostic(`graceful handover: ${graceful.toFixed(2)} s after replica-a exited (retry ${timing.retryPeriodSeconds} s + tick ${timing.intervalSeconds} s)`);
  assert.ok(graceful <= timing.retryPeriodSeconds + timing.intervalSeconds + 0.5, `graceful handover took ${graceful} s`);

  // The new leader acts: demand moves away from what the fleet has, and replica-b writes the scale.
  await changeDemand();
  await waitUntil('replica-b writes /scale', async () => (scaleWritesBy(users.b as string, bLeads).length > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });

  // SIGKILL: no release; replica-a (restarted) waits out the lease.
  await startReplica('a');
  await new Promise((r) => setTimeout(r, 1000));
  const b = procs.get('b') as ChildProcess;
  b.kill('SIGKILL');
  const bGone = await exited(b);
  const aLeads = await waitUntil('replica-a leads again', async () => ((await holder()) === 'replica-a' ? Date.now() : undefined), { timeoutMs: 30_000, intervalMs: 50 });
  const takeover = (aLeads - bGone) / 1000;
  t.diagnostic(`takeover after SIGKILL: ${takeover.toFixed(2)} s (lease ${timing.leaseDurationSeconds} s + retry ${timing.retryPeriodSeconds} s)`);
  assert.ok(takeover <= timing.leaseDurationSeconds + timing.retryPeriodSeconds + 0.5, `takeover took ${takeover} s`);
  assert.ok(takeover >= timing.leaseDurationSeconds - 1.5, `took over before the lease could expire (${takeover} s)`);

  // Demand changes: the new leader writes, then a person scales by hand, which the controller must not fight.
  await changeDemand();
  await waitUntil('replica-a writes /scale after the takeover', async () => (scaleWritesBy(users.a as string, aLeads).length > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
  // A count the controller did not set (a fixed one could equal what it last applied).
  const byHand = (await deploymentReplicas(kc, scenario)).spec + 3;
  await kc.makeApiClient(AppsV1Api).patchNamespacedDeploymentScale({ name: 'infer', namespace: scenario.namespace, body: { spec: { replicas: byHand } }, fieldManager: 'kubectl-scale' }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await waitUntil('Conflict', async () => (condition(await readScaler(kc, scenario), 'Conflict') === 'True' ? true : undefined), { timeoutMs: 20_000, intervalMs: 300 });

  // The audit log: every /scale write came from the identity whose lease write came last before it.
  const ours = new Set(Object.values(users));
  const events = readAudit(kube, (e) => ours.has(e.user.username)).sort((x, y) => x.requestReceivedTimestamp.localeCompare(y.requestReceivedTimestamp));
  const scaleWrites = events.filter((e) => e.verb === 'patch' && e.objectRef?.subresource === 'scale' && e.objectRef.namespace === scenario.namespace);
  assert.ok(scaleWrites.length >= 2, 'expected scale writes from both leaders');
  assert.deepEqual(new Set(scaleWrites.map((e) => e.user.username)), ours, 'both replicas should have led and written');
  for (const w of scaleWrites) {
    const lastLease = [...events].reverse().find((e) => e.objectRef?.resource === 'leases' && e.objectRef.name === LEASE && (e.verb === 'update' || e.verb === 'create') && (e.responseStatus?.code ?? 0) < 300 && e.requestReceivedTimestamp <= w.requestReceivedTimestamp);
    assert.equal(lastLease?.user.username, w.user.username, `a /scale write at ${w.requestReceivedTimestamp} by ${w.user.username}, but the lease was last written by ${lastLease?.user.username}`);
  }
  const denied = events.filter((e) => e.responseStatus?.code === 403);
  assert.deepEqual(denied.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ''}`), [], 'the shipped role lacks a permission the controller needs');
  // The healing loop's roles are checked by healing.test.ts, whose replicas run it.
  rbacRulesAllUsed(events, (name) => !name.endsWith('-healing'));
});
