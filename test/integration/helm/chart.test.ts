// The Helm chart (deploy/helm/surgeguard) is the one source of the Kubernetes manifests: `helm
// lint --strict` is clean, what it renders passes a server-side dry run on the real API server
// (with the Prometheus Operator's published CRDs installed, and with those objects switched
// off), values merge over the config defaults as documented, and the committed copies and
// rendered manifests are what scripts/render-crd.ts and scripts/render-manifests.ts write.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AuthorizationV1Api, CoreV1Api, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { agentConfigSchema } from '../../../agent/config.ts';
import { loadConfig } from '../../../common/config.ts';
import { controllerConfigSchema } from '../../../controller/config.ts';
import { CRD_FILES, renderCrd } from '../../../scripts/render-crd.ts';
import {
  CHART, COPY_DIRS, MANIFEST_DIRS, chartFileCopies, chartYamlWithAppVersion, drift, helmBinary, helmTemplate, manifestFiles,
} from '../../../scripts/render-manifests.ts';
import { installCrd, installMonitoringCrds } from '../../helpers/controller.ts';
import { ensureNamespace, kubeConfigFrom, sharedKube } from '../../helpers/infra/kube.ts';
import { REPO_ROOT, run, waitUntil } from '../../helpers/infra/process.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';

type Obj = KubernetesObject & { spec?: any; data?: Record<string, string>; subjects?: unknown; rules?: unknown }; // eslint-disable-line @typescript-eslint/no-explicit-any

const chartDir = join(REPO_ROOT, CHART);
let helm: string;
const scratch = mkdtempSync(join(tmpdir(), 'sg-helm-'));

before(async () => {
  // Built from the Go module proxy on a fresh machine (minutes), cached afterwards.
  helm = await helmBinary(REPO_ROOT);
});

// The control plane is started by the first test that needs it, so the lint and drift checks
// report on their own when it cannot start.
let cluster: Promise<KubeConfig> | undefined;
function kube(): Promise<KubeConfig> {
  cluster ??= (async () => {
    const kc = kubeConfigFrom((await sharedKube()).kubeconfig);
    await installMonitoringCrds(kc);
    await installCrd(kc);
    return kc;
  })();
  return cluster;
}

after(() => rmSync(scratch, { recursive: true, force: true }));

async function render(opts: { set?: string[]; release?: string; namespace?: string; chart?: string } = {}): Promise<Obj[]> {
  return parseManifests(await helmTemplate(helm, opts.chart ?? chartDir, opts)) as Obj[];
}

async function dryRun(objects: readonly Obj[], namespace: string): Promise<void> {
  const kc = await kube();
  await ensureNamespace(kc.makeApiClient(CoreV1Api), namespace);
  const answered = await applyManifests(kc, objects, { dryRun: true });
  assert.equal(answered.length, objects.length);
}

/** Kafka attribution on (scope node, the default): the one case where the agent reads the API server. */
const KAFKA_ON = ['agent.config.collectors.kafka.enabled=true,agent.config.collectors.kafka.brokers={kafka.kafka.svc:9092}'];

const kinds = (objects: readonly Obj[]): string[] => objects.map((o) => o.kind ?? '').sort();
const find = (objects: readonly Obj[], kind: string, name: string): Obj =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name) ?? assert.fail(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);

/** A copy of the chart with one rule file and one dashboard in files/, as the sync step leaves them. */
function chartWithMonitoringFiles(extraRules: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(scratch, 'chart-'));
  cpSync(chartDir, dir, { recursive: true });
  rmSync(join(dir, 'files'), { recursive: true, force: true });
  mkdirSync(join(dir, 'files/rules'), { recursive: true });
  mkdirSync(join(dir, 'files/dashboards'), { recursive: true });
  writeFileSync(join(dir, 'files/rules/sample.yaml'), SAMPLE_RULES);
  for (const [name, text] of Object.entries(extraRules)) writeFileSync(join(dir, 'files/rules', name), text);
  writeFileSync(join(dir, 'files/dashboards/sample_fleet.json'), SAMPLE_DASHBOARD);
  return dir;
}

