// KEDA on a test control plane: the operator and its metrics adapter, built from the Go module
// proxy by scripts/build-keda.sh, run as processes on loopback with the kubeconfig of the control
// plane (no cluster networking: the adapter reaches the operator's gRPC metrics service on
// 127.0.0.1, and the API server's aggregation layer reaches the adapter through an ExternalName
// Service to localhost). The adapter registers v1beta1.external.metrics.k8s.io, of which a cluster
// has one: use a control plane of the test's own (startKube), not the shared one.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, ApiregistrationV1Api, CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { ensureNamespace, kubeConfigFrom, type KubeInfo } from './kube.ts';
import { freePort, REPO_ROOT, run, startSupervised, stopPid, waitUntil } from './process.ts';
import { runContext, runSubdir, type RunContext } from './run.ts';
import { applyManifests, parseManifests } from '../kube-apply.ts';

export interface Keda {
  readonly namespace: string;
  /** The operator's log, for a failure that needs it. */
  readonly operatorLog: string;
  readonly adapterLog: string;
  stop(): Promise<void>;
}

/** Builds (or reuses) KEDA; returns the bin folder (keda-operator, keda-adapter, crds/). */
export async function kedaBinDir(): Promise<string> {
  const out = await run('bash', [join(REPO_ROOT, 'scripts/build-keda.sh')]);
  return out.trim().split('\n').pop() ?? '';
}

export async function startKeda(kube: Pick<KubeInfo, 'kubeconfig'>, ctx: RunContext = runContext()): Promise<Keda> {
  const bin = await kedaBinDir();
  const kc: KubeConfig = kubeConfigFrom(kube.kubeconfig);
  const namespace = 'keda';
  const dir = runSubdir(ctx, `keda-${Date.now()}`);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), namespace);
  const crds = readdirSync(join(bin, 'crds')).filter((f) => f.endsWith('.yaml'));
  await applyManifests(kc, crds.flatMap((f) => parseManifests(readFileSync(join(bin, 'crds', f), 'utf8'))) as KubernetesObject[]);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await waitUntil('KEDA CRDs established', async () => {
    const c = await ext.readCustomResourceDefinition({ name: 'scaledobjects.keda.sh' });
    return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
  }, { timeoutMs: 30_000 });

  // One CA and one certificate for the operator's gRPC metrics service and the adapter, both ways
  // (KEDA's services authenticate each other with mTLS from the same cert dir).
  const certs = join(dir, 'certs');
  const ssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  execFileSync('mkdir', ['-p', certs]);
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=surgeguard-test-keda-ca', '-keyout', 'certs/ca.key', '-out', 'certs/ca.crt']);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=keda-operator', '-keyout', 'certs/tls.key', '-out', 'tls.csr']);
  writeFileSync(join(dir, 'san.ext'), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:keda-operator,DNS:keda-operator.${namespace}.svc,DNS:keda-operator.${namespace}.svc.cluster.local,DNS:keda-metrics-apiserver.${namespace}.svc\n`);
  ssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'certs/ca.crt', '-CAkey', 'certs/ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'certs/tls.crt']);

  const [metrics, probe, grpcPort, adapterPort, adapterMetrics] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  // Outside a pod KEDA cannot read its namespace from the ServiceAccount mount: name it.
  const env = { ...process.env, KUBECONFIG: kube.kubeconfig, POD_NAMESPACE: namespace, KEDA_CLUSTER_OBJECT_NAMESPACE: namespace, WATCH_NAMESPACE: '', KEDA_HTTP_DEFAULT_TIMEOUT: '3000' };
  const operatorLog = join(dir, 'keda-operator.log');
  const adapterLog = join(dir, 'keda-adapter.log');
  const operator = await startSupervised({
    cmd: join(bin, 'keda-operator'),
    args: [
      '--leader-elect=false', '--enable-cert-rotation=false', `--cert-dir=${certs}`, '--enable-webhook-patching=false', '--enable-apiservice-patching=false',
      `--metrics-bind-address=127.0.0.1:${metrics}`, `--health-probe-bind-address=127.0.0.1:${probe}`, `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
      '--zap-log-level=info', '--zap-encoder=console',
    ],
    log: operatorLog,
    pidFile: join(dir, 'keda-operator.pid'),
    ownerPid: ctx.ownerPid,
    env,
  });
  await waitUntil('keda-operator ready', async () => ((await fetch(`http://127.0.0.1:${probe}/readyz`).catch(() => undefined))?.ok ? true : undefined), { timeoutMs: 90_000, pid: operator.pid, log: operatorLog, intervalMs: 500 });
  const adapter = await startSupervised({
    cmd: join(bin, 'keda-adapter'),
    args: [
      `--secure-port=${adapterPort}`, '--bind-address=127.0.0.1', `--cert-dir=${certs}`, `--tls-cert-file=${certs}/tls.crt`, `--tls-private-key-file=${certs}/tls.key`,
      `--client-ca-file=${certs}/ca.crt`, `--metrics-service-address=127.0.0.1:${grpcPort}`, `--port=${adapterMetrics}`,
      `--lister-kubeconfig=${kube.kubeconfig}`, `--authentication-kubeconfig=${kube.kubeconfig}`, `--authorization-kubeconfig=${kube.kubeconfig}`,
      '--zap-log-level=info',
    ],
    log: adapterLog,
    pidFile: join(dir, 'keda-adapter.pid'),
    ownerPid: ctx.ownerPid,
    env,
  });
  // The aggregation layer reaches the adapter as keda-metrics-apiserver.keda.svc, resolved to localhost.
  await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace, body: { metadata: { name: 'keda-metrics-apiserver' }, spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port: adapterPort }] } } });
  await kc.makeApiClient(ApiregistrationV1Api).createAPIService({
    body: {
      metadata: { name: 'v1beta1.external.metrics.k8s.io' },
      spec: { group: 'external.metrics.k8s.io', version: 'v1beta1', service: { namespace, name: 'keda-metrics-apiserver', port: adapterPort }, caBundle: readFileSync(join(certs, 'ca.crt')).toString('base64'), groupPriorityMinimum: 100, versionPriority: 100 },
    },
  });
  await waitUntil('KEDA metrics APIService Available', async () => {
    const a = await kc.makeApiClient(ApiregistrationV1Api).readAPIService({ name: 'v1beta1.external.metrics.k8s.io' });
    return a.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ? true : undefined;
  }, { timeoutMs: 90_000, pid: adapter.pid, log: adapterLog, intervalMs: 500 });
  return {
    namespace,
    operatorLog,
    adapterLog,
    async stop() {
      await stopPid(adapter.pid, 10_000);
      await stopPid(operator.pid, 10_000);
    },
  };
}
