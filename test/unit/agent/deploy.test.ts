// The manifests parse, name what the agent needs, and keep the unprivileged defaults. The
// server-side dry run against a real API server comes with the Kubernetes test helper.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { agentConfigSchema } from '../../../agent/config.ts';
import { loadConfig } from '../../../common/config.ts';

const DIR = new URL('../../../deploy/agent/', import.meta.url);
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const objects: Obj[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(new URL(f, DIR), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], f);
      return d.toJS() as Obj;
    }),
  );
const find = (kind: string): Obj => objects.find((o) => o.kind === kind) ?? assert.fail(`no ${kind}`);

test('every object has apiVersion, kind and name', () => {
  for (const o of objects) assert.ok(o.apiVersion && o.kind && o.metadata?.name, JSON.stringify(o).slice(0, 80));
  // No ClusterRole by default: the agent reads pods only with Kafka attribution on (test/unit/deploy).
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'DaemonSet', 'Service', 'ServiceAccount', 'ServiceMonitor']);
});

test('the DaemonSet: probes, resources, read-only root, non-root, NVIDIA runtime settings without a GPU request', () => {
  const ds = find('DaemonSet');
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  assert.deepEqual(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels && { 'app.kubernetes.io/name': 'surgeguard-agent' });
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.ok(c.resources.requests.cpu && c.resources.limits.memory);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.privileged, false);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.hostNetwork, true, 'node interfaces, not the pod\'s');
  assert.equal(JSON.stringify(c.resources).includes('nvidia.com/gpu'), false);
  const env = Object.fromEntries(c.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env.NVIDIA_VISIBLE_DEVICES, 'all');
  assert.deepEqual(env.NODE_NAME, { fieldRef: { fieldPath: 'spec.nodeName' } });
  assert.ok(c.volumeMounts.every((m: { readOnly?: boolean; mountPath: string }) => m.readOnly || m.mountPath === '/tmp'));
  assert.ok(c.args.includes('--kernel-log'));
});

test('Service and ServiceMonitor select the agent and name the same port', () => {
  const svc = find('Service');
  const sm = find('ServiceMonitor');
  assert.equal(svc.spec.ports[0].name, sm.spec.endpoints[0].port);
  assert.deepEqual(sm.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'surgeguard-agent' });
  assert.equal(sm.spec.endpoints[0].path, '/metrics');
});

test('the ConfigMap holds a valid agent config', () => {
  const cm = find('ConfigMap');
  const c = loadConfig(agentConfigSchema, { file: 'configmap agent.yaml', fileText: cm.data?.['agent.yaml'] ?? '' });
  assert.equal(c.collectors.xid.source, 'file');
});