const SAMPLE_RULES = `groups:
  - name: sample.alerts
    rules:
      - alert: SampleAgentDown
        expr: up{job="surgeguard-agent"} == 0
        for: 5m
        labels: { severity: warning }
        annotations:
          summary: Agent {{ $labels.instance }} is down
          description: "{{ $labels.instance }} has not been scraped for 5 minutes."
          runbook_url: https://example.invalid/runbooks/agent-down
  - name: sample.records
    rules:
      - record: sample:up:sum
        expr: sum(up)
`;
const SAMPLE_DASHBOARD = `${JSON.stringify({ uid: 'sg-sample', title: 'Sample {{ not a template }}', panels: [] }, null, 2)}\n`;

test('helm lint --strict is clean, with default values and with the monitoring objects off', async () => {
  for (const set of [[], ['serviceMonitor.enabled=false,prometheusRule.enabled=false,dashboards.enabled=false']]) {
    const out = await run(helm, ['lint', '--strict', chartDir, ...set.flatMap((s) => ['--set', s])]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/, out);
  }
  const withFiles = chartWithMonitoringFiles();
  const out = await run(helm, ['lint', '--strict', withFiles]);
  assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/, out);
});

/** The kinds the default render holds: the fixed objects plus what the rule and dashboard copies add. */
function expectedKinds(): string[] {
  const copies = [...chartFileCopies().keys()];
  // Two ClusterRoles (the controller, its healing loop; the agent's exists only with Kafka
  // attribution on), two Roles (the controller's Lease and the healing ledger), each with its
  // binding, the controller's NetworkPolicy, and its API Priority and Fairness objects (a priority
  // level, a FlowSchema for its requests and one for its Lease).
  const base = ['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'ConfigMap', 'DaemonSet', 'Deployment', 'FlowSchema', 'FlowSchema', 'NetworkPolicy', 'PriorityLevelConfiguration',
    'Role', 'Role', 'RoleBinding', 'RoleBinding', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount', 'ServiceMonitor', 'ServiceMonitor'];
  const count = (dir: string): number => copies.filter((f) => f.includes(`/files/${dir}/`)).length;
  return [...base, ...Array<string>(count('rules')).fill('PrometheusRule'), ...Array<string>(count('dashboards')).fill('ConfigMap')].sort();
}

test('the default render passes a server-side dry run: agent, controller, ServiceMonitors, rules, dashboards', async () => {
  const objects = await render();
  assert.deepEqual(kinds(objects), expectedKinds());
  const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'FlowSchema', 'PriorityLevelConfiguration']);
  for (const o of objects) assert.ok(clusterScoped.has(o.kind ?? '') || o.metadata?.namespace === 'surgeguard', `${o.kind}/${o.metadata?.name}`);
  assert.equal(find(objects, 'Deployment', 'surgeguard-controller').spec.replicas, 2);
  assert.equal(find(objects, 'Role', 'surgeguard-controller').metadata?.namespace, 'surgeguard', 'the Lease Role lives in the release namespace');
  // Each PrometheusRule's spec is its rule file, each dashboard ConfigMap holds its JSON byte for byte.
  for (const [file, text] of chartFileCopies()) {
    const base = file.split('/').pop() ?? '';
    const stem = base.replace(/\.(yaml|json)$/, '').toLowerCase().replaceAll('_', '-');
    if (file.includes('/files/rules/')) assert.deepEqual(find(objects, 'PrometheusRule', `surgeguard-rules-${stem}`).spec, parse(text), file);
    else assert.equal(find(objects, 'ConfigMap', `surgeguard-dashboard-${stem}`).data?.[base], text, file);
  }
  await dryRun(objects, 'surgeguard');
});

test('with serviceMonitor and prometheusRule off, another release in another namespace passes a dry run', async () => {
  const namespace = `sg-helm-${process.pid}`;
  const objects = await render({ release: 'blue', namespace, set: ['serviceMonitor.enabled=false,prometheusRule.enabled=false', ...KAFKA_ON] });
  assert.equal(objects.some((o) => o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule'), false);
  // Names carry the release, so two releases do not collide on cluster-scoped RBAC.
  const binding = find(objects, 'ClusterRoleBinding', 'blue-surgeguard-agent');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'blue-surgeguard-agent', namespace }]);
  const config = parse(find(objects, 'ConfigMap', 'blue-surgeguard-controller').data?.['controller.yaml'] ?? '') as { leaderElection: { namespace: string; leaseName: string } };
  assert.deepEqual(config.leaderElection, { namespace, leaseName: 'blue-surgeguard-controller' });
  await dryRun(objects, namespace);
});

