// Karpenter on a test control plane: the real Karpenter controllers with its kwok cloud provider
// (scripts/build-karpenter.sh builds it from the Go module proxy), run as a process on loopback with
// the control plane's admin kubeconfig. Its cloud provider creates a Node object for each NodeClaim
// after the KWOKNodeClass's nodeRegistrationDelay (the "instance boot" time), annotated
// kwok.x-k8s.io/node=fake, which the control plane's kwok (startKube) then plays the kubelet of and
// marks Ready; Karpenter registers it and lifts its karpenter.sh/unregistered taint. So a Pending pod
// gets a node about nodeRegistrationDelay plus Karpenter's batching window (1 s idle) later.
// Karpenter watches every node and pod of the cluster: use a control plane of the test's own.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { kubeConfigFrom, type KubeInfo } from './kube.ts';
import { freePort, REPO_ROOT, run, startSupervised, stopPid, waitUntil } from './process.ts';
import { runContext, runSubdir, type RunContext } from './run.ts';
import { applyManifests, parseManifests } from '../kube-apply.ts';

/** One instance type of the kwok provider: what a node of this type brings. */
export interface KwokInstanceType {
  readonly name: string;
  readonly cpu: string;
  readonly memory: string;
  /** Extended resources, e.g. { 'nvidia.com/gpu': '4' }. */
  readonly extended?: Readonly<Record<string, string>>;
  /** On-demand price per hour (Karpenter launches the cheapest type that fits). */
  readonly price: number;
}

/** A NodePool with its own KWOKNodeClass. */
export interface KarpenterPool {
  readonly name: string;
  /** Labels every node of the pool carries (the pods' nodeSelector). */
  readonly labels: Readonly<Record<string, string>>;
  readonly instanceTypes: readonly string[];
  /** Seconds from a NodeClaim's launch to its Node object (then kwok makes it Ready at once). */
  readonly registrationDelaySeconds: number;
  /** The pool's limits, e.g. { 'nvidia.com/gpu': '8' }: Karpenter launches nothing past them. */
  readonly limits: Readonly<Record<string, string>>;
}

export interface Karpenter {
  readonly log: string;
  readonly pid: number;
  /** Creates a KWOKNodeClass and a NodePool (empty nodes are never consolidated: the test counts them). */
  addPool(pool: KarpenterPool): Promise<void>;
  stop(): Promise<void>;
}

/** Builds (or reuses) Karpenter's kwok provider; returns the bin folder (karpenter-kwok, crds/). */
export async function karpenterBinDir(): Promise<string> {
  const out = await run('bash', [join(REPO_ROOT, 'scripts/build-karpenter.sh')]);
  return out.trim().split('\n').pop() ?? '';
}

/** The GPU instance types the tests use: one with 4 GPUs, one with 8. */
export const GPU_INSTANCE_TYPES: readonly KwokInstanceType[] = [
  { name: 'gpu-4x', cpu: '32', memory: '256Gi', extended: { 'nvidia.com/gpu': '4' }, price: 12 },
  { name: 'gpu-8x', cpu: '64', memory: '512Gi', extended: { 'nvidia.com/gpu': '8' }, price: 24 },
];

/**
 * Starts Karpenter. `featureGates` is its --feature-gates value (FEATURE_GATES), e.g. `NodeRepair=true`
 * for node repair, which acts on the node conditions the kwok provider's RepairPolicies list.
 */
