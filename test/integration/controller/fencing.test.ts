// Fencing on the real API server: a leader whose tick outlasts its Lease (here a forecast that
// hangs while another replica takes the Lease) must not patch when the tick resumes. Before
// the fence, the tick used the leadership it read when it started and patched anyway.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { microTime } from '../../../controller/leader/elector.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import type { Forecaster } from '../../../inference/forecaster.ts';
import { addFakeNodes, kubeConfigFrom, readAudit, sharedKube } from '../../helpers/infra/kube.ts';
import { sharedKafka } from '../../helpers/infra/kafka.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd, startTestController } from '../../helpers/controller.ts';
import { startKafkaFleet } from '../../helpers/kafka-fleet.ts';
import { createScenario, deploymentReplicas } from '../../helpers/scenario.ts';

const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
after(() => runCleanups(cleanups));

/**
 * Holt-Winters, except that while `hold()` is armed each forecast waits until `release()`, and the
 * held forecast is multiplied by `boost`: the resumed tick then surely plans a scale-up, which is
 * the write the fence must refuse (without it, the test could pass on a tick that only holds).
 */
function holdableForecaster(): Forecaster & { hold(): void; release(boost?: number): void; held(): boolean } {
  const inner = createHoltWintersForecaster();
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let waiting = false;
  let factor = 1;
  return {
    name: inner.name,
    runsOn: inner.runsOn,
    version: inner.version,
    async forecast(req) {
      if (!gate) return inner.forecast(req);
      waiting = true;
      await gate.promise;
      waiting = false;
      const out = await inner.forecast(req);
      const k = factor;
      factor = 1;
      return { ...out, forecasts: out.forecasts.map((f) => ({ p10: f.p10.map((v) => v * k), p50: f.p50.map((v) => v * k), p90: f.p90.map((v) => v * k) })) };
    },
    close: () => inner.close(),
    hold() {
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      gate = { promise, open };
    },
    release(boost = 1) {
      factor = boost;
      const g = gate;
      gate = undefined;
      g?.open();
    },
    held: () => waiting,
  };
}

test('a leader that loses its Lease during a long tick does not patch when the tick resumes', async () => {
  const kube = await sharedKube();
  const kc: KubeConfig = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await addFakeNodes(kc, [`fence-${process.pid}`], { gpus: 16 });
  const brokers = (await sharedKafka()).brokers;
  const name = `fence-${process.pid}`;
  const leaseName = `fence-lease-${process.pid}`;
  const s = await createScenario(kc, brokers, { name: 'fence', selector: name, startupSeconds: 2, capacity: 10, partitions: 8, maxReplicas: 8 });
  const forecaster = holdableForecaster();
  const controller = await startTestController({
    kubeconfig: kube.kubeconfig,
    namespace: 'default',
    identity: name,
    kafkaBrokers: brokers,
    forecaster,
    overrides: { scalerSelector: `sg-test=${name}`, leaderElection: { namespace: 'default', leaseName, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 } },
  });
  cleanups.push({ what: `controller ${name}`, run: () => controller.stop() });
  const fleet = await startKafkaFleet({ brokers, topic: s.topic, groupId: s.group, capacityPerReplica: 10, kc, namespace: s.namespace, deployment: 'infer' });
  cleanups.push({ what: `fleet ${name}`, run: () => (forecaster.release(), fleet.stop()) });
  fleet.setRate(20);
  await waitUntil('first scale-up', async () => ((await deploymentReplicas(kc, s)).spec >= 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  const before = (await deploymentReplicas(kc, s)).spec;

  // A tick starts as leader and hangs in its forecast.
  forecaster.hold();
  await waitUntil('a tick hanging in its forecast', async () => (forecaster.held() ? true : undefined), { timeoutMs: 20_000, intervalMs: 50 });

  // Another replica takes the Lease (as one would after this one's lease expired). The leader
  // renews every 0.5 s, so a renewal can land between our read and our replace (409 Conflict, seen
  // in CI): read again and retry, as a real contender would on its next try.
  const leases = kc.makeApiClient(CoordinationV1Api);
  for (let attempt = 1; ; attempt++) {
    const lease = await leases.readNamespacedLease({ name: leaseName, namespace: 'default' });
    try {
      await leases.replaceNamespacedLease({
        name: leaseName,
        namespace: 'default',
        body: { ...lease, spec: { ...lease.spec, holderIdentity: 'another-replica', leaseDurationSeconds: 600, renewTime: microTime(Date.now()) as unknown as Date, acquireTime: microTime(Date.now()) as unknown as Date } },
      });
      break;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt >= 10) throw err;
    }
  }
  await waitUntil('stopped leading', async () => (controller.elector.isLeader() ? undefined : true), { timeoutMs: 20_000, intervalMs: 100 });
  const lostAt = Date.now();

  // The tick resumes with a forecast ten times demand: a plan to scale up, from a tick that began as leader.
  assert.ok(before < 8, `the fleet has room to grow (at ${before} of 8)`);
  forecaster.release(10);
  const refused = await waitUntil(
    'the patch refused by the fence',
    async () => {
      const m = /surgeguard_controller_fenced_writes_total\{client="scale",method="setReplicas"\} (\d+)/.exec((await controller.metrics.render()).body);
      return m && Number(m[1]) >= 1 ? Number(m[1]) : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  assert.ok(refused >= 1);
  await new Promise((r) => setTimeout(r, 2000));
  const patches = readAudit(kube, (e) => e.objectRef?.subresource === 'scale' && e.verb === 'patch' && e.objectRef.namespace === s.namespace && Date.parse(e.requestReceivedTimestamp) > lostAt);
  assert.equal(patches.length, 0, `patched ${patches.length} times after losing the Lease`);
  assert.equal((await deploymentReplicas(kc, s)).spec >= before, true);
  assert.ok(controller.logs.some((l) => l.msg === 'write refused: this replica lost the Lease during the tick' && l.method === 'setReplicas'));
});