test('each rule file becomes a PrometheusRule and each dashboard a ConfigMap for the Grafana sidecar; both pass a dry run', async () => {
  const chart = chartWithMonitoringFiles();
  const objects = await render({ chart });
  const rule = find(objects, 'PrometheusRule', 'surgeguard-rules-sample');
  assert.deepEqual(rule.spec, parse(SAMPLE_RULES), 'the groups as written, $labels untouched');
  assert.equal(objects.filter((o) => o.kind === 'PrometheusRule').length, 1);
  const dash = find(objects, 'ConfigMap', 'surgeguard-dashboard-sample-fleet');
  assert.equal(dash.metadata?.labels?.grafana_dashboard, '1');
  assert.equal(dash.data?.['sample_fleet.json'], SAMPLE_DASHBOARD, 'the JSON byte for byte');
  await dryRun(objects, 'surgeguard');
  const off = await render({ chart, set: ['prometheusRule.enabled=false,dashboards.enabled=false'] });
  assert.equal(off.some((o) => o.kind === 'PrometheusRule' || o.metadata?.labels?.grafana_dashboard), false);
});

test('a rule file with more than `groups` fails the render, naming the file', async () => {
  const chart = chartWithMonitoringFiles({ 'zz-bad.yaml': 'groups: []\nrule_files: [x.yaml]\n' });
  await assert.rejects(helmTemplate(helm, chart), /files\/rules\/zz-bad\.yaml: a rule file holds only `groups`, not groups, rule_files/);
});

test('values.*.config merge over the config defaults, and the result is a valid config', async () => {
  const objects = await render({
    set: [
      'controller.config.intervalSeconds=30,controller.config.kafka.brokers={kafka.kafka.svc:9092},controller.config.leaderElection.leaseDurationSeconds=20',
      'agent.config.collectors.kafka.enabled=true,agent.config.collectors.kafka.brokers={kafka.kafka.svc:9092}',
      'controller.paused=true',
    ],
  });
  const ctlMap = find(objects, 'ConfigMap', 'surgeguard-controller');
  assert.equal(ctlMap.metadata?.annotations?.['surgeguard.io/paused'], 'true');
  const ctl = controllerConfigSchema.parse(parse(ctlMap.data?.['controller.yaml'] ?? ''));
  assert.equal(ctl.intervalSeconds, 30);
  assert.deepEqual(ctl.kafka?.brokers, ['kafka.kafka.svc:9092']);
  // A nested key set by the user keeps its siblings' defaults.
  assert.deepEqual([ctl.leaderElection.leaseDurationSeconds, ctl.leaderElection.leaseName, ctl.leaderElection.namespace], [20, 'surgeguard-controller', 'surgeguard']);
  assert.equal(ctl.api.tokenFile, '/var/run/surgeguard/api/token');
  const agentText = find(objects, 'ConfigMap', 'surgeguard-agent').data?.['agent.yaml'] ?? '';
  const agent = loadConfig(agentConfigSchema, { file: 'agent.yaml', fileText: agentText });
  assert.equal(agent.collectors.kafka.enabled, true);
  assert.equal(agent.collectors.kafka.scope, 'node', 'the default next to the user\'s keys');
  assert.equal(agent.collectors.gpu.intervalSeconds, 5);
  // A config change changes the pod template, so the pods roll.
  const annotation = (objs: Obj[]): string => find(objs, 'DaemonSet', 'surgeguard-agent').spec.template.metadata.annotations['checksum/config'];
  assert.notEqual(annotation(objects), annotation(await render()));
});

const agentPodRole = (objects: readonly Obj[]): Obj[] =>
  objects.filter((o) => (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') && o.metadata?.name === 'surgeguard-agent');
const agentPod = (objects: readonly Obj[], name = 'surgeguard-agent'): any => find(objects, 'DaemonSet', name).spec.template.spec; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Asks the API server's authorizer whether `sa` may `verb` pods in every namespace. */
async function mayPods(kc: KubeConfig, sa: { namespace: string; name: string }, verb: string): Promise<boolean> {
  const review = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${sa.namespace}:${sa.name}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'],
        resourceAttributes: { verb, group: '', resource: 'pods' },
      },
    },
  });
  return review.status?.allowed === true;
}

