import { AutoscalingV2Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type PredictiveScalerStatus } from '../crd/predictive-scaler.ts';
import { EXTERNAL_METRIC, toleranceOf, type Tolerance } from '../adapters/hpa.ts';

/** The pause annotation on the controller's ConfigMap. */
export const PAUSE_ANNOTATION = 'surgeguard.io/paused';

export interface PodStats {
  /** p90 of creation → Ready over the target's ready pods, in seconds; undefined with no ready pod. */
  startupP90Seconds?: number;
  unschedulable: number;
  ready: number;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

/** An HPA as the scaling loop needs it: who it is, its tolerance, and which scalers' metric it reads. */
export interface HpaInfo {
  name: string;
  tolerance: Tolerance;
  /** Scalers named by `scaler=<name>` in the HPA's External metrics surgeguard_desired_replicas. */
  readsScalers: string[];
}

/** What the scaling loop reads from the cluster besides the scale subresource. */
export interface ClusterReader {
  /** HPAs by the workload they scale: key `namespace/Kind/name`. */
  hpaTargets(): Promise<Map<string, HpaInfo>>;
  paused(namespace: string, name: string): Promise<boolean>;
  podStats(namespace: string, selector: string): Promise<PodStats>;
}

/** What the scaling loop writes besides the scale subresource. */
export interface ClusterWriter {
  patchScalerStatus(namespace: string, name: string, status: PredictiveScalerStatus): Promise<void>;
  event(obj: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export function kubeClusterReader(kc: KubeConfig): ClusterReader {
  const hpa = kc.makeApiClient(AutoscalingV2Api);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async hpaTargets() {
      const list = await hpa.listHorizontalPodAutoscalerForAllNamespaces({});
      const out = new Map<string, HpaInfo>();
      for (const h of list.items) {
        const ref = h.spec?.scaleTargetRef;
        if (!ref || !h.metadata?.namespace) continue;
        const readsScalers = (h.spec?.metrics ?? []).flatMap((m) => (m.type === 'External' && m.external?.metric.name === EXTERNAL_METRIC && m.external.metric.selector?.matchLabels?.scaler ? [m.external.metric.selector.matchLabels.scaler] : []));
        out.set(`${h.metadata.namespace}/${ref.kind}/${ref.name}`, { name: h.metadata.name ?? '', tolerance: toleranceOf(h.spec?.behavior), readsScalers });
      }
      return out;
    },
    async paused(namespace, name) {
      try {
        const cm = await core.readNamespacedConfigMap({ name, namespace });
        return cm.metadata?.annotations?.[PAUSE_ANNOTATION] === 'true';
      } catch (err) {
        if ((err as { code?: number }).code === 404) return false;
        throw err;
      }
    },
    async podStats(namespace, selector) {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
      return podStats(pods);
    },
  };
}

/** Startup p90 and unschedulable count from pods' conditions (pure, for tests). */
export function podStats(pods: readonly V1Pod[]): PodStats {
  const startups: number[] = [];
  let unschedulable = 0;
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    const conds = p.status?.conditions ?? [];
    const ready = conds.find((c) => c.type === 'Ready' && c.status === 'True');
    const created = p.metadata?.creationTimestamp;
    if (ready?.lastTransitionTime && created) startups.push((new Date(ready.lastTransitionTime).getTime() - new Date(created).getTime()) / 1000);
    if (p.status?.phase === 'Pending' && conds.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')) unschedulable++;
  }
  startups.sort((a, b) => a - b);
  const p90 = startups.length ? startups[Math.max(0, Math.ceil(0.9 * startups.length) - 1)] : undefined;
  return { startupP90Seconds: p90, unschedulable, ready: startups.length };
}

export function kubeClusterWriter(kc: KubeConfig, component = 'surgeguard-controller'): ClusterWriter {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async patchScalerStatus(namespace, name, status) {
      await custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    async event(obj, type, reason, message) {
      const now = new Date();
      await core.createNamespacedEvent({
        namespace: obj.namespace,
        body: {
          metadata: { generateName: `${obj.name}.`, namespace: obj.namespace },
          involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.name, namespace: obj.namespace, uid: obj.uid },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component },
          reportingComponent: component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    },
  };
}
