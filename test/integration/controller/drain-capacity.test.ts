// Healing asks the GPU budget before it breaks: on a control plane of its own (real API server,
// scheduler, controller-manager, kwok nodes), a degraded node whose pods hold 2 GPUs in a pool
// with none free is not cordoned; the wait is a decision (audit entry, Event, counter), it pages
// on-call after the timeout and keeps waiting; once a node with free GPUs joins the pool, the
// next tick cordons, the pods are evicted and the scheduler places them on the new node.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { addFakeNodes, ensureNamespace, kubeConfigFrom, startKube, type KubeHandle } from '../../helpers/infra/kube.ts';
import { runCleanups, waitUntil } from '../../helpers/infra/process.ts';
import { installCrd, startTestController, type TestController } from '../../helpers/controller.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.ts';
import { REMEDIATION_ANNOTATION, UNHEALTHY_TAINT } from '../../../controller/healing/state.ts';

const POOL = { 'karpenter.sh/nodepool': 'dc' };
const APP = 'dc-app';
const TIMEOUT_SECONDS = 6;
let kube: KubeHandle;
let kc: KubeConfig;
let pager: WebhookReceiver;
let controller: TestController | undefined;

before(async () => {
  kube = await startKube();
  kc = kubeConfigFrom(kube.kubeconfig);
  await installCrd(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), APP);
  await addFakeNodes(kc, ['dc-sick', 'dc-busy'], { gpus: 2, labels: POOL });
  pager = await startWebhookReceiver();
});
after(() => runCleanups([{ what: 'controller', run: async () => controller?.stop() }, { what: 'pager', run: () => pager.close() }, { what: 'control plane', run: () => kube.stop() }]));

/** A Deployment of 1-GPU pods in the pool; `pin` holds them to one node, else they go wherever the pool has room. */
async function gpuDeployment(name: string, replicas: number, onNode: string, pin = false): Promise<void> {
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: APP,
    body: {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            nodeSelector: POOL,
            containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
            tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }],
            ...(pin ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [onNode] }] }] } } } } : {}),
          },
        },
      },
    },
  });
  await waitUntil(`${name} on ${onNode}`, async () => {
    const pods = await podsOf(name);
    return pods.length === replicas && pods.every((p) => p.spec?.nodeName === onNode) ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 300 });
}

