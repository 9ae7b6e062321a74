// The PredictiveScaler CRD on the real API server: it installs, its structural schema and CEL
// rules reject bad specs with the server's own message, and every shipped controller manifest
// passes a server-side dry run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../../controller/crd/predictive-scaler.ts';
import { REPO_ROOT, waitUntil } from '../../helpers/infra/process.ts';
import { ensureNamespace, kubeConfigFrom, sharedKube } from '../../helpers/infra/kube.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';
import { installCrd } from '../../helpers/controller.ts';

let kc: KubeConfig;
const ns = `crd-${process.pid}`;

before(async () => {
  kc = kubeConfigFrom((await sharedKube()).kubeconfig);
  await installCrd(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), ns);
});

const valid = {
  targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ranker' },
  signal: { kafka: { topic: 'posts', consumerGroup: 'ranker' } },
  requestsPerSecondPerReplica: 50,
  maxReplicas: 20,
};

async function create(name: string, spec: Record<string, unknown>): Promise<{ ok: true; obj: { spec: Record<string, unknown> } } | { ok: false; code?: number; message: string }> {
  try {
    const obj = (await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PredictiveScaler', metadata: { name }, spec } })) as { spec: Record<string, unknown> };
    return { ok: true, obj };
  } catch (err) {
    const e = err as { code?: number; body?: string };
    let message = String(e.body ?? err);
    try {
      message = (JSON.parse(message) as { message: string }).message;
    } catch {
      // Not a Status body: keep the raw text for the assertion message.
    }
    return { ok: false, code: e.code, message };
  }
}

test('a valid PredictiveScaler is accepted and defaulted by the API server', async () => {
  const r = await create('valid', valid);
  assert.ok(r.ok, !r.ok ? r.message : '');
  assert.equal(r.obj.spec.minReplicas, 1);
  assert.equal(r.obj.spec.startupSeconds, 120);
  assert.equal(r.obj.spec.mode, 'Active');
  assert.equal(r.obj.spec.quantile, 'p90');
});

const rejected: Array<{ name: string; spec: Record<string, unknown>; message: RegExp }> = [
  { name: 'no-target', spec: { ...valid, targetRef: undefined }, message: /spec\.targetRef: Required value/ },
  { name: 'negative-capacity', spec: { ...valid, requestsPerSecondPerReplica: -5 }, message: /spec\.requestsPerSecondPerReplica: Invalid value: -5: .*should be greater than 0/ },
  { name: 'min-above-max', spec: { ...valid, minReplicas: 30, maxReplicas: 20 }, message: /minReplicas must not exceed maxReplicas/ },
  { name: 'two-signals', spec: { ...valid, signal: { kafka: { topic: 't', consumerGroup: 'g' }, prometheus: { query: 'up' } } }, message: /exactly one of signal\.kafka or signal\.prometheus/ },
  { name: 'query-and-batch', spec: { ...valid, signal: { prometheus: { query: 'up', batch: { query: 'sum by (namespace, deployment) (x)' } } } }, message: /set exactly one of signal\.prometheus\.query or signal\.prometheus\.batch/ },
  { name: 'no-query-no-batch', spec: { ...valid, signal: { prometheus: {} } }, message: /set exactly one of signal\.prometheus\.query or signal\.prometheus\.batch/ },
  { name: 'batch-bad-label', spec: { ...valid, signal: { prometheus: { batch: { query: 'sum by (ns, app) (x)', nameLabel: 'app-name' } } } }, message: /spec\.signal\.prometheus\.batch\.nameLabel: Invalid value/ },
  { name: 'batch-same-labels', spec: { ...valid, signal: { prometheus: { batch: { query: 'sum by (app) (x)', namespaceLabel: 'app', nameLabel: 'app' } } } }, message: /batch\.nameLabel must differ from namespaceLabel/ },
  { name: 'bad-mode', spec: { ...valid, mode: 'Aggressive' }, message: /spec\.mode: Unsupported value: "Aggressive"/ },
  { name: 'guard-preset-and-query', spec: { ...valid, guards: [{ name: 'q', preset: 'vllm-waiting', query: 'sum(x)', target: 4 }] }, message: /set exactly one of preset or query/ },
  { name: 'guard-selector-without-preset', spec: { ...valid, guards: [{ name: 'q', query: 'sum(x)', selector: 'a="b"', target: 4 }] }, message: /selector filters a preset/ },
  { name: 'guard-bad-selector', spec: { ...valid, guards: [{ name: 'q', preset: 'vllm-waiting', selector: 'namespace=llm', target: 4 }] }, message: /spec\.guards\[0\]\.selector: Invalid value/ },
  { name: 'guard-unknown-preset', spec: { ...valid, guards: [{ name: 'q', preset: 'sglang-queue', target: 4 }] }, message: /spec\.guards\[0\]\.preset: Unsupported value: "sglang-queue"/ },
  { name: 'guard-zero-target', spec: { ...valid, guards: [{ name: 'q', preset: 'vllm-waiting', target: 0 }] }, message: /spec\.guards\[0\]\.target: Invalid value: 0/ },
  { name: 'gpu-zero-per-replica', spec: { ...valid, gpu: { perReplica: 0 } }, message: /spec\.gpu\.perReplica: Invalid value: 0/ },
  { name: 'gpu-priority-out-of-range', spec: { ...valid, gpu: { perReplica: 1, priority: 5000 } }, message: /spec\.gpu\.priority: Invalid value: 5000/ },
  { name: 'gpu-bad-resource', spec: { ...valid, gpu: { perReplica: 1, resource: 'nvidia com/gpu' } }, message: /spec\.gpu\.resource: Invalid value/ },
  { name: 'guards-same-name', spec: { ...valid, guards: [{ name: 'q', preset: 'vllm-waiting', target: 4 }, { name: 'q', preset: 'tgi-queue', target: 4 }] }, message: /spec\.guards\[1\]: Duplicate value/ },
];

test('a PredictiveScaler with guards is accepted as written', async () => {
  const guards = [
    { name: 'queue', preset: 'vllm-waiting', selector: 'namespace="llm",model_name=~"llama.*"', target: 4 },
    { name: 'kv', preset: 'vllm-kv-cache', target: 0.8 },
    { name: 'custom', query: 'sum(my_queue)', target: 10, type: 'Total' },
  ];
  const r = await create('guarded', { ...valid, guards });
  assert.ok(r.ok, !r.ok ? r.message : '');
  assert.deepEqual(r.obj.spec.guards, guards);
});

test('a batch prometheus signal is accepted and its label names defaulted by the API server', async () => {
  const r = await create('batch', { ...valid, signal: { prometheus: { batch: { query: 'sum by (namespace, deployment) (rate(requests_total[1m]))' } } } });
  assert.ok(r.ok, !r.ok ? r.message : '');
  assert.deepEqual((r.obj.spec.signal as { prometheus?: { batch?: unknown } }).prometheus?.batch, { query: 'sum by (namespace, deployment) (rate(requests_total[1m]))', namespaceLabel: 'namespace', nameLabel: 'deployment' });
});

for (const c of rejected) {
  test(`the API server rejects a PredictiveScaler with ${c.name}`, async () => {
    const r = await create(c.name, c.spec);
    assert.equal(r.ok, false, 'the API server accepted a bad spec');
    if (r.ok) return;
    assert.equal(r.code, 422);
    assert.match(r.message, c.message);
  });
}

test('every controller manifest in deploy/controller passes a server-side dry run', async () => {
  await ensureNamespace(kc.makeApiClient(CoreV1Api), 'surgeguard');
  for (const file of ['rbac.yaml', 'deployment.yaml', 'flowcontrol.yaml']) {
    const objects = parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller', file), 'utf8'));
    assert.ok(objects.length > 0);
    const answered = await applyManifests(kc, objects, { dryRun: true });
    assert.equal(answered.length, objects.length);
  }
  // The CRD file is the one the tests installed: it is established.
  const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
  await waitUntil('CRD established', async () => (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined), { timeoutMs: 5000 });
});
