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
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
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
import { REPO_ROOT, run } from '../../helpers/infra/process.ts';
import { applyManifests, parseManifests } from '../../helpers/kube-apply.ts';

type Obj = KubernetesObject & { spec?: any; data?: Record<string, string>; subjects?: unknown }; // eslint-disable-line @typescript-eslint/no-explicit-any

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
  // Three ClusterRoles (agent, controller, the controller's healing loop), two Roles (the
  // controller's Lease and the healing ledger), each with its binding.
  const base = ['ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'ConfigMap', 'DaemonSet', 'Deployment',
    'Role', 'Role', 'RoleBinding', 'RoleBinding', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount', 'ServiceMonitor', 'ServiceMonitor'];
  const count = (dir: string): number => copies.filter((f) => f.includes(`/files/${dir}/`)).length;
  return [...base, ...Array<string>(count('rules')).fill('PrometheusRule'), ...Array<string>(count('dashboards')).fill('ConfigMap')].sort();
}

test('the default render passes a server-side dry run: agent, controller, ServiceMonitors, rules, dashboards', async () => {
  const objects = await render();
  assert.deepEqual(kinds(objects), expectedKinds());
  for (const o of objects) assert.ok(o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding' || o.metadata?.namespace === 'surgeguard', `${o.kind}/${o.metadata?.name}`);
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
  const objects = await render({ release: 'blue', namespace, set: ['serviceMonitor.enabled=false,prometheusRule.enabled=false'] });
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
