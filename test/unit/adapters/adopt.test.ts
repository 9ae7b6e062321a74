// `surgeguard adopt` (pure part, and the command in-process): an existing HPA in, the
// PredictiveScaler and the changed HPA out. The API server accepts both: hpa-actuator.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { adoptHpa } from '../../../controller/adapters/adopt.ts';
import { adoptCommand } from '../../../cli/commands/adopt.ts';
import { main } from '../../../cli/main.ts';

const HPA = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'ranker', namespace: 'ml', resourceVersion: '9', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', team: 'feed' } },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ranker' },
    minReplicas: 2,
    maxReplicas: 40,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
    behavior: { scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: 600 } },
  },
  status: { currentReplicas: 3 },
};
const opts = { signal: { kafka: { topic: 'posts', consumerGroup: 'ranker' } }, requestsPerSecondPerReplica: 25, tolerance: true } as const;

test('adopt: the scaler takes the HPA\'s target and bounds; the HPA keeps its metrics and gains ours first', () => {
  const a = adoptHpa(HPA, opts);
  const s = a.scaler as { metadata: unknown; spec: Record<string, unknown> };
  assert.deepEqual(s.metadata, { name: 'ranker', namespace: 'ml' });
  assert.deepEqual(s.spec.targetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ranker' });
  assert.equal(s.spec.actuator, 'Hpa');
  assert.deepEqual([s.spec.minReplicas, s.spec.maxReplicas], [2, 40]);
  const h = a.hpa as { metadata: { annotations?: Record<string, string>; resourceVersion?: string }; spec: { metrics: Array<{ type: string; external?: { metric: { name: string; selector: unknown } } }>; behavior: Record<string, Record<string, unknown>> }; status?: unknown };
  assert.equal(h.spec.metrics.length, 2);
  assert.equal(h.spec.metrics[0]?.external?.metric.name, 'surgeguard_desired_replicas');
  assert.deepEqual(h.spec.metrics[0]?.external?.metric.selector, { matchLabels: { scaler: 'ranker' } });
  assert.equal(h.spec.metrics[1]?.type, 'Resource');
  assert.deepEqual(h.spec.behavior.scaleDown, { stabilizationWindowSeconds: 0, tolerance: '0' });
  assert.deepEqual(h.spec.behavior.scaleUp, { stabilizationWindowSeconds: 0, tolerance: '0' });
  // What the server owns is dropped; the person's annotations stay.
  assert.equal(h.status, undefined);
  assert.equal(h.metadata.resourceVersion, undefined);
  assert.deepEqual(h.metadata.annotations, { team: 'feed' });
  assert.ok(a.notes.some((n) => /was 600/.test(n)));
  // The input is not changed.
  assert.equal(HPA.spec.behavior.scaleDown.stabilizationWindowSeconds, 600);
});

test('adopt: twice is the same as once; --no-tolerance leaves the tolerance alone', () => {
  const once = adoptHpa(HPA, opts).hpa;
  assert.deepEqual(adoptHpa(once, opts).hpa, once);
  const old = adoptHpa(HPA, { ...opts, tolerance: false }).hpa as { spec: { behavior: { scaleUp: Record<string, unknown> } } };
  assert.equal(old.spec.behavior.scaleUp.tolerance, undefined);
});

test('adopt: what is wrong with the input is named', () => {
  const bad: Array<[unknown, RegExp]> = [
    [[], /not a Kubernetes object/],
    [{ kind: 'ScaledObject', apiVersion: 'keda.sh/v1beta9' }, /apiVersion: expected keda.sh\/v1alpha1/],
    [{ kind: 'Pod' }, /kind: expected HorizontalPodAutoscaler or ScaledObject, got "Pod"/],
    [{ ...HPA, apiVersion: 'autoscaling/v1' }, /apiVersion: expected autoscaling\/v2, got "autoscaling\/v1"/],
    [{ ...HPA, spec: { ...HPA.spec, scaleTargetRef: { kind: 'Deployment' } } }, /spec.scaleTargetRef: needs kind and name/],
    [{ ...HPA, spec: { ...HPA.spec, maxReplicas: 0 } }, /spec.maxReplicas: expected an integer >= 1, got 0/],
    [{ ...HPA, metadata: { name: 'Bad_Name' } }, /metadata.name: expected a Kubernetes name/],
  ];
  for (const [input, msg] of bad) assert.throws(() => adoptHpa(input, opts), msg);
});

test('surgeguard adopt: YAML out on stdout, notes on stderr; a file that is not one HPA is refused naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-adopt-'));
  writeFileSync(join(dir, 'hpa.json'), JSON.stringify(HPA));
  writeFileSync(join(dir, 'two.yaml'), 'kind: A\n---\nkind: B\n');
  const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const sink = (add: (s: string) => void): Writable => new Writable({ write: (c: Buffer, _e, cb) => (add(c.toString()), cb()) });
    const code = await main(['adopt', ...args], { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), env: {}, cwd: dir, stopSignal: new AbortController().signal }, [adoptCommand]);
    return { code, out, err };
  };
  const ok = await run(['--hpa', 'hpa.json', '--requests-per-replica', '25', '--prometheus-query', 'sum(rate(x[1m]))']);
  assert.equal(ok.code, 0, ok.err);
  const docs = parseAllDocuments(ok.out) as unknown as Array<{ toJS(): { kind: string } }>;
  assert.deepEqual(docs.map((d) => d.toJS().kind), ['PredictiveScaler', 'HorizontalPodAutoscaler']);
  assert.match(ok.err, /--capacity 1500 --actuator hpa/);
  const two = await run(['--hpa', 'two.yaml', '--requests-per-replica', '1', '--kafka-topic', 't', '--consumer-group', 'g']);
  assert.equal(two.code, 2);
  assert.match(two.err, /two.yaml: expected one HorizontalPodAutoscaler or ScaledObject, found 2 documents/);
  const noSignal = await run(['--hpa', 'hpa.json', '--requests-per-replica', '1']);
  assert.equal(noSignal.code, 2);
  assert.match(noSignal.err, /name the demand signal/);
  const halfKafka = await run(['--hpa', 'hpa.json', '--requests-per-replica', '1', '--kafka-topic', 't']);
  assert.match(halfKafka.err, /needs both --kafka-topic and --consumer-group/);
});

