// What a GPU budget can spend: allocatable on schedulable nodes less what pods no scaler governs
// hold, and the label selectors that say which pods a scaler governs; and the plans it cuts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { applyGpuBudget, repairReservations, type BudgetMember } from '../../../controller/capacity/apply.ts';
import { gpuInventory, podRequest, selectorMatches } from '../../../controller/capacity/inventory.ts';
import type { ScalerPlan } from '../../../controller/reconcile/plan.ts';

const node = (name: string, gpus: number, unschedulable = false): V1Node => ({ metadata: { name }, spec: { unschedulable }, status: { allocatable: { 'nvidia.com/gpu': String(gpus), 'nvidia.com/mig-1g.10gb': '7' } } });
const pod = (name: string, ns: string, labels: Record<string, string>, gpus: number, x: { node?: string; phase?: string; init?: number } = {}): V1Pod => ({
  metadata: { name, namespace: ns, labels },
  spec: { nodeName: x.node ?? 'n1', containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }], ...(x.init ? { initContainers: [{ name: 'i', resources: { requests: { 'nvidia.com/gpu': String(x.init) } } }] } : {}) },
  status: { phase: x.phase ?? 'Running' },
});

test('label selectors as the scale subresource prints them', () => {
  const l = { app: 'llm', tier: 'gpu', 'app.kubernetes.io/name': 'x' };
  for (const [sel, want] of [
    ['app=llm', true], ['app==llm', true], ['app=rank', false], ['app!=rank', true], ['app=llm,tier=gpu', true], ['app=llm,tier=cpu', false],
    ['tier in (gpu, cpu)', true], ['tier notin (gpu)', false], ['tier notin (cpu)', true], ['tier', true], ['!canary', true], ['!tier', false],
    ['app.kubernetes.io/name=x', true], ['app=llm,tier in (a,gpu),!canary', true], ['', false], ['app in (llm', false], ['app ~ llm', false],
  ] as const) assert.equal(selectorMatches(sel, l), want, sel);
});

test('a pod requests the sum of its containers, or its largest init container, and limits stand for requests', () => {
  assert.equal(podRequest(pod('p', 'ns', {}, 2), 'nvidia.com/gpu'), 2);
  assert.equal(podRequest(pod('p', 'ns', {}, 1, { init: 4 }), 'nvidia.com/gpu'), 4);
  assert.equal(podRequest(pod('p', 'ns', {}, 2), 'nvidia.com/mig-1g.10gb'), 0);
});

test('the inventory: schedulable nodes only; scheduled, unfinished pods that no scaler governs', () => {
  const nodes = [node('n1', 8), node('n2', 8), node('cordoned', 8, true)];
  const pods = [
    pod('batch-0', 'jobs', { app: 'batch' }, 3),
    pod('done', 'jobs', { app: 'batch' }, 8, { phase: 'Succeeded' }),
    pod('pending', 'jobs', { app: 'batch' }, 8, { node: '' }),
    pod('llm-0', 'llm', { app: 'llm' }, 2),
  ];
  const inv = gpuInventory(nodes, pods, 'nvidia.com/gpu', (p) => p.metadata?.namespace === 'llm' && selectorMatches('app=llm', p.metadata?.labels ?? {}));
  assert.deepEqual(inv, { allocatable: 16, heldByOthers: 3, governedOnCordoned: 0 });
  assert.deepEqual(gpuInventory(nodes, [], 'nvidia.com/mig-1g.10gb', () => false), { allocatable: 14, heldByOthers: 0, governedOnCordoned: 0 });
});

const plan = (key: string, current: number, desired: number, decision: ScalerPlan['decision'] = desired > current ? 'scale_up' : desired < current ? 'scale_down' : 'hold'): ScalerPlan => ({
  key, decision, reason: 'Forecast', message: 'm', currentReplicas: current, desiredReplicas: desired, ...(decision === 'scale_up' || decision === 'scale_down' ? { patch: { replicas: desired, resourceVersion: '1' } } : {}), conditions: [],
});
const member = (p: ScalerPlan, priority: number, x: Partial<BudgetMember> = {}): BudgetMember => ({ plan: p, namespace: p.key.split('/')[0] ?? '', selector: `app=${p.key.split('/')[1]}`, minReplicas: 1, gpu: { resource: 'nvidia.com/gpu', perReplica: 1, priority, weight: 1 }, ...x });