test('the agent may read pods only with Kafka attribution on (scope node), and then only list and watch them, on the real API server', async () => {
  const off = await render();
  assert.deepEqual(agentPodRole(off), [], 'no ClusterRole or binding for the agent by default');
  assert.equal(agentPod(off).automountServiceAccountToken, false, 'and no ServiceAccount token in its pods');
  const cluster = await render({ set: [...KAFKA_ON, 'agent.config.collectors.kafka.scope=cluster'] });
  assert.deepEqual(agentPodRole(cluster), [], 'scope cluster reads no pods');

  const namespace = `sg-agent-rbac-${process.pid}`;
  const release = `rbac${process.pid}`;
  const on = await render({ release, namespace, set: KAFKA_ON });
  const name = `${release}-surgeguard-agent`;
  assert.deepEqual(find(on, 'ClusterRole', name).rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }], 'list and watch, no get');
  assert.deepEqual(find(on, 'ClusterRoleBinding', name).subjects, [{ kind: 'ServiceAccount', name, namespace }]);
  assert.equal(agentPod(on, name).automountServiceAccountToken, true);

  // Bound for real, the authorizer grants exactly that (its cache follows the bindings shortly).
  const kc = await kube();
  await ensureNamespace(kc.makeApiClient(CoreV1Api), namespace);
  const rbac = on.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind ?? '') && o.metadata?.name === name);
  assert.equal(rbac.length, 3);
  const sa = { namespace, name };
  assert.equal(await mayPods(kc, sa, 'list'), false, 'before the binding');
  await applyManifests(kc, rbac);
  try {
    await waitUntil('the agent role is effective', async () => ((await mayPods(kc, sa, 'list')) ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(await mayPods(kc, sa, 'watch'), true);
    for (const verb of ['get', 'create', 'delete', 'patch']) assert.equal(await mayPods(kc, sa, verb), false, verb);
  } finally {
    const api = KubernetesObjectApi.makeApiClient(kc);
    for (const o of rbac.filter((x) => x.kind !== 'ServiceAccount')) await api.delete(o as KubernetesObject & { metadata: { name: string } }).catch(() => undefined); // best effort: the cluster is the run's own
  }
});