const SO = {
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'ranker', namespace: 'ml' },
  spec: { scaleTargetRef: { name: 'ranker' }, minReplicaCount: 0, maxReplicaCount: 30, triggers: [{ type: 'kafka', metadata: { topic: 'posts', lagThreshold: '50' } }] },
};

test('adopt a ScaledObject: actuator Keda, SurgeGuard\'s external trigger first, the old trigger kept, the HPA\'s behaviour set', () => {
  const a = adoptHpa(SO, { ...opts, scalerAddress: 'sg.surgeguard.svc:9444' });
  const s = a.scaler as { spec: Record<string, unknown> };
  assert.equal(s.spec.actuator, 'Keda');
  assert.deepEqual(s.spec.targetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ranker' });
  assert.deepEqual([s.spec.minReplicas, s.spec.maxReplicas], [0, 30]);
  const so = a.hpa as { kind: string; spec: { triggers: Array<{ type: string; metadata: Record<string, string> }>; advanced: { horizontalPodAutoscalerConfig: { behavior: Record<string, Record<string, unknown>> } } } };
  assert.equal(so.kind, 'ScaledObject');
  assert.deepEqual(so.spec.triggers[0], { type: 'external', metadata: { scalerAddress: 'sg.surgeguard.svc:9444', scaler: 'ranker' } });
  assert.equal(so.spec.triggers[1]?.type, 'kafka');
  assert.deepEqual(so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown, { tolerance: '0', stabilizationWindowSeconds: 0 });
  // Twice is once.
  assert.deepEqual(adoptHpa(a.hpa, opts).hpa, a.hpa);
  assert.throws(() => adoptHpa({ ...SO, spec: { ...SO.spec, maxReplicaCount: 0 } }, opts), /spec.maxReplicaCount: expected an integer >= max\(1, minReplicaCount\), got 0/);
});
