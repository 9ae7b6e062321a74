// The scale benchmark's cluster (bench/scale.ts): kwok GPU nodes, one Deployment and one
// PredictiveScaler per scaler, and filler pods bound straight to nodes so that the cluster holds
// about `podsPerNode` pods per node as a busy GPU cluster does (daemons, sidecars, batch jobs).
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { GROUP, PLURAL, VERSION } from '../controller/crd/predictive-scaler.ts';
import { READY_DELAY_ANNOTATION, ensureNamespace } from '../test/helpers/infra/kube.ts';

/** Requests per second one replica serves, as the scalers' spec says. */
export const CAPACITY_PER_REPLICA = 10;
/** The label every benchmark scaler has; `TIER_LABEL=small` marks the first `small` of them. */
export const BENCH_LABEL = 'sg-bench';
export const TIER_LABEL = 'sg-bench-tier';
const NAMESPACES = 50;
const FILLER_NS = 'sgb-filler';

export interface BenchScaler {
  index: number;
  namespace: string;
  deployment: string;
  scaler: string;
}

/** The i-th scaler's names; scalers are spread over 50 namespaces. */
export function benchScaler(index: number): BenchScaler {
  return { index, namespace: `sgb-${index % NAMESPACES}`, deployment: `d${index}`, scaler: `s${index}` };
}

/** The PromQL demand query of a scaler: one series per scaler, summed so that it returns one value. */
export function demandQuery(s: BenchScaler): string {
  return `sum(sg_bench_demand_rps{namespace="${s.namespace}",deployment="${s.deployment}"})`;
}

/** The one query every scaler shares in the batch form (issue 21): every scaler's series at once. */
export const BATCH_DEMAND_QUERY = 'sum by (namespace, deployment) (sg_bench_demand_rps)';

/** How the scalers' demand signal is written: a query per scaler, or the shared batch query. */
export type SignalForm = 'single' | 'batch';

/** A scaler's `spec.signal.prometheus` in the given form; `null` removes the other form in a merge patch. */
export function demandSignal(s: BenchScaler, form: SignalForm): Record<string, unknown> {
  return form === 'batch' ? { query: null, batch: { query: BATCH_DEMAND_QUERY, namespaceLabel: 'namespace', nameLabel: 'deployment' } } : { query: demandQuery(s), batch: null };
}

/** Rewrites the first `count` scalers' demand signal into `form` (a merge patch each). */
export async function setSignalForm(kc: KubeConfig, count: number, form: SignalForm): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  await forEachLimit(Array.from({ length: count }, (_, i) => benchScaler(i)), 24, async (s) => {
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: s.namespace, plural: PLURAL, name: s.scaler, body: { spec: { signal: { prometheus: demandSignal(s, form) } } } }, merge);
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function nodeName(i: number): string {
  return `gpu-${String(i).padStart(5, '0')}`;
}

/** Creates kwok nodes `from`..`to`-1 with 8 GPUs each and waits until all are Ready. */
export async function addGpuNodes(kc: KubeConfig, from: number, to: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const resources = { cpu: '96', memory: '1024Gi', pods: '110', 'nvidia.com/gpu': '8' };
  const idx = Array.from({ length: to - from }, (_, k) => from + k);
  await forEachLimit(idx, 24, async (i) => {
    const name = nodeName(i);
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'nvidia.com/gpu.present': 'true', 'karpenter.sh/nodepool': 'gpu' },
        },
        status: { allocatable: resources, capacity: resources },
      },
    });
  });
  await until(`${to} kwok nodes Ready`, 600_000, async () => {
    const nodes = (await core.listNode({})).items;
    const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    return ready >= to ? true : `${ready}/${to}`;
  });
}

