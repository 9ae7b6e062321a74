import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../crd/predictive-scaler.ts';
import { FLOOR_ANNOTATION } from '../reconcile/scaler-policy.ts';
import { ownWrites, type WatchCache } from '../kube/watch-cache.ts';
import { LAST_REMEDIATION_ANNOTATION, REMEDIATION_ANNOTATION, UNHEALTHY_TAINT, type NodeRemediation } from './state.ts';

export type EvictionResult = 'evicted' | 'gone' | { blocked: string };

/** One action in the ledger: the hourly limit and pod cooldowns survive a change of leader. */
export interface LedgerEntry {
  atUnix: number;
  key: string;
  action: string;
}

/** Everything the healing loop reads from and writes to the cluster. Injected for tests. */
export interface HealingCluster {
  listNodes(): Promise<readonly V1Node[]>;
  listPods(): Promise<readonly V1Pod[]>;
  /**
   * Cordons the node (unschedulable + the unhealthy taint) and records the remediation, in one
   * write guarded by the resourceVersion read: a node changed since is re-read next tick.
   */
  cordon(node: V1Node, remediation: NodeRemediation, nowUnix: number): Promise<V1Node>;
  /** Replaces the recorded remediation (the next phase), guarded like cordon. */
  recordPhase(node: V1Node, remediation: NodeRemediation): Promise<void>;
  /**
   * Sets one condition in the node's status (a strategic merge by type: the kubelet's and other
   * tools' conditions are left alone). lastTransitionTime moves only when the status changes.
   */
  setNodeCondition(node: V1Node, condition: { type: string; status: 'True' | 'False'; reason: string; message: string }, nowUnix: number): Promise<void>;
  /** Through the Eviction API, so PodDisruptionBudgets hold; a 429 is a refusal, not an error. */
  evict(namespace: string, name: string): Promise<EvictionResult>;
  /** Sets `surgeguard.io/replica-floor` on a PredictiveScaler (the scaling loop honours it). */
  setFloor(namespace: string, name: string, replicas: number, expiresAtUnix: number, reason: string): Promise<void>;
  readLedger(): Promise<LedgerEntry[]>;
  appendLedger(entries: readonly LedgerEntry[], keepAfterUnix: number): Promise<void>;
}

const LEDGER_KEY = 'actions';

/**
 * The HealingCluster on a real API server; the ledger is a ConfigMap in the controller's
 * namespace. Nodes and pods are read from watch caches once they have synced (a list of every
 * pod each tick would cost the API server more than the whole healing loop is worth), and
 * listed directly before that.
 */
export function kubeHealingCluster(kc: KubeConfig, ledger: { namespace: string; name: string }, caches: { nodes: WatchCache<V1Node>; pods: WatchCache<V1Pod> }, now: () => number = Date.now): HealingCluster {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  // The next tick must see a node as this process last wrote it, even before the watch says so.
  const nodeWrites = ownWrites<V1Node>(30_000);

  const patchNode = async (node: V1Node, body: object): Promise<V1Node> => {
    const written = await core.patchNode({ name: node.metadata?.name ?? '', body: { ...body, metadata: { ...((body as { metadata?: object }).metadata ?? {}), resourceVersion: node.metadata?.resourceVersion } } }, mergePatch);
    nodeWrites.wrote(node.metadata?.resourceVersion, written, now());
    return written;
  };

  const readLedgerMap = async (): Promise<{ entries: LedgerEntry[]; exists: boolean; resourceVersion?: string }> => {
    try {
      const cm = await core.readNamespacedConfigMap(ledger);
      const raw = cm.data?.[LEDGER_KEY];
      return { entries: raw ? (JSON.parse(raw) as LedgerEntry[]) : [], exists: true, resourceVersion: cm.metadata?.resourceVersion };
    } catch (err) {
      if ((err as { code?: number }).code === 404) return { entries: [], exists: false };
      throw err;
    }
  };

  return {
    async listNodes() {
      return caches.nodes.synced() ? nodeWrites.over(caches.nodes.list(), now()) : (await core.listNode({})).items;
    },
    async listPods() {
      return caches.pods.synced() ? caches.pods.list() : (await core.listPodForAllNamespaces({})).items;
    },
    async cordon(node, remediation, nowUnix) {
      const taints = [...(node.spec?.taints ?? []).filter((t) => t.key !== UNHEALTHY_TAINT.key), { key: UNHEALTHY_TAINT.key, effect: UNHEALTHY_TAINT.effect, value: taintValue(remediation.check) }];
      return patchNode(node, {
        metadata: { annotations: { [REMEDIATION_ANNOTATION]: JSON.stringify(remediation), [LAST_REMEDIATION_ANNOTATION]: String(nowUnix) } },
        spec: { unschedulable: true, taints },
      });
    },
    async recordPhase(node, remediation) {
      await patchNode(node, { metadata: { annotations: { [REMEDIATION_ANNOTATION]: JSON.stringify(remediation) } } });
    },
    async setNodeCondition(node, condition, nowUnix) {
      const now = new Date(nowUnix * 1000);
      const current = node.status?.conditions?.find((c) => c.type === condition.type);
      const lastTransitionTime = current && current.status === condition.status && current.lastTransitionTime ? current.lastTransitionTime : now;
      await core.patchNodeStatus({ name: node.metadata?.name ?? '', body: { status: { conditions: [{ ...condition, lastHeartbeatTime: now, lastTransitionTime }] } } }, strategicPatch);
    },
    async evict(namespace, name) {
      try {
        await core.createNamespacedPodEviction({ name, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } });
        return 'evicted';
      } catch (err) {
        const e = err as { code?: number; body?: unknown };
        if (e.code === 404) return 'gone';
        if (e.code === 429) {
          const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '');
          const message = /"message":"([^"]*)"/.exec(body)?.[1] ?? 'the eviction would violate a PodDisruptionBudget';
          return { blocked: message };
        }
        throw err;
      }
    },
    async setFloor(namespace, name, replicas, expiresAtUnix, reason) {
      await custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { metadata: { annotations: { [FLOOR_ANNOTATION]: `${replicas},${Math.round(expiresAtUnix)},${reason}` } } } },
        mergePatch,
      );
    },
    async readLedger() {
      return (await readLedgerMap()).entries;
    },
    async appendLedger(entries, keepAfterUnix) {
      const current = await readLedgerMap();
      const data = { [LEDGER_KEY]: JSON.stringify([...current.entries.filter((e) => e.atUnix > keepAfterUnix), ...entries]) };
      if (!current.exists) {
        await core.createNamespacedConfigMap({ namespace: ledger.namespace, body: { metadata: { name: ledger.name, namespace: ledger.namespace, labels: { 'app.kubernetes.io/name': 'surgeguard-controller' } }, data } });
      } else {
        // resourceVersion guards against a concurrent writer (an old leader still finishing).
        await core.patchNamespacedConfigMap({ ...ledger, body: { metadata: { resourceVersion: current.resourceVersion }, data } }, mergePatch);
      }
    },
  };
}

/** A taint value must be a label value: the check's name with anything else turned into '_'. */
export function taintValue(check: string): string {
  return check.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
