import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import { gpuXidCheck } from '../../../../controller/healing/checks/gpu-xid.ts';
import { gpuMissingCheck } from '../../../../controller/healing/checks/gpu-missing.ts';
import { podCrashLoopCheck } from '../../../../controller/healing/checks/pod-crashloop.ts';
import { podNeverReadyCheck } from '../../../../controller/healing/checks/pod-never-ready.ts';
import type { CheckContext, VectorQuery } from '../../../../controller/healing/types.ts';

const checks = healingConfigSchema.parse({}).checks;
type Series = Array<{ labels: Record<string, string>; value: number }>;
/** A fake Prometheus answering by the metric the expression starts with (pure logic only). */
function prom(answers: Record<string, Series>): VectorQuery {
  return async (expr) => answers[Object.keys(answers).find((k) => expr.includes(k)) ?? ''] ?? [];
}
const ctx = (query: VectorQuery, extra: Partial<CheckContext> = {}): CheckContext => ({ nowMs: 1_000_000, nodes: [], pods: [], query, ...extra });

const xid = (node: string, code: string, uuid = 'GPU-1'): Series[number] => ({ labels: { node, gpu: '0', uuid, xid: code }, value: 999 });

test('gpu-xid: node faults, application faults (through the GPU-to-pod allocation) and warnings by code', async () => {
  const q = prom({
    surgeguard_gpu_xid_last_timestamp_seconds: [xid('n1', '79'), xid('n2', '13', 'GPU-2'), xid('n3', '92'), xid('n4', '31', 'GPU-4'), xid('n5', '999')],
    surgeguard_gpu_recovery_action: [],
    surgeguard_gpu_allocation: [{ labels: { node: 'n2', uuid: 'GPU-2', namespace: 'ml', pod: 'ranker-0' }, value: 1 }],
  });
  const f = await gpuXidCheck({}, checks).run(ctx(q));
  const by = Object.fromEntries(f.map((x) => [`${x.target.kind}/${x.target.name}`, `${x.fault}/${x.severity}`]));
  assert.deepEqual(by, {
    'Node/n1': 'fatal/critical',
    'Pod/ranker-0': 'app/warning',
    'Node/n3': 'notice/warning',
    'Node/n4': 'notice/warning', // an app fault with no pod on the GPU: nothing to restart
    'Node/n5': 'notice/warning', // unknown code: told, not acted on
  });
});

test('gpu-xid: the driver\'s recovery action wins over the code', async () => {
  const q = prom({
    surgeguard_gpu_xid_last_timestamp_seconds: [xid('n1', '13'), xid('n2', '79', 'GPU-2')],
    surgeguard_gpu_recovery_action: [{ labels: { node: 'n1', uuid: 'GPU-1', action: 'reboot' }, value: 1 }, { labels: { node: 'n2', uuid: 'GPU-2', action: 'drain_and_reset' }, value: 1 }],
    surgeguard_gpu_allocation: [],
  });
  const f = await gpuXidCheck({}, checks).run(ctx(q));
  assert.deepEqual(f.map((x) => [x.target.name, x.fault, x.evidence.classifiedBy]), [['n1', 'fatal', 'gpu_recovery_action'], ['n2', 'degraded', 'gpu_recovery_action']]);
});

test('gpu-xid: without Prometheus the check reports nothing rather than failing', async () => {
  assert.deepEqual(await gpuXidCheck({}, checks).run({ nowMs: 0, nodes: [], pods: [] }), []);
});

const node = (name: string, gpus: number): V1Node => ({ metadata: { name }, status: { allocatable: { 'nvidia.com/gpu': String(gpus) } } });

test('gpu-missing: fewer GPUs than allocatable is fatal; a failing collector a warning; no agent data no finding', async () => {
  const q = prom({
    'count by (node) (surgeguard_gpu_info)': [{ labels: { node: 'a' }, value: 7 }, { labels: { node: 'b' }, value: 8 }],
    surgeguard_collector_success: [{ labels: { node: 'a' }, value: 1 }, { labels: { node: 'b' }, value: 1 }, { labels: { node: 'c' }, value: 0 }],
  });
  const f = await gpuMissingCheck().run(ctx(q, { nodes: [node('a', 8), node('b', 8), node('c', 8), node('d', 8), node('cpu', 0)] }));
  assert.deepEqual(f.map((x) => [x.target.name, x.fault, x.severity]), [['a', 'fatal', 'critical'], ['c', 'notice', 'warning']]);
});

const pod = (name: string, extra: Partial<V1Pod['status']>, createdSecondsAgo: number, owner = 'rs-1'): V1Pod => ({
  metadata: { name, namespace: 'ml', creationTimestamp: new Date(1_000_000 - createdSecondsAgo * 1000), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: owner, controller: true }] },
  spec: { nodeName: 'n1', containers: [] },
  status: { phase: 'Running', ...extra },
});
const readyAfter = (s: number, ago: number): Partial<V1Pod['status']> => ({ conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(1_000_000 - (ago - s) * 1000) }] });

test('pod-never-ready: twice the siblings\' startup time, learned per owner', async () => {
  const pods = [pod('ok-1', readyAfter(30, 500), 500), pod('ok-2', readyAfter(40, 400), 400), pod('slow', {}, 81), pod('young', {}, 79), pod('lonely', {}, 500, 'rs-2')];
  const f = await podNeverReadyCheck({}, checks).run(ctx(prom({}), { pods }));
  assert.deepEqual(f.map((x) => x.target.name), ['slow'], 'limit 2 × 40 s = 80 s; rs-2 has no sibling, so its limit is 600 s');
});

test('pod-crashloop: after the configured restarts, with the last exit', async () => {
  const crash = (restarts: number): Partial<V1Pod['status']> => ({ containerStatuses: [{ name: 'm', image: 'i', imageID: '', ready: false, restartCount: restarts, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] });
  const f = await podCrashLoopCheck({}, checks).run(ctx(prom({}), { pods: [pod('a', crash(2), 60), pod('b', crash(3), 60)] }));
  assert.equal(f.length, 1);
  assert.match(f[0]?.summary ?? '', /b is crash-looping \(3 restarts, last exit 137 OOMKilled\)/);
});