test('applyGpuBudget: the lower priority is cut to what is left, says why, and its patch follows', () => {
  const cluster = { nodes: [node('n1', 8)], pods: [pod('other', 'x', { app: 'other' }, 2)] };
  const { plans, reports } = applyGpuBudget([member(plan('ml/rank', 1, 5), 10), member(plan('ml/batch', 1, 4), 0)], cluster);
  assert.equal(plans.get('ml/rank'), undefined, 'the high priority is not cut');
  const batch = plans.get('ml/batch');
  assert.equal(batch?.reason, 'GpuBudget');
  assert.equal(batch?.desiredReplicas, 1);
  assert.equal(batch?.decision, 'hold', '8 - 2 held by others - 5 for rank leaves 1: no growth');
  assert.equal(batch?.patch, undefined);
  assert.match(batch?.message ?? '', /GPU budget: nvidia\.com\/gpu has 8 allocatable, 2 held by other pods, 6 for the scalers that share it; this one \(priority 0, weight 1, 1 per replica\) asked 4 replicas and was granted 1/);
  assert.deepEqual(reports, [{ resource: 'nvidia.com/gpu', allocatable: 8, coming: 0, heldByOthers: 2, asked: 9, granted: 6, cuts: [{ key: 'ml/batch', asked: 4, granted: 1 }] }]);
});

test('applyGpuBudget: GPUs on a launched NodeClaim count as there until its Node exists, then once', () => {
  const claim = (name: string, gpus: number) => ({ name, pool: 'gpu', labels: {}, resources: { 'nvidia.com/gpu': gpus }, createdMs: 0 });
  const members = [member(plan('ml/rank', 1, 5), 10), member(plan('ml/batch', 1, 4), 0)];
  const pods = [pod('other', 'x', { app: 'other' }, 2)];
  // 8 allocatable - 2 held by others = 6 for 9 asked; a claim for 4 more lets both have all they asked.
  const withClaim = applyGpuBudget(members, { nodes: [node('n1', 8)], pods, claims: [claim('nc-1', 4)] });
  assert.equal(withClaim.plans.size, 0, 'nothing cut');
  assert.deepEqual([withClaim.reports[0]?.coming, withClaim.reports[0]?.granted], [4, 9]);
  // A claim for 2: batch is cut to 3 (1 + 2), and the reason names the claim's GPUs.
  const small = applyGpuBudget(members, { nodes: [node('n1', 8)], pods, claims: [claim('nc-1', 2)] });
  assert.equal(small.plans.get('ml/batch')?.desiredReplicas, 3);
  assert.match(small.plans.get('ml/batch')?.message ?? '', /8 allocatable \(\+2 on NodeClaims launched\), 2 held by other pods, 8 for the scalers/);
  // The claim's Node registered (not Ready yet): the node is counted, the claim is not counted again.
  const registered = applyGpuBudget(members, { nodes: [node('n1', 8), node('nc-1', 2)], pods, claims: [claim('nc-1', 2)] });
  assert.deepEqual([registered.reports[0]?.allocatable, registered.reports[0]?.coming], [10, 0]);
  assert.equal(registered.plans.get('ml/batch')?.desiredReplicas, 3);
});

test('applyGpuBudget: a held or conflicting scaler still claims what it runs; a cut scale-up keeps a smaller patch', () => {
  const cluster = { nodes: [node('n1', 8)], pods: [] };
  const { plans } = applyGpuBudget([member(plan('a/held', 4, 4, 'conflict'), 0), member(plan('a/grow', 1, 9), 0)], cluster);
  assert.equal(plans.get('a/held'), undefined);
  const grow = plans.get('a/grow');
  assert.deepEqual([grow?.decision, grow?.desiredReplicas, grow?.patch?.replicas], ['scale_up', 4, 4]);
});

test('applyGpuBudget: one budget per resource name (MIG profiles apart from whole GPUs)', () => {
  const cluster = { nodes: [node('n1', 8)], pods: [] };
  const mig = { resource: 'nvidia.com/mig-1g.10gb', perReplica: 1, priority: 0, weight: 1 };
  const { reports } = applyGpuBudget([member(plan('a/whole', 1, 3), 0), member(plan('a/slice', 1, 9), 0, { gpu: mig })], cluster);
  assert.deepEqual(reports.map((r) => [r.resource, r.allocatable, r.granted]), [['nvidia.com/gpu', 8, 3], ['nvidia.com/mig-1g.10gb', 7, 7]]);
});

