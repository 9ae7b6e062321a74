// The healing loop asks for replacement capacity before it cordons a node for a degraded fault:
// over fakes of the cluster and on-call, a drain waits while the pool is full (recorded, counted,
// no cordon), pages once the wait passes the timeout, and cordons with its claim once a node with
// free GPUs appears. A fatal fault on a full pool is cordoned at once.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { createLogger } from '../../../../common/logger.ts';
import { createMetricRegistry } from '../../../../common/metrics.ts';
import { createRemediationAudit } from '../../../../controller/healing/audit.ts';
import type { HealingCluster } from '../../../../controller/healing/cluster.ts';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import { createHealingLoop } from '../../../../controller/healing/loop.ts';
import type { Notice, OnCall } from '../../../../controller/healing/oncall.ts';
import type { NodeRemediation } from '../../../../controller/healing/state.ts';
import type { Finding } from '../../../../controller/healing/types.ts';
import type { ClusterWriter } from '../../../../controller/kube/cluster.ts';
import type { ScaleClient } from '../../../../controller/kube/scale-target.ts';
import type { PredictiveScaler } from '../../../../controller/crd/predictive-scaler.ts';

const T0 = 1_800_000_000_000;
const node = (name: string, gpus: number): V1Node => ({ metadata: { name, labels: { 'karpenter.sh/nodepool': 'a100' }, resourceVersion: '1' }, spec: {}, status: { allocatable: { 'nvidia.com/gpu': String(gpus) }, conditions: [{ type: 'Ready', status: 'True' }] } });
const pod = (name: string, on: string, gpus: number): V1Pod => ({ metadata: { name, namespace: 'ml', labels: { app: 'llm' } }, spec: { nodeName: on, containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] }, status: { phase: 'Running' } });
const finding = (name: string, fault: 'degraded' | 'fatal'): Finding => ({ check: fault === 'fatal' ? 'gpu-xid' : 'gpu-thermal', severity: fault === 'fatal' ? 'critical' : 'warning', fault, target: { kind: 'Node', name }, summary: `${fault} fault on ${name}`, evidence: {} });

/** With `awaiting`, the node's scaler has no ready replacement yet, so a cordoned degraded node stays awaiting them. */
function setup(capacity: Record<string, unknown>, awaiting = false) {
  let now = T0;
  const nodes = new Map<string, V1Node>([['sick', node('sick', 4)], ['busy', node('busy', 4)], ['fatal', node('fatal', 4)]]);
  // Healthy GPU nodes of another pool, with free GPUs the a100 pool's pods cannot use; and enough of
  // them that the gate's fleet-wide stop and cordon limit stay out of the way.
  for (let i = 0; i < 17; i++) nodes.set(`h100-${i}`, { ...node(`h100-${i}`, 8), metadata: { name: `h100-${i}`, labels: { 'karpenter.sh/nodepool': 'h100' } } });
  const pods = [pod('l0', 'sick', 2), pod('b0', 'busy', 4), pod('f0', 'fatal', 4)];
  const findings: Finding[] = [finding('sick', 'degraded')];
  const cordons: Array<{ node: string; remediation: NodeRemediation }> = [];
  const cluster = {
    listNodes: () => Promise.resolve([...nodes.values()]),
    listPods: () => Promise.resolve(pods),
    readLedger: () => Promise.resolve([]),
    appendLedger: () => Promise.resolve(),
    cordon: (n: V1Node, remediation: NodeRemediation) => {
      cordons.push({ node: n.metadata?.name ?? '', remediation });
      const written = { ...n, metadata: { ...n.metadata, annotations: { 'surgeguard.io/remediation': JSON.stringify(remediation) } }, spec: { unschedulable: true } };
      nodes.set(n.metadata?.name ?? '', written);
      return Promise.resolve(written);
    },
    recordPhase: (n: V1Node, r: NodeRemediation) => (nodes.set(n.metadata?.name ?? '', { ...n, metadata: { ...n.metadata, annotations: { 'surgeguard.io/remediation': JSON.stringify(r) } } }), Promise.resolve()),
    setNodeCondition: () => Promise.resolve(),
    evict: () => Promise.resolve('evicted' as const),
    setFloor: () => Promise.resolve(),
  } satisfies HealingCluster;
  const updates: Notice[][] = [];
  const oncall: OnCall = { update: (n) => void updates.push([...n]), flush: () => Promise.resolve() };
  const events: string[] = [];
  const writer = { event: (_o: unknown, type: string, reason: string) => (events.push(`${type} ${reason}`), Promise.resolve()) } as unknown as ClusterWriter;
  const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const metrics = createMetricRegistry();
  const audit = createRemediationAudit({ logger, metrics, writer, eventNamespace: 'surgeguard' }, 1000);
  const config = healingConfigSchema.parse({ nodeCondition: { enabled: false }, drain: { capacity } });
  const loop = createHealingLoop(
    { cluster, checks: [{ name: 'fake', run: () => Promise.resolve(findings) }], audit, oncall, isLeader: () => true, now: () => now, logger, metrics, scalers: () => (awaiting ? [scaler] : []), scale, readyPods: () => Promise.resolve(0) },
    config,
  );
  return { loop, nodes, pods, findings, cordons, updates, events, audit, metrics, advance: (ms: number) => (now += ms) };
}