test('the controller\'s NetworkPolicy admits only its port and lets out only DNS and the configured destinations', async () => {
  const objects = await render();
  const np = find(objects, 'NetworkPolicy', 'surgeguard-controller');
  const deployment = find(objects, 'Deployment', 'surgeguard-controller');
  assert.deepEqual(np.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels, 'it selects the controller\'s pods');
  assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  const containerPorts = deployment.spec.template.spec.containers.flatMap((c: { ports?: Array<{ containerPort: number }> }) => (c.ports ?? []).map((p) => p.containerPort));
  assert.deepEqual(np.spec.ingress, [{ ports: containerPorts.map((port: number) => ({ protocol: 'TCP', port })) }], 'the webhook, /metrics and probes port, from anywhere by default');
  const ports = (rules: Array<{ ports?: Array<{ protocol: string; port: number }> }>): string[] => rules.flatMap((r) => (r.ports ?? []).map((p) => `${p.protocol}/${p.port}`));
  for (const rule of np.spec.egress) assert.ok(rule.ports?.length, 'no egress rule without ports');
  assert.deepEqual(new Set(ports(np.spec.egress)), new Set(['UDP/53', 'TCP/53', 'TCP/443', 'TCP/6443', 'TCP/9090', 'TCP/9092']));

  const narrowed = await render({
    set: [
      'networkPolicy.controller.ingressFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring',
      'networkPolicy.controller.egress.apiServer.to[0].ipBlock.cidr=10.0.0.1/32,networkPolicy.controller.egress.apiServer.ports={6443}',
      'networkPolicy.controller.egress.kafka.ports=null,networkPolicy.controller.egress.extra[0].ports[0].port=4318',
    ],
  });
  const n = find(narrowed, 'NetworkPolicy', 'surgeguard-controller').spec;
  assert.deepEqual(n.ingress[0].from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  assert.ok(n.egress.some((r: { to?: unknown; ports: unknown }) => JSON.stringify(r) === JSON.stringify({ ports: [{ protocol: 'TCP', port: 6443 }], to: [{ ipBlock: { cidr: '10.0.0.1/32' } }] })), JSON.stringify(n.egress));
  assert.equal(ports(n.egress).includes('TCP/9092'), false, 'Kafka switched off');
  assert.ok(n.egress.some((r: { ports?: Array<{ port: number }> }) => r.ports?.some((p) => p.port === 4318)), 'the extra rule');
  await dryRun(narrowed.filter((o) => o.kind === 'NetworkPolicy'), 'surgeguard');
  assert.equal((await render({ set: ['networkPolicy.enabled=false'] })).some((o) => o.kind === 'NetworkPolicy'), false);
});

test('agent values: a bind address, a /metrics token Secret and the kernel log\'s path and groups reach the pod, its config and the ServiceMonitor', async () => {
  const objects = await render({
    set: [
      'agent.listenAddress=$(HOST_IP),agent.metricsTokenSecret=agent-metrics',
      'agent.kernelLog.path=/var/log/syslog-ng/kern.log,agent.kernelLog.supplementalGroups={4,101}',
    ],
  });
  const pod = agentPod(objects);
  const c = pod.containers[0];
  const arg = (flag: string): string => c.args[c.args.indexOf(flag) + 1];
  assert.equal(arg('--listen'), '$(HOST_IP):9402', 'the kubelet substitutes the node\'s IP');
  assert.ok(c.env.some((e: { name: string }) => e.name === 'HOST_IP'));
  assert.equal(arg('--kernel-log'), '/host/var/log/syslog-ng/kern.log');
  assert.equal(pod.volumes.find((v: { name: string }) => v.name === 'kernel-log').hostPath.path, '/var/log/syslog-ng');
  assert.deepEqual(pod.securityContext.supplementalGroups, [4, 101]);
  // The token: a Secret mounted read-only where the agent's config points.
  assert.deepEqual(pod.volumes.find((v: { name: string }) => v.name === 'metrics-token').secret, { secretName: 'agent-metrics', optional: false });
  const mount = c.volumeMounts.find((m: { name: string }) => m.name === 'metrics-token');
  assert.equal(mount.readOnly, true);
  const agentText = find(objects, 'ConfigMap', 'surgeguard-agent').data?.['agent.yaml'] ?? '';
  const config = loadConfig(agentConfigSchema, { file: 'agent.yaml', fileText: agentText }) as { metricsAuth?: { bearerTokenFile?: string } };
  assert.equal(config.metricsAuth?.bearerTokenFile, `${mount.mountPath}/token`, 'the agent reads the mounted key');
  const endpoint = find(objects, 'ServiceMonitor', 'surgeguard-agent').spec.endpoints[0];
  assert.deepEqual(endpoint.authorization, { type: 'Bearer', credentials: { name: 'agent-metrics', key: 'token' } }, 'Prometheus sends it');
  await dryRun(objects.filter((o) => o.metadata?.name === 'surgeguard-agent'), 'surgeguard');
  // Without groups the field goes; a port in the address is refused by the schema.
  assert.equal(agentPod(await render({ set: ['agent.kernelLog.supplementalGroups=null'] })).securityContext.supplementalGroups, undefined);
  await assert.rejects(render({ set: ['agent.listenAddress=0.0.0.0:9402'] }), /listenAddress/);
});

test('external metrics on: the APIService, its Service, the delegated-auth roles, the port, the certificate and the config reach the pod; a dry run passes', async () => {
  const on = 'controller.externalMetrics.enabled=true,controller.externalMetrics.tlsSecret=sg-em-tls';
  await assert.rejects(render({ set: ['controller.externalMetrics.enabled=true'] }), /tlsSecret/);
  await assert.rejects(render({ set: [on] }), /caBundle .* or certManagerInjectFrom/);
  const objects = await render({ set: [`${on},controller.externalMetrics.caBundle=QUJD`] });
  const api = find(objects, 'APIService', 'v1beta1.external.metrics.k8s.io');
  assert.deepEqual(api.spec.service, { namespace: 'surgeguard', name: 'surgeguard-controller-external-metrics', port: 443 });
  assert.equal(api.spec.caBundle, 'QUJD');
  assert.equal(find(objects, 'Service', 'surgeguard-controller-external-metrics').spec.ports[0].targetPort, 'ext-metrics');
  assert.equal(find(objects, 'Role', 'surgeguard-controller-external-metrics').metadata?.namespace, 'kube-system');
  const pod = find(objects, 'Deployment', 'surgeguard-controller').spec.template.spec;
  assert.ok(pod.containers[0].ports.some((p: { name: string; containerPort: number }) => p.name === 'ext-metrics' && p.containerPort === 6443));
  assert.equal(pod.volumes.find((v: { name: string }) => v.name === 'external-metrics-tls').secret.secretName, 'sg-em-tls');
  const config = controllerConfigSchema.parse(parse(find(objects, 'ConfigMap', 'surgeguard-controller').data?.['controller.yaml'] ?? ''));
  assert.equal(config.externalMetrics?.listen, '0.0.0.0:6443');
  assert.equal(config.externalMetrics?.tls.certFile, '/var/run/surgeguard/external-metrics/tls.crt');
  // The NetworkPolicy opens the port for the aggregation layer.
  assert.ok(find(objects, 'NetworkPolicy', 'surgeguard-controller').spec.ingress.some((r: { ports: Array<{ port: number }> }) => r.ports.some((p) => p.port === 6443)));
  // cert-manager fills caBundle instead: the annotation is set and the field left out.
  const injected = find(await render({ set: [`${on},controller.externalMetrics.certManagerInjectFrom=surgeguard/sg-em`] }), 'APIService', 'v1beta1.external.metrics.k8s.io');
  assert.equal(injected.metadata?.annotations?.['cert-manager.io/inject-ca-from'], 'surgeguard/sg-em');
  assert.equal(injected.spec.caBundle, undefined);
  await dryRun(objects, 'surgeguard');
});

test('KEDA scaler on: its Service, port, optional TLS and config reach the pod; the NetworkPolicy admits KEDA\'s namespace; a dry run passes', async () => {
  const objects = await render({ set: ['controller.keda.enabled=true,controller.keda.tlsSecret=sg-keda-tls'] });
  assert.equal(find(objects, 'Service', 'surgeguard-controller-keda').spec.ports[0].targetPort, 'keda-scaler');
  const pod = find(objects, 'Deployment', 'surgeguard-controller').spec.template.spec;
  assert.ok(pod.containers[0].ports.some((p: { name: string; containerPort: number }) => p.name === 'keda-scaler' && p.containerPort === 9444));
  assert.equal(pod.volumes.find((v: { name: string }) => v.name === 'keda-tls').secret.secretName, 'sg-keda-tls');
  const config = controllerConfigSchema.parse(parse(find(objects, 'ConfigMap', 'surgeguard-controller').data?.['controller.yaml'] ?? ''));
  assert.deepEqual(config.keda?.tls, { certFile: '/var/run/surgeguard/keda/tls.crt', keyFile: '/var/run/surgeguard/keda/tls.key', clientCAFile: '/var/run/surgeguard/keda/ca.crt' });
  const rule = find(objects, 'NetworkPolicy', 'surgeguard-controller').spec.ingress.find((r: { ports: Array<{ port: number }> }) => r.ports.some((p) => p.port === 9444));
  assert.deepEqual(rule.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } }]);
  // Without a Secret: plaintext, no volume.
  const plain = await render({ set: ['controller.keda.enabled=true'] });
  assert.equal(controllerConfigSchema.parse(parse(find(plain, 'ConfigMap', 'surgeguard-controller').data?.['controller.yaml'] ?? '')).keda?.tls, undefined);
  await dryRun(objects, 'surgeguard');
});