/** One Deployment (1 GPU per pod) and one PredictiveScaler with a PromQL signal per scaler. */
export async function addScalers(kc: KubeConfig, count: number, small: number, replicas: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (let n = 0; n < NAMESPACES; n++) await ensureNamespace(core, `sgb-${n}`);
  await forEachLimit(Array.from({ length: count }, (_, i) => benchScaler(i)), 24, async (s) => {
    const labels = { app: s.deployment };
    await apps.createNamespacedDeployment({
      namespace: s.namespace,
      body: {
        metadata: { name: s.deployment },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels, annotations: { [READY_DELAY_ANNOTATION]: '1s' } },
            spec: { containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { requests: { cpu: '1' }, limits: { 'nvidia.com/gpu': '1' } } }], tolerations: [{ operator: 'Exists' }] },
          },
        },
      },
    });
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: s.namespace,
      plural: PLURAL,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'PredictiveScaler',
        metadata: { name: s.scaler, namespace: s.namespace, labels: { [BENCH_LABEL]: '1', [TIER_LABEL]: s.index < small ? 'small' : 'large' } },
        spec: {
          targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.deployment },
          signal: { prometheus: { query: demandQuery(s) } },
          requestsPerSecondPerReplica: CAPACITY_PER_REPLICA,
          startupSeconds: 60,
          minReplicas: 1,
          maxReplicas: 32,
          gpu: { perReplica: 1 },
        },
      },
    });
  });
}

/**
 * Puts every scaler back where a size starts: its Deployment at `replicas` and no status, so
 * that each controller run meets the same cluster (a status left by the run before would read
 * as another writer's change and cost a managedFields read per scaler).
 */
export async function resetScalers(kc: KubeConfig, count: number, replicas: number): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const current = new Map((await apps.listDeploymentForAllNamespaces({ labelSelector: '' })).items.map((d) => [`${d.metadata?.namespace}/${d.metadata?.name}`, d.spec?.replicas]));
  await forEachLimit(Array.from({ length: count }, (_, i) => benchScaler(i)), 24, async (s) => {
    if (current.get(`${s.namespace}/${s.deployment}`) !== replicas) await apps.patchNamespacedDeploymentScale({ name: s.deployment, namespace: s.namespace, body: { spec: { replicas } } }, merge);
    await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: s.namespace, plural: PLURAL, name: s.scaler, body: { status: null } }, merge);
  });
}

/** Creates filler pods bound to nodes `from`..`to`-1, `perNode` on each (no GPU), named by node. */
export async function addFillerPods(kc: KubeConfig, from: number, to: number, perNode: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(core, FILLER_NS);
  const work: Array<[number, number]> = [];
  for (let i = from; i < to; i++) for (let k = 0; k < perNode; k++) work.push([i, k]);
  await forEachLimit(work, 32, async ([i, k]) => {
    const node = nodeName(i);
    await core.createNamespacedPod({
      namespace: FILLER_NS,
      body: {
        metadata: { name: `f-${node}-${k}`, labels: { app: 'filler' }, annotations: { [READY_DELAY_ANNOTATION]: '1s' } },
        spec: { nodeName: node, containers: [{ name: 'c', image: 'registry.invalid/filler:1', resources: { requests: { cpu: '100m' } } }], tolerations: [{ operator: 'Exists' }] },
      },
    });
  });
}

/** Waits until the cluster holds `total` pods, all Running. */
export async function podsSettled(kc: KubeConfig, total: number, timeoutMs: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await until(`${total} pods Running`, timeoutMs, async () => {
    // limit=1: the server counts the rest (remainingItemCount) without sending them.
    const all = await core.listPodForAllNamespaces({ limit: 1 });
    const count = all.items.length + (all.metadata?.remainingItemCount ?? 0);
    const notRunning = await core.listPodForAllNamespaces({ limit: 1, fieldSelector: 'status.phase!=Running' });
    const pending = notRunning.items.length + (notRunning.metadata?.remainingItemCount ?? 0);
    return count === total && pending === 0 ? true : `${count}/${total} pods, ${pending} not Running`;
  });
}

async function until(what: string, timeoutMs: number, check: () => Promise<true | string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let said = 0;
  while (Date.now() < deadline) {
    const r = await check().catch((err: unknown) => `error: ${String(err)}`);
    if (r === true) return;
    last = r;
    if (Date.now() - said > 15_000) {
      process.stderr.write(`  waiting for ${what}: ${last}\n`);
      said = Date.now();
    }
    await sleep(2000);
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${last})`);
}