const scaler = { apiVersion: 'surgeguard.io/v1alpha1', kind: 'PredictiveScaler', metadata: { name: 'llm', namespace: 'ml' }, spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llm' } } } as unknown as PredictiveScaler;
const scale = { read: () => Promise.resolve({ replicas: 1, currentReplicas: 1, selector: 'app=llm', resourceVersion: '1' }) } as unknown as ScaleClient;
const pageOf = (n: readonly Notice[]): Notice | undefined => n.find((x) => x.finding.check === 'drain-capacity');

test('a degraded drain waits while the pool has no free GPU, pages after the timeout, and cordons once a node with free GPUs appears', async () => {
  const s = setup({ timeoutSeconds: 60 });
  await s.loop.tick();
  assert.equal(s.cordons.length, 0, 'not cordoned: its 2 GPUs have nowhere to go');
  const waited = s.audit.list().find((e) => e.target.name === 'sick');
  assert.equal(waited?.decision, 'blocked');
  assert.equal(waited?.reason, 'NoReplacementCapacity');
  assert.match(waited?.message ?? '', /not cordoning sick yet: replacement capacity in pool a100: nvidia.com\/gpu: needs 2, 0 available/);
  assert.ok(s.events.includes('Warning NoReplacementCapacity'));
  assert.equal(pageOf(s.updates.at(-1) ?? []), undefined, 'no page before the timeout');
  s.advance(30_000);
  await s.loop.tick();
  s.advance(31_000);
  await s.loop.tick();
  const page = pageOf(s.updates.at(-1) ?? []);
  assert.equal(page?.finding.severity, 'critical');
  assert.match(page?.decision ?? '', /^sick has waited 61 s \(timeout 60 s\) for replacement capacity: .*still waiting/);
  assert.equal(s.cordons.length, 0);
  const body = (await s.metrics.render()).body;
  assert.match(body, /surgeguard_drain_capacity_checks_total\{result="wait",reason="NoReplacementCapacity"\} 2/);
  assert.match(body, /surgeguard_drain_capacity_checks_total\{result="wait",reason="CapacityWaitTimeout"\} 1/);
  assert.match(body, /surgeguard_drains_waiting_for_capacity 1/);

  s.nodes.set('spare', node('spare', 4));
  s.advance(5000);
  await s.loop.tick();
  assert.deepEqual(s.cordons.map((c) => [c.node, c.remediation.phase, c.remediation.claim, c.remediation.pool]), [['sick', 'awaiting-replacements', { 'nvidia.com/gpu': 2 }, 'a100']]);
  const cordoned = s.audit.list().find((e) => e.target.name === 'sick' && e.reason === 'NodeCordoned');
  assert.match(cordoned?.message ?? '', /claimed 2 nvidia.com\/gpu in pool a100 for the replacements \(replacement capacity in pool a100: nvidia.com\/gpu: needs 2, 4 available \(4 free, /);
  assert.equal(pageOf(s.updates.at(-1) ?? []), undefined, 'the page resolves: no longer waiting');
  assert.match((await s.metrics.render()).body, /surgeguard_drains_waiting_for_capacity 0/);
});

test('a second degraded drain counts the first one\'s claim, in the same tick and from the node after', async () => {
  const s = setup({}, true);
  s.nodes.set('spare', node('spare', 2));
  s.nodes.set('sick2', node('sick2', 4));
  s.pods.push(pod('l1', 'sick2', 2));
  s.findings.push(finding('sick2', 'degraded'));
  await s.loop.tick();
  assert.deepEqual(s.cordons.map((c) => c.node), ['sick'], 'the 2 free GPUs of spare are claimed by sick\'s drain');
  const second = s.audit.list().find((e) => e.target.name === 'sick2');
  assert.equal(second?.reason, 'NoReplacementCapacity');
  assert.match(second?.message ?? '', /needs 2, 0 available \(2 free, 0 in placeholders, 0 coming within 600 s, less 0 for Pending pods and 2 claimed by other drains\)/);
  await s.loop.tick();
  assert.equal(JSON.parse(s.nodes.get('sick')?.metadata?.annotations?.['surgeguard.io/remediation'] ?? '{}').phase, 'awaiting-replacements');
  assert.deepEqual(s.cordons.map((c) => c.node), ['sick'], 'and next tick from the claim recorded on the node, while it awaits its replacements');
});

test('onTimeout proceed: pages and drains anyway; a fatal fault never waits', async () => {
  const s = setup({ timeoutSeconds: 10, onTimeout: 'proceed' });
  s.findings.push(finding('fatal', 'fatal'));
  await s.loop.tick();
  assert.deepEqual(s.cordons.map((c) => [c.node, c.remediation.phase]), [['fatal', 'draining']], 'XID 79-like: the GPU is gone, no capacity check');
  s.advance(11_000);
  await s.loop.tick();
  assert.deepEqual(s.cordons.map((c) => c.node), ['fatal', 'sick']);
  assert.equal(s.cordons[1]?.remediation.claim, undefined, 'nothing was there to claim');
  assert.ok(pageOf(s.updates.at(-1) ?? []), 'paged the tick it gave up waiting');
  assert.ok(s.audit.list().some((e) => e.target.name === 'sick' && e.reason === 'CapacityWaitTimeout' && e.decision === 'acted'));
});

test('off: a degraded drain cordons at once, as before', async () => {
  const s = setup({ enabled: false });
  await s.loop.tick();
  assert.deepEqual(s.cordons.map((c) => c.node), ['sick']);
});