test('values the schema rejects fail the render', async () => {
  await assert.rejects(render({ set: ['serviceMonitor.enabled=maybe'] }), /serviceMonitor\.enabled|enabled/);
  await assert.rejects(render({ set: ['controller.replica=3'] }), /replica/);
});

test('the chart\'s copies of rules/ and dashboards/, its CRD and its appVersion are current', () => {
  assert.deepEqual(drift(REPO_ROOT, chartFileCopies(), COPY_DIRS), [], 'run: node scripts/render-manifests.ts');
  for (const f of CRD_FILES) assert.equal(readFileSync(join(REPO_ROOT, f), 'utf8'), renderCrd(), `${f}: run node scripts/render-crd.ts`);
  assert.equal(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'), chartYamlWithAppVersion(), 'Chart.yaml appVersion is not package.json\'s version: run node scripts/render-manifests.ts');
});

test('the committed manifests in deploy/ are what the chart renders', async () => {
  const files = manifestFiles(await helmTemplate(helm, chartDir));
  assert.ok(files.has('deploy/agent/daemonset.yaml') && files.has('deploy/controller/rbac.yaml'));
  for (const text of files.values()) assert.match(text, /^# Rendered from deploy\/helm\/surgeguard by scripts\/render-manifests\.ts; edit the chart/);
  assert.deepEqual(drift(REPO_ROOT, files, MANIFEST_DIRS), [], 'run: node scripts/render-manifests.ts');
});
