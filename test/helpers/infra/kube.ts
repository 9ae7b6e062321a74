import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { KubeConfig, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { REPO_ROOT, freePort, run, startSupervised, stopPid, waitUntil } from './process.ts';
import { runContext, runSubdir, shared, type RunContext } from './run.ts';

/**
 * A real Kubernetes control plane for tests, started from binaries built by
 * scripts/build-k8s.sh: etcd, kube-apiserver (RBAC, audit log), kube-controller-manager,
 * kube-scheduler and kwok playing every node's kubelet.
 */
export interface KubeInfo {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** An admin kubeconfig (client certificate in system:masters). */
  readonly kubeconfig: string;
  readonly caFile: string;
  /** A static bearer token for the admin user. */
  readonly adminToken: string;
  /** JSON lines, one audit event per request (user, verb, resource, response code). */
  readonly auditLog: string;
  readonly dir: string;
  readonly binDir: string;
  /** PIDs by component; `pid` is the API server's. */
  readonly pid: number;
  readonly pids: Readonly<Record<string, number>>;
  /** Seconds from the first process start to a usable cluster (controllers and kwok up). */
  readonly startSeconds: number;
}

/**
 * Flags added to a component's own, by binary name: the scale benchmark raises the client QPS of
 * kube-controller-manager and kube-scheduler (20 and 50 by default), which would otherwise take
 * many minutes to create and bind tens of thousands of pods.
 */
export type ExtraArgs = Partial<Record<'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok', readonly string[]>>;

/**
 * kwok's own options (its KwokConfiguration, `options:`), written to a file passed with `-c`. The
 * scale benchmark lifts kwok's client rate limit and raises its workers per kind of stage so that
 * kwok is not what limits a 30,000-pod cluster; the tests keep kwok's defaults.
 */
export interface KwokOptions {
  /** Sends kwok's requests with no client-side rate limit (QPS and burst -1). */
  readonly disableQPSLimits?: boolean;
  readonly podPlayStageParallelism?: number;
  readonly nodePlayStageParallelism?: number;
  readonly nodeLeaseParallelism?: number;
  readonly podsOnNodeSyncParallelism?: number;
}

/** A control plane a test owns, whose API server it can stop and start again. */
export interface KubeHandle extends KubeInfo {
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
  stop(): Promise<void>;
}

/** The pod annotation kwok reads to delay a pod's readiness (a Go duration, "20s"). */
export const READY_DELAY_ANNOTATION = 'surgeguard.io/kwok-ready-delay';

/** The control plane shared by every test file of the run. */
export function sharedKube(): Promise<KubeInfo> {
  return shared('kube', async (ctx) => {
    const h = await startKube(ctx);
    const { stopApiserver: _a, startApiserver: _b, stop: _c, ...info } = h;
    return info;
  });
}

/** Builds (or reuses) the binaries; prints nothing, returns the bin folder. */
export async function kubeBinDir(): Promise<string> {
  const out = await run('bash', [join(REPO_ROOT, 'scripts/build-k8s.sh')]);
  return out.trim().split('\n').pop() ?? '';
}

/**
 * Starts a control plane of the test's own. API Priority and Fairness is off unless asked for: the
 * tests that do not study it should not queue behind its bootstrap configuration. `hpaSyncSeconds`
 * shortens the HPA's sync period (15 s) for a test that compresses recorded time.
 */
export async function startKube(ctx: RunContext = runContext(), opts: { priorityAndFairness?: boolean; hpaSyncSeconds?: number; extraArgs?: ExtraArgs; kwok?: KwokOptions } = {}): Promise<KubeHandle> {
  const t0 = Date.now();
  const binDir = await kubeBinDir();
  const dir = runSubdir(ctx, 'kube');
  const pki = join(dir, 'pki');
  await run('bash', [join(REPO_ROOT, 'scripts/infra/mkpki.sh'), pki]);
  const [etcdPort, etcdPeer, apiPort, kcmPort, schedPort, kwokPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const pids: Record<string, number> = {};
  const supervise = async (name: string, args: string[]): Promise<number> => {
    const { pid } = await startSupervised({ cmd: join(binDir, name), args: [...args, ...(opts.extraArgs?.[name as keyof ExtraArgs] ?? [])], log: join(dir, `${name}.log`), pidFile: join(dir, `${name}-${Date.now()}.pid`), ownerPid: ctx.ownerPid });
    pids[name] = pid;
    return pid;
  };

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcdPid = await supervise('etcd', [
    '--name=sg', `--data-dir=${dir}/etcd`, `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=sg=http://127.0.0.1:${etcdPeer}`, '--unsafe-no-fsync', '--log-level=warn',
  ]);
  await waitUntil('etcd', async () => ((await fetch(`${etcdUrl}/health`)).ok ? true : undefined), { timeoutMs: 30_000, pid: etcdPid, log: join(dir, 'etcd.log') });

  writeFileSync(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
  const auditLog = join(dir, 'audit.log');
  const server = `https://127.0.0.1:${apiPort}`;
  const apiArgs = [
    `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
    `--tls-cert-file=${pki}/apiserver.crt`, `--tls-private-key-file=${pki}/apiserver.key`, `--client-ca-file=${pki}/ca.crt`,
    `--token-auth-file=${pki}/tokens.csv`, '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${server}`, `--service-account-key-file=${pki}/sa.pub`, `--service-account-signing-key-file=${pki}/sa.key`,
    '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true', `--enable-priority-and-fairness=${opts.priorityAndFairness === true}`,
    `--audit-policy-file=${dir}/audit-policy.yaml`, `--audit-log-path=${auditLog}`, '--audit-log-format=json', '--audit-log-mode=blocking',
    `--cert-dir=${dir}/apiserver-certs`, '--v=0',
    // The aggregation layer, for external.metrics.k8s.io served by the controller (actuator Hpa).
    `--requestheader-client-ca-file=${pki}/front-proxy-ca.crt`, '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User', '--requestheader-group-headers=X-Remote-Group', '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki}/front-proxy-client.crt`, `--proxy-client-key-file=${pki}/front-proxy-client.key`,
  ];
  const apiLog = join(dir, 'kube-apiserver.log');
  const startApi = async (): Promise<void> => {
    const pid = await supervise('kube-apiserver', apiArgs);
    await waitUntil(`kube-apiserver at ${server}`, () => readyz(server, `${pki}/ca.crt`), { timeoutMs: 120_000, pid, log: apiLog, intervalMs: 500 });
  };
  await startApi();

  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, adminKubeconfig(server, pki));
  const k = ['--kubeconfig', kubeconfig, '--authentication-kubeconfig', kubeconfig, '--authorization-kubeconfig', kubeconfig, '--leader-elect=false', '--bind-address=127.0.0.1'];
  await supervise('kube-controller-manager', [...k, `--secure-port=${kcmPort}`, `--root-ca-file=${pki}/ca.crt`, `--service-account-private-key-file=${pki}/sa.key`, '--use-service-account-credentials=false', '--controllers=*,-nodeipam,-nodelifecycle', ...(opts.hpaSyncSeconds ? [`--horizontal-pod-autoscaler-sync-period=${opts.hpaSyncSeconds}s`] : [])]);
  await supervise('kube-scheduler', [...k, `--secure-port=${schedPort}`]);
  await supervise('kwok', [
    `--kubeconfig=${kubeconfig}`, '--manage-all-nodes=false', '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    '--node-lease-duration-seconds=40', '--cidr=10.244.0.0/16', '--node-ip=127.0.0.1', `--server-address=127.0.0.1:${kwokPort}`,
    ...stageFiles(binDir, dir).flatMap((f) => ['-c', f]),
    ...(opts.kwok ? ['-c', kwokConfigFile(dir, opts.kwok)] : []),
  ]);

  const kc = kubeConfigFrom(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  // The controller-manager is working once it has made the default ServiceAccount.
  await waitUntil('kube-controller-manager (default ServiceAccount)', async () => ((await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' })) ? true : undefined), {
    timeoutMs: 90_000,
    pid: pids['kube-controller-manager'],
    log: join(dir, 'kube-controller-manager.log'),
    intervalMs: 500,
  });

  const info = {
    server, kubeconfig, caFile: `${pki}/ca.crt`, adminToken: readFileSync(`${pki}/token`, 'utf8').trim(), auditLog, dir, binDir,
    get pid() { return pids['kube-apiserver'] ?? 0; },
    pids,
    startSeconds: (Date.now() - t0) / 1000,
  };
  return {
    ...info,
    pid: info.pid,
    async stopApiserver() {
      await stopPid(pids['kube-apiserver'] ?? 0, 20_000);
    },
    startApiserver: startApi,
    async stop() {
      for (const name of ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) await stopPid(pids[name] ?? 0, 20_000);
    },
  };
}

/** A KubeConfig for @kubernetes/client-node from a kubeconfig file. */
export function kubeConfigFrom(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

function readyz(server: string, ca: string): Promise<true | undefined> {
  return new Promise((resolve) => {
    const req = httpsRequest(`${server}/readyz`, { ca: readFileSync(ca), timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? true : undefined);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function adminKubeconfig(server: string, pki: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sg-test', cluster: { server, 'certificate-authority': `${pki}/ca.crt` } }],
    users: [{ name: 'admin', user: { 'client-certificate': `${pki}/admin.crt`, 'client-key': `${pki}/admin.key` } }],
    contexts: [{ name: 'sg-test', context: { cluster: 'sg-test', user: 'admin' } }],
    'current-context': 'sg-test',
  });
}

/** Writes kwok's KwokConfiguration with `options` (the keys of the binary's v1alpha1 schema) and returns its path. */
function kwokConfigFile(dir: string, options: KwokOptions): string {
  for (const [key, value] of Object.entries(options)) {
    const ok = key === 'disableQPSLimits' ? typeof value === 'boolean' : Number.isInteger(value) && (value as number) > 0;
    if (!ok) throw new Error(`kwok option ${key}: ${String(value)} is not ${key === 'disableQPSLimits' ? 'true or false' : 'a positive whole number'}`);
  }
  const lines = Object.entries(options).map(([key, value]) => `  ${key}: ${String(value)}`);
  const file = join(dir, 'kwok-config.yaml');
  writeFileSync(file, ['apiVersion: config.kwok.x-k8s.io/v1alpha1', 'kind: KwokConfiguration', 'options:', ...lines, ''].join('\n'));
  return file;
}

/**
 * kwok's own stages for nodes and pod deletion, plus a pod-ready stage that waits for the
 * delay a pod's READY_DELAY_ANNOTATION names, so a test can make a pod's startup time equal
 * what its scaler claims.
 */
function stageFiles(binDir: string, dir: string): string[] {
  const stages = join(binDir, '..', 'stage');
  const ready = readFileSync(join(stages, 'pod/fast/pod-ready.yaml'), 'utf8');
  const delayed = ready.replace(
    '\n  next:\n',
    `\n  delay:\n    durationMilliseconds: 0\n    durationFrom:\n      expressionFrom: '.metadata.annotations["${READY_DELAY_ANNOTATION}"]'\n  next:\n`,
  );
  if (delayed === ready) throw new Error(`kwok's pod-ready stage changed shape; cannot add the delay (${stages})`);
  mkdirSync(join(dir, 'stages'), { recursive: true });
  writeFileSync(join(dir, 'stages', 'pod-ready.yaml'), delayed);
  const files = [
    join(stages, 'node/fast/node-initialize.yaml'),
    join(stages, 'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml'),
    join(dir, 'stages', 'pod-ready.yaml'),
    join(stages, 'pod/fast/pod-complete.yaml'),
    join(stages, 'pod/fast/pod-delete.yaml'),
  ];
  for (const f of files) if (!existsSync(f)) throw new Error(`kwok stage file missing: ${f}`);
  return files;
}

// Metadata for every request: who, which verb on which resource, and the response code.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

export interface AuditEvent {
  verb: string;
  user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  requestURI: string;
  /** kube-controller-manager names its controller: `.../horizontal-pod-autoscaler`. */
  userAgent?: string;
  stage: string;
  requestReceivedTimestamp: string;
  /** When the stage was reached: for ResponseComplete, minus the received time, the request's time in the server (queueing included). */
  stageTimestamp: string;
}

/** The audit events written so far (ResponseComplete stage), optionally filtered. */
export function readAudit(info: Pick<KubeInfo, 'auditLog'>, filter: (e: AuditEvent) => boolean = () => true): AuditEvent[] {
  if (!existsSync(info.auditLog)) return [];
  const text = readFileSync(info.auditLog, 'utf8');
  // The API server may be writing a line right now: read only up to the last complete one.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && filter(e));
}

export interface FakeNodeOptions {
  gpus?: number;
  labels?: Record<string, string>;
}

/** Registers kwok-managed fake nodes with `nvidia.com/gpu` allocatable and waits until Ready. */
export async function addFakeNodes(kc: KubeConfig, names: readonly string[], opts: FakeNodeOptions = {}): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const resources = { cpu: '32', memory: '256Gi', pods: '110', 'nvidia.com/gpu': String(opts.gpus ?? 8) };
  for (const name of names) {
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'nvidia.com/gpu.present': 'true', ...opts.labels },
        },
        status: { allocatable: resources, capacity: resources },
      },
    });
  }
  for (const name of names) {
    await waitUntil(`kwok node ${name} Ready`, async () => {
      const n = await core.readNode({ name });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300 });
  }
}

/**
 * Creates a ServiceAccount bound to `clusterRole` and returns a kubeconfig that
 * authenticates with a token for it (TokenRequest API), as a pod of that account would.
 */
export async function serviceAccountKubeconfig(info: Pick<KubeInfo, 'kubeconfig' | 'server' | 'caFile' | 'dir'>, opts: { namespace: string; name: string; clusterRole?: string }): Promise<{ kubeconfig: string; token: string; username: string }> {
  const kc = kubeConfigFrom(info.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(core, opts.namespace);
  await core.createNamespacedServiceAccount({ namespace: opts.namespace, body: { metadata: { name: opts.name } } }).catch((err: { code?: number }) => {
    if (err.code !== 409) throw err;
  });
  if (opts.clusterRole) {
    await kc.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
      body: {
        metadata: { name: `${opts.namespace}-${opts.name}-${opts.clusterRole}`.slice(0, 250) },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: opts.clusterRole },
        subjects: [{ kind: 'ServiceAccount', name: opts.name, namespace: opts.namespace }],
      },
    });
  }
  const tr = await core.createNamespacedServiceAccountToken({ name: opts.name, namespace: opts.namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = tr.status?.token;
  if (!token) throw new Error('TokenRequest returned no token');
  const file = join(info.dir, `kubeconfig-${opts.namespace}-${opts.name}`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sg-test', cluster: { server: info.server, 'certificate-authority': info.caFile } }],
      users: [{ name: opts.name, user: { token } }],
      contexts: [{ name: 'sg-test', context: { cluster: 'sg-test', user: opts.name, namespace: opts.namespace } }],
      'current-context': 'sg-test',
    }),
  );
  return { kubeconfig: file, token, username: `system:serviceaccount:${opts.namespace}:${opts.name}` };
}

/** Creates a namespace if it does not exist. */
export async function ensureNamespace(core: CoreV1Api, name: string): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}