test('applyGpuBudget, actuator Hpa or Keda: the served value is cut to the grant, and never past it to clear the tolerance band', () => {
  const tol = { up: 0.1, down: 0.1 };
  const viaHpa = (key: string, current: number, desired: number): ScalerPlan => ({ ...plan(key, current, desired, 'hpa'), served: { value: desired, desiredReplicas: desired, currentReplicas: current, hpa: 'h', tolerance: tol } });
  // 20 GPUs: rank keeps 10 and grows to 14; batch runs 4 (its floor) and asks 9: 6 left for it.
  const { plans } = applyGpuBudget([member(viaHpa('ml/rank', 10, 14), 10), member(viaHpa('ml/batch', 4, 9), 0)], { nodes: [node('n1', 20)], pods: [] });
  const batch = plans.get('ml/batch');
  assert.deepEqual([batch?.decision, batch?.desiredReplicas, batch?.served?.value, batch?.patch], ['hpa', 6, 6, undefined]);
  assert.match(batch?.message ?? '', /asked 9 replicas and was granted 6\); asked of HPA h by serving 6/);
  // A grant one above 10 is inside the band: clearing it would take 12, which the GPUs do not allow.
  const tight = applyGpuBudget([member(viaHpa('ml/big', 10, 15), 0)], { nodes: [node('n1', 11)], pods: [] }).plans.get('ml/big');
  assert.deepEqual([tight?.desiredReplicas, tight?.served?.value], [11, 10]);
});

test('the inventory on a cordoned node: others\' pods there are not subtracted, the scalers\' own are added back', () => {
  const nodes = [node('n1', 8), node('cordoned', 8, true)];
  const pods = [pod('other', 'jobs', { app: 'batch' }, 3, { node: 'cordoned' }), pod('llm-0', 'llm', { app: 'llm' }, 2, { node: 'cordoned' }), pod('llm-1', 'llm', { app: 'llm' }, 2)];
  const inv = gpuInventory(nodes, pods, 'nvidia.com/gpu', (p) => p.metadata?.namespace === 'llm');
  assert.deepEqual(inv, { allocatable: 8, heldByOthers: 0, governedOnCordoned: 2 });
});

// A degraded node being drained (make before break): its 2 pods of ml/llm still run there, the
// floor asks for 2 more, and 2 GPUs are free elsewhere. A higher-priority scaler wants them too.
const draining = (floors: Array<{ scaler: string; replicas: number }>, phase = 'awaiting-replacements'): V1Node => ({
  ...node('sick', 4, true),
  metadata: { name: 'sick', annotations: { 'surgeguard.io/remediation': JSON.stringify({ key: 'k', check: 'gpu-thermal', fault: 'degraded', phase, summary: 's', startedAtUnix: 1, floors }) } },
});

test('repairReservations: the floors recorded by repairs not drained yet, the higher of two', () => {
  const r = repairReservations([draining([{ scaler: 'ml/llm', replicas: 4 }]), { ...draining([{ scaler: 'ml/llm', replicas: 6 }, { scaler: 'ml/rank', replicas: 3 }]), metadata: { ...draining([]).metadata, name: 'sick2', annotations: { 'surgeguard.io/remediation': JSON.stringify({ key: 'k2', check: 'c', fault: 'degraded', phase: 'draining', summary: 's', startedAtUnix: 1, floors: [{ scaler: 'ml/llm', replicas: 6 }, { scaler: 'ml/rank', replicas: 3 }] }) } } }, draining([{ scaler: 'ml/old', replicas: 9 }], 'drained'), node('n1', 8)]);
  assert.deepEqual([...r].sort(), [['ml/llm', 6], ['ml/rank', 3]]);
});

test('applyGpuBudget with a drain in progress: the replacements are reserved before a higher priority grows', () => {
  const cluster = { nodes: [draining([{ scaler: 'ml/llm', replicas: 4 }]), node('n1', 2)], pods: [pod('llm-0', 'ml', { app: 'llm' }, 1, { node: 'sick' }), pod('llm-1', 'ml', { app: 'llm' }, 1, { node: 'sick' })] };
  const llm = (reserved?: number): BudgetMember => member(plan('ml/llm', 2, 4), 0, reserved ? { reservedReplicas: reserved } : {});
  const rank = member(plan('ml/rank', 0, 2), 10, { minReplicas: 0 });
  const without = applyGpuBudget([llm(), rank], cluster);
  assert.equal(without.plans.get('ml/llm')?.desiredReplicas, 2, 'without the reservation the higher priority takes the 2 free GPUs and the drain\'s replacements are cut');
  const { plans, reports } = applyGpuBudget([llm(repairReservations(cluster.nodes).get('ml/llm')), rank], cluster);
  assert.equal(plans.get('ml/llm'), undefined, 'the replacements are granted');
  assert.equal(plans.get('ml/rank')?.desiredReplicas, 0);
  assert.match(plans.get('ml/rank')?.message ?? '', /2 allocatable, 0 held by other pods, 2 held by their own pods on cordoned nodes, 4 for the scalers that share it;/);
  assert.equal(reports[0]?.granted, 4);
});