export async function startKarpenter(kube: Pick<KubeInfo, 'kubeconfig'>, opts: { instanceTypes?: readonly KwokInstanceType[]; featureGates?: string } = {}, ctx: RunContext = runContext()): Promise<Karpenter> {
  const bin = await karpenterBinDir();
  const kc: KubeConfig = kubeConfigFrom(kube.kubeconfig);
  const dir = runSubdir(ctx, `karpenter-${Date.now()}`);
  await installCrds(kc, join(bin, 'crds'));

  const typesFile = join(dir, 'instance-types.json');
  writeFileSync(typesFile, JSON.stringify(instanceTypesJson(opts.instanceTypes ?? GPU_INSTANCE_TYPES), null, 2));
  const [metricsPort, probePort] = await Promise.all([freePort(), freePort()]);
  const log = join(dir, 'karpenter.log');
  const { pid } = await startSupervised({
    cmd: join(bin, 'karpenter-kwok'),
    args: [],
    log,
    pidFile: join(dir, 'karpenter.pid'),
    ownerPid: ctx.ownerPid,
    env: {
      ...process.env,
      KUBECONFIG: kube.kubeconfig,
      // One replica outside a pod: no Lease to win, and no ServiceAccount namespace to read.
      DISABLE_LEADER_ELECTION: 'true',
      SYSTEM_NAMESPACE: 'kube-system',
      INSTANCE_TYPES_FILE_PATH: typesFile,
      METRICS_PORT: String(metricsPort),
      HEALTH_PROBE_PORT: String(probePort),
      LOG_LEVEL: 'info',
      ...(opts.featureGates ? { FEATURE_GATES: opts.featureGates } : {}),
    },
  });
  await waitUntil('karpenter ready', async () => ((await fetch(`http://127.0.0.1:${probePort}/readyz`).catch(() => undefined))?.ok ? true : undefined), { timeoutMs: 120_000, pid, log, intervalMs: 500 });

  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    log,
    pid,
    async addPool(pool) {
      await custom.createClusterCustomObject({
        group: 'karpenter.kwok.sh', version: 'v1alpha1', plural: 'kwoknodeclasses',
        body: { apiVersion: 'karpenter.kwok.sh/v1alpha1', kind: 'KWOKNodeClass', metadata: { name: pool.name }, spec: { nodeRegistrationDelay: `${pool.registrationDelaySeconds}s` } },
      });
      await custom.createClusterCustomObject({ group: 'karpenter.sh', version: 'v1', plural: 'nodepools', body: nodePool(pool) });
      await waitUntil(`NodePool ${pool.name} Ready`, async () => {
        const np = (await custom.getClusterCustomObject({ group: 'karpenter.sh', version: 'v1', plural: 'nodepools', name: pool.name })) as { status?: { conditions?: Array<{ type: string; status: string }> } };
        return np.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
      }, { timeoutMs: 60_000, pid, log, intervalMs: 500 });
    },
    async stop() {
      await stopPid(pid, 20_000);
    },
  };
}

async function installCrds(kc: KubeConfig, crdDir: string): Promise<void> {
  const files = readdirSync(crdDir).filter((f) => f.endsWith('.yaml'));
  const objects = files.flatMap((f) => parseManifests(readFileSync(join(crdDir, f), 'utf8'))) as KubernetesObject[];
  await applyManifests(kc, objects);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const name of objects.map((o) => o.metadata?.name ?? '')) {
    await waitUntil(`CRD ${name} established`, async () => {
      const c = await ext.readCustomResourceDefinition({ name });
      return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
    }, { timeoutMs: 30_000 });
  }
}

/** The kwok provider's instance-types file: one on-demand offering in one zone per type. */
export function instanceTypesJson(types: readonly KwokInstanceType[]): unknown[] {
  return types.map((t) => ({
    name: t.name,
    offerings: [{
      Price: t.price,
      Available: true,
      Requirements: [
        { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] },
        { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['test-zone-a'] },
      ],
    }],
    architecture: 'amd64',
    operatingSystems: ['linux'],
    resources: { cpu: t.cpu, memory: t.memory, pods: '110', ...t.extended },
  }));
}

function nodePool(pool: KarpenterPool): KubernetesObject & Record<string, unknown> {
  return {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: pool.name },
    spec: {
      template: {
        metadata: { labels: { ...pool.labels } },
        spec: {
          requirements: [
            { key: 'node.kubernetes.io/instance-type', operator: 'In', values: [...pool.instanceTypes] },
            { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] },
          ],
          nodeClassRef: { group: 'karpenter.kwok.sh', kind: 'KWOKNodeClass', name: pool.name },
          expireAfter: 'Never',
        },
      },
      limits: { ...pool.limits },
      // Nodes stay once made: a test that counts nodes and Pending time wants no consolidation churn.
      disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: 'Never' },
    },
  };
}
