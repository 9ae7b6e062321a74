import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { createLeadTimeLearner, leadTimeText, poolOf } from '../../../controller/capacity/lead-time.ts';

const T0 = Date.parse('2026-12-06T10:00:00Z');
const at = (s: number): Date => new Date(T0 + s * 1000);

function node(name: string, o: { created: number; ready?: number; labels?: Record<string, string>; gpus?: number }): V1Node {
  return {
    metadata: { name, creationTimestamp: at(o.created), labels: o.labels ?? { 'karpenter.sh/nodepool': 'gpu' } },
    status: { allocatable: { 'nvidia.com/gpu': String(o.gpus ?? 8) }, conditions: o.ready === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: at(o.ready) }] },
  } as V1Node;
}

function pod(name: string, o: { created: number; node?: string; gpus?: number; unschedulable?: boolean }): V1Pod {
  return {
    metadata: { name, namespace: 'ml', creationTimestamp: at(o.created) },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': String(o.gpus ?? 1) } } }] },
    status: { phase: o.node ? 'Running' : 'Pending', conditions: o.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] : [] },
  } as V1Pod;
}

const learner = (): ReturnType<typeof createLeadTimeLearner> => createLeadTimeLearner({ resources: () => ['nvidia.com/gpu'] });

test('a node created after a Pending GPU pod it runs: lead time from the pod to the node Ready', () => {
  const l = learner();
  l.observe([node('n1', { created: 30, ready: 200 })], [pod('a', { created: 0, node: 'n1' }), pod('b', { created: 20, node: 'n1' })], (T0 + 210_000));
  assert.deepEqual(l.pools(), [{ pool: 'gpu', p50Seconds: 200, p90Seconds: 200, samples: 1, resources: ['nvidia.com/gpu'] }]);
});

test('nodes older than their pods, nodes not Ready and pods without GPUs teach nothing', () => {
  const l = learner();
  const cpuPod = { ...pod('cpu', { created: 0, node: 'n2' }), spec: { nodeName: 'n2', containers: [{ name: 'c' }] } } as V1Pod;
  l.observe([node('n1', { created: 0, ready: 10 }), node('n2', { created: 30, ready: 90 }), node('n3', { created: 30 })], [pod('a', { created: 50, node: 'n1' }), cpuPod, pod('c', { created: 0, node: 'n3' })], T0 + 100_000);
  assert.deepEqual(l.pools(), []);
});

test('each node is learned once; p50 and p90 are lead times that were seen, per pool', () => {
  const l = learner();
  const nodes: V1Node[] = [];
  const pods: V1Pod[] = [];
  for (let i = 0; i < 10; i++) {
    nodes.push(node(`n${i}`, { created: i * 1000 + 10, ready: i * 1000 + 60 + i * 10 }));
    pods.push(pod(`p${i}`, { created: i * 1000, node: `n${i}` }));
  }
  nodes.push(node('t1', { created: 10, ready: 400, labels: { 'node.kubernetes.io/instance-type': 'p5.48xlarge' } }));
  pods.push(pod('q', { created: 0, node: 't1' }));
  l.observe(nodes, pods, T0 + 20_000_000);
  l.observe(nodes, pods, T0 + 20_015_000);
  const [gpu, p5] = l.pools();
  assert.deepEqual(gpu, { pool: 'gpu', p50Seconds: 100, p90Seconds: 140, samples: 10, resources: ['nvidia.com/gpu'] });
  assert.equal(p5?.pool, 'p5.48xlarge');
  assert.equal(p5?.p50Seconds, 400);
  assert.equal(leadTimeText([]), '');
  assert.match(leadTimeText(l.pools()), /new nodes take 100 s \(p90 140 s\) in pool gpu, 400 s \(p90 400 s\) in pool p5\.48xlarge from a Pending GPU pod to Ready/);
});

test('the pool comes from the most specific label there is', () => {
  assert.equal(poolOf(node('a', { created: 0, labels: { 'node.kubernetes.io/instance-type': 'g6', 'karpenter.sh/nodepool': 'llm' } })), 'llm');
  assert.equal(poolOf(node('a', { created: 0, labels: { 'eks.amazonaws.com/nodegroup': 'ng-1' } })), 'ng-1');
  assert.equal(poolOf(node('a', { created: 0, labels: {} })), 'unlabelled');
});

test('a Pending GPU pod with no node brought for it past twice the p90 is reported stalled; a node on its way clears it', () => {
  const l = learner();
  const learnedFrom = [node('n1', { created: 10, ready: 100 })];
  const ran = [pod('a', { created: 0, node: 'n1' })];
  const waiting = pod('w', { created: 1000, unschedulable: true });
  l.observe(learnedFrom, [...ran, waiting], T0 + 1150_000);
  assert.deepEqual(l.stalled(), [], '150 s is within twice the p90 (200 s)');
  l.observe(learnedFrom, [...ran, waiting], T0 + 1250_000);
  assert.deepEqual(l.stalled(), [{ resource: 'nvidia.com/gpu', pods: 1, oldestSeconds: 250, limitSeconds: 200 }]);
  l.observe([...learnedFrom, node('n2', { created: 1240 })], [...ran, waiting], T0 + 1250_000);
  assert.deepEqual(l.stalled(), [], 'a node created after the pod is on its way');
});

test('with no lead time learned, a stall is a wait past the default (20 minutes)', () => {
  const l = learner();
  l.observe([], [pod('w', { created: 0, unschedulable: true })], T0 + 1199_000);
  assert.deepEqual(l.stalled(), []);
  l.observe([], [pod('w', { created: 0, unschedulable: true })], T0 + 1201_000);
  assert.equal(l.stalled()[0]?.limitSeconds, 1200);
});

test('a node Ready for 10 minutes with no older pod is settled and not rescanned; one that leaves is forgotten', () => {
  const l = learner();
  const n = node('n1', { created: 0, ready: 10 });
  l.observe([n], [], T0 + 700_000);
  // A pod that claims to predate the node, seen only after the node settled, is not learned from.
  l.observe([n], [pod('late', { created: -5, node: 'n1' })], T0 + 710_000);
  assert.deepEqual(l.pools(), []);
  // The same name back as a new node (recreated) is learned from again.
  l.observe([], [], T0 + 720_000);
  l.observe([node('n1', { created: 800, ready: 900 })], [pod('b', { created: 700, node: 'n1' })], T0 + 910_000);
  assert.equal(l.pools()[0]?.p50Seconds, 200);
});