async function podsOf(app: string): Promise<V1Pod[]> {
  return (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: APP, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

const node = (name: string): Promise<V1Node> => kc.makeApiClient(CoreV1Api).readNode({ name });
const cordoned = (n: V1Node): boolean => n.spec?.unschedulable === true || (n.spec?.taints ?? []).some((t) => t.key === UNHEALTHY_TAINT.key);
type AmBody = { status?: string; commonLabels?: Record<string, string>; alerts?: Array<{ annotations?: Record<string, string> }> };

test('a degraded drain waits while its pool has no free GPU, pages after the timeout, and proceeds once a node with free GPUs joins', async () => {
  // busy fills dc-busy; llm then has room on dc-sick only.
  await gpuDeployment('busy', 2, 'dc-busy', true);
  await gpuDeployment('llm', 2, 'dc-sick');
  controller = await startTestController({
    kubeconfig: kube.kubeconfig,
    namespace: 'default',
    identity: `dc-${process.pid}`,
    overrides: {
      healing: {
        enabled: true,
        intervalSeconds: 1,
        // Two GPU nodes: one unhealthy is half the fleet, which the gate would call fleet-wide.
        gate: { fleetUnhealthyFraction: 0.9 },
        drain: { capacity: { timeoutSeconds: TIMEOUT_SECONDS } },
        oncall: { attempts: 2, initialBackoffMs: 100, receivers: [{ name: 'pager', url: pager.url, format: 'alertmanager', severities: ['critical'] }] },
      },
    },
  });
  const alert = { version: '4', groupKey: 'g', truncatedAlerts: 0, status: 'firing', receiver: 'surgeguard', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am',
    alerts: [{ status: 'firing', labels: { alertname: 'SurgeGuardGpuThermalSlowdown', node: 'dc-sick', severity: 'warning', surgeguard_fault: 'degraded' }, annotations: { summary: 'thermal slowdown on dc-sick' }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'dc-sick' }] };
  // Alerts go to the leader only (a standby answers 503 so Alertmanager retries elsewhere).
  await waitUntil('the controller leads', async () => (controller?.elector.isLeader() ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
  const posted = await fetch(`${controller.url}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${controller.token}`, 'content-type': 'application/json' }, body: JSON.stringify(alert) });
  assert.equal(posted.status, 200);

  const waiting = await waitUntil('the drain waits for capacity', async () => controller?.remediations.list({ limit: 1000 }).find((e) => e.target.name === 'dc-sick' && e.reason === 'NoReplacementCapacity'), { timeoutMs: 30_000, intervalMs: 300 });
  assert.equal(waiting.decision, 'blocked');
  assert.match(waiting.message, /not cordoning dc-sick yet: replacement capacity in pool dc: nvidia.com\/gpu: needs 2, 0 available \(0 free, 0 in placeholders, 0 coming within 600 s/);
  const page = (await pager.waitFor((b) => (b as AmBody).status === 'firing' && (b as AmBody).commonLabels?.check === 'drain-capacity', (TIMEOUT_SECONDS + 30) * 1000)) as AmBody;
  assert.equal(page.commonLabels?.node, 'dc-sick');
  assert.equal(page.commonLabels?.severity, 'critical');
  assert.equal(cordoned(await node('dc-sick')), false, 'paged, and still waiting (onTimeout: wait): the node serves, degraded');
  assert.equal((await node('dc-sick')).metadata?.annotations?.[REMEDIATION_ANNOTATION], undefined);
  assert.ok((await podsOf('llm')).every((p) => p.spec?.nodeName === 'dc-sick'));
  const events = (await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.involvedObject.name === 'dc-sick');
  assert.ok(events.some((e) => e.reason === 'NoReplacementCapacity' && e.type === 'Warning'), events.map((e) => e.reason).join(','));
  assert.ok(events.some((e) => e.reason === 'CapacityWaitTimeout' && e.type === 'Warning'), events.map((e) => e.reason).join(','));
  const metrics = (await controller.metrics.render()).body;
  assert.match(metrics, /surgeguard_drain_capacity_checks_total\{result="wait",reason="NoReplacementCapacity"\} [1-9]/);
  assert.match(metrics, /surgeguard_drains_waiting_for_capacity 1/);
  assert.match(metrics, /surgeguard_remediation_decisions_total\{action="cordon-node",decision="blocked",reason="NoReplacementCapacity"\} 1/);

  // A node with two free GPUs joins the pool (what the autoscaler would bring).
  await addFakeNodes(kc, ['dc-spare'], { gpus: 2, labels: POOL });
  await waitUntil('dc-sick cordoned', async () => (cordoned(await node('dc-sick')) ? true : undefined), { timeoutMs: 30_000, intervalMs: 300 });
  const cordon = controller.remediations.list({ limit: 1000 }).find((e) => e.target.name === 'dc-sick' && e.reason === 'NodeCordoned');
  assert.match(cordon?.message ?? '', /claimed 2 nvidia.com\/gpu in pool dc for the replacements/);
  assert.deepEqual(JSON.parse((await node('dc-sick')).metadata?.annotations?.[REMEDIATION_ANNOTATION] ?? '{}').claim, { 'nvidia.com/gpu': 2 });
  await waitUntil('the llm pods run on dc-spare', async () => {
    const pods = await podsOf('llm');
    return pods.length === 2 && pods.every((p) => p.spec?.nodeName === 'dc-spare' && p.status?.phase === 'Running') ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  await pager.waitFor((b) => (b as AmBody).status === 'resolved' && (b as AmBody).commonLabels?.check === 'drain-capacity', 30_000);
  assert.match((await controller.metrics.render()).body, /surgeguard_drains_waiting_for_capacity 0/);
});
