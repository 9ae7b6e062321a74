// Outages: with the broker stopped the controller holds (never scales down) and reports
// Degraded, then recovers when it returns; with the API server stopped for 30 s it stops
// writing, keeps running, and resumes once the API server is back; started with the API server
// down it says not ready and backs off until the first list succeeds.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AppsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { addFakeNodes, kubeConfigFrom, readAudit, sharedKube, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { sharedKafka, startKafka, type KafkaHandle } from '../../helpers/infra/kafka.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startKafkaFleet, type KafkaFleet } from '../../helpers/kafka-fleet.ts';
import { condition, createScenario, deploymentReplicas, readScaler } from '../../helpers/scenario.ts';

const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
after(() => runCleanups(cleanups));

function leaseOpts(name: string): Record<string, unknown> {
  return { scalerSelector: `sg-test=${name}`, leaderElection: { namespace: 'default', leaseName: name, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 } };
}

test('broker stopped: the controller holds and reports Degraded, then recovers without a restart', async () => {
  const kube = await sharedKube();
  const kc: KubeConfig = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await addFakeNodes(kc, [`outage-k-${process.pid}`], { gpus: 16 });
  const broker: KafkaHandle = await startKafka();
  cleanups.push({ what: 'own broker', run: () => broker.stop() });
  const name = `broker-${process.pid}`;
  const s = await createScenario(kc, broker.brokers, { name: 'broker', selector: name, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8 });
  const controller: TestController = await startTestController({ kubeconfig: kube.kubeconfig, namespace: 'default', identity: name, kafkaBrokers: broker.brokers, overrides: leaseOpts(name) });
  cleanups.push({ what: `controller ${name}`, run: () => controller.stop() });
  const fleet: KafkaFleet = await startKafkaFleet({ brokers: broker.brokers, topic: s.topic, groupId: s.group, capacityPerReplica: 10, kc, namespace: s.namespace, deployment: 'infer' });
  cleanups.push({ what: `fleet ${name}`, run: () => fleet.stop() });
  fleet.setRate(40);
  await waitUntil('scaled up', async () => ((await deploymentReplicas(kc, s)).spec >= 4 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  const before = (await deploymentReplicas(kc, s)).spec;

  await broker.stop();
  const degraded = await waitUntil('Degraded', async () => {
    const x = await readScaler(kc, s);
    return condition(x, 'Degraded') === 'True' ? x : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  assert.equal(degraded.status?.conditions?.find((c) => c.type === 'Degraded')?.reason, 'SignalMissing');
  // A tick that read the broker just before it stopped may still have scaled up; from the first
  // Degraded tick on, every tick holds.
  const held = (await deploymentReplicas(kc, s)).spec;
  assert.ok(held >= before, `scaled down from ${before} to ${held} as the broker stopped`);
  // Several ticks without a signal: never a scale-down, nor any other change.
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal((await deploymentReplicas(kc, s)).spec, held);
  assert.ok(controller.decisions.list({ scaler: `${s.namespace}/infer` }).slice(-4).every((d) => d.decision === 'degraded'));

  await broker.start();
  await waitUntil('Degraded cleared', async () => (condition(await readScaler(kc, s), 'Degraded') === 'False' ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
});

test('API server stopped for 30 s: the controller holds, stays up, and resumes', async (t) => {
  const kube: KubeHandle = await startKube();
  cleanups.push({ what: 'own control plane', run: () => kube.stop() });
  const kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await addFakeNodes(kc, [`outage-a-${process.pid}`], { gpus: 16 });
  const brokers = (await sharedKafka()).brokers;
  const name = `apiserver-${process.pid}`;
  const s = await createScenario(kc, brokers, { name: 'apiserver', selector: name, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8 });
  const controller = await startTestController({ kubeconfig: kube.kubeconfig, namespace: 'default', identity: name, kafkaBrokers: brokers, overrides: leaseOpts(name) });
  cleanups.push({ what: `controller ${name}`, run: () => controller.stop() });
  const fleet = await startKafkaFleet({ brokers, topic: s.topic, groupId: s.group, capacityPerReplica: 10, kc, namespace: s.namespace, deployment: 'infer' });
  cleanups.push({ what: `fleet ${name}`, run: () => fleet.stop() });
  fleet.setRate(20);
  await waitUntil('first scale-up', async () => ((await deploymentReplicas(kc, s)).spec >= 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });

  await kube.stopApiserver();
  const downAt = Date.now();
  fleet.setRate(60);
  await new Promise((r) => setTimeout(r, 30_000));
  assert.equal(controller.elector.isLeader(), false, 'a leader that cannot renew must stop acting');
  const restartAt = Date.now();
  await kube.startApiserver();
  const upAt = Date.now();
  // Back: it leads again and applies the higher demand.
  await waitUntil('resumed scaling', async () => ((await deploymentReplicas(kc, s)).spec >= 5 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  const resumed = (Date.now() - upAt) / 1000;
  t.diagnostic(`resumed scaling ${resumed.toFixed(1)} s after the API server came back`);
  const writes = readAudit(kube, (e) => e.objectRef?.subresource === 'scale' && e.verb === 'patch' && e.objectRef.namespace === s.namespace);
  const during = writes.filter((e) => {
    const at = Date.parse(e.requestReceivedTimestamp);
    return at > downAt && at < restartAt;
  });
  assert.equal(during.length, 0);
  assert.ok(controller.logs.some((l) => l.msg === 'stopped leading' && l.reason === 'could not renew within the renew deadline'));
  // Unrelated to the outage: a hand change afterwards is still respected (the controller works normally).
  await kc.makeApiClient(AppsV1Api).patchNamespacedDeploymentScale({ name: 'infer', namespace: s.namespace, body: { spec: { replicas: 1 } }, fieldManager: 'kubectl-scale' }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  // The Deployment cache sees the hand change once its watch is back: after 30 s of failures its
  // retry delay may have doubled up to the 30 s cap (DEFAULT_WATCH_BACKOFF, as client-go's reflector),
  // so allow that plus a few ticks. 20 s failed once in a fresh-clone run (2026-12-07).
  await waitUntil('Conflict', async () => (condition(await readScaler(kc, s), 'Conflict') === 'True' ? true : undefined), { timeoutMs: 45_000, intervalMs: 500 });
});

test('started while the API server is down: not ready, retries back off, then ready once it lists', async () => {
  const kube: KubeHandle = await startKube();
  cleanups.push({ what: 'own control plane (start-down)', run: () => kube.stop() });
  await installCrd(kubeConfigFrom(kube.kubeconfig));
  await kube.stopApiserver();
  const name = `startdown-${process.pid}`;
  const controller = await startTestController({ kubeconfig: kube.kubeconfig, namespace: 'default', identity: name, overrides: leaseOpts(name) });
  cleanups.push({ what: `controller ${name}`, run: () => controller.stop() });
  // Client-node's informer says "connect" before it lists: that used to read as synced.
  const readyz = async (): Promise<number> => (await fetch(`${controller.url}/readyz`)).status;
  for (let i = 0; i < 8; i++) {
    assert.equal(await readyz(), 503, `ready after ${i} s with no API server`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const waits = controller.logs.filter((l) => l.msg === 'PredictiveScaler watch failed; restarting').map((l) => l.retryInMs as number);
  // 1 s doubling (with jitter in [d/2, d)): 8 s allow about four tries, not eight.
  assert.ok(waits.length >= 3 && waits.length <= 5, `retried ${waits.length} times in 8 s: ${waits.join(', ')} ms`);
  assert.ok((waits.at(-1) as number) >= 2 * (waits[0] as number), `waits did not grow: ${waits.join(', ')} ms`);
  await kube.startApiserver();
  await waitUntil('ready once the API server is back', async () => ((await readyz()) === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
});
