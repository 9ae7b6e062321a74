import type { V1Pod } from '@kubernetes/client-node';
import type { PlaceholderConfig, PlaceholderPoolConfig } from './placeholder-config.ts';
import { podRequest } from './inventory.ts';

/** Who made a placeholder: the label a restart adopts them by. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'surgeguard';
/** The pool a placeholder holds GPUs for. */
export const POOL_LABEL = 'surgeguard.io/placeholder-pool';
/** The label selector of every placeholder this controller owns. */
export const PLACEHOLDER_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY},${POOL_LABEL}`;

/** A placeholder as the decision needs it: its name, its pool, and whether it holds GPUs yet. */
export interface PlaceholderPod {
  readonly name: string;
  readonly pool: string;
  readonly gpus: number;
  /** Bound to a node: it holds its GPUs there. */
  readonly bound: boolean;
  /** Being deleted (released, or preempted): neither counted nor reused until gone. */
  readonly terminating: boolean;
  /** Failed or Succeeded (evicted, say): holds nothing and is only in the way of its name. */
  readonly finished: boolean;
  readonly createdMs: number;
}

/** The name of a pool's placeholder number `index`: stable, so a retried create cannot make two. */
export function placeholderName(pool: string, index: number): string {
  return `surgeguard-placeholder-${pool}-${index}`;
}

/** The index a placeholder's name carries, or undefined for a name this controller did not make. */
export function placeholderIndex(pool: string, name: string): number | undefined {
  const prefix = `surgeguard-placeholder-${pool}-`;
  if (!name.startsWith(prefix)) return undefined;
  const n = Number(name.slice(prefix.length));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The pod manifest of one placeholder: a pause container requesting the pool's GPU resource on the
 * pool's nodes, at the placeholder PriorityClass. No grace period: a preempted placeholder must free
 * its GPUs at once, and pause has nothing to flush. No CPU or memory beyond a token request, so it
 * never keeps a node's other resources from real pods.
 */
export function placeholderPod(pool: PlaceholderPoolConfig, config: Pick<PlaceholderConfig, 'namespace' | 'priorityClassName' | 'image'>, index: number): V1Pod {
  const gpus = String(pool.gpusPerPod);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: placeholderName(pool.name, index),
      namespace: config.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [POOL_LABEL]: pool.name, 'app.kubernetes.io/name': 'surgeguard-placeholder' },
      annotations: { 'surgeguard.io/placeholder-resource': pool.resource, 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' },
    },
    spec: {
      priorityClassName: config.priorityClassName,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: 'Always',
      nodeSelector: { ...pool.nodeSelector },
      tolerations: pool.tolerations.map((t) => ({ ...t })),
      containers: [{ name: 'pause', image: config.image, resources: { requests: { cpu: '1m', memory: '8Mi', [pool.resource]: gpus }, limits: { [pool.resource]: gpus } }, securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 65535, capabilities: { drop: ['ALL'] } } }],
    },
  };
}

/** Whether a pod is a placeholder of this controller (its labels), wherever it was read from. */
export function isPlaceholderPod(pod: V1Pod): boolean {
  const labels = pod.metadata?.labels ?? {};
  return labels[MANAGED_BY_LABEL] === MANAGED_BY && Boolean(labels[POOL_LABEL]);
}

/** Reads a listed pod as a placeholder of its pool, or undefined when it is not one of ours. */
export function asPlaceholder(pod: V1Pod, resourceOf: (pool: string) => string | undefined): PlaceholderPod | undefined {
  const meta = pod.metadata;
  if (!meta?.name || !isPlaceholderPod(pod)) return undefined;
  const pool = meta.labels?.[POOL_LABEL] ?? '';
  const resource = resourceOf(pool) ?? meta.annotations?.['surgeguard.io/placeholder-resource'] ?? 'nvidia.com/gpu';
  const phase = pod.status?.phase;
  return {
    name: meta.name,
    pool,
    gpus: podRequest(pod, resource),
    bound: Boolean(pod.spec?.nodeName),
    terminating: Boolean(meta.deletionTimestamp),
    finished: phase === 'Failed' || phase === 'Succeeded',
    createdMs: meta.creationTimestamp === undefined ? 0 : new Date(meta.creationTimestamp).getTime(),
  };
}
