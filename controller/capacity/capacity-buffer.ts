import { createHash } from 'node:crypto';
import type { V1PodTemplate } from '@kubernetes/client-node';
import type { PlaceholderConfig, PlaceholderPoolConfig } from './placeholder-config.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, POOL_LABEL, placeholderName, placeholderPod, type PlaceholderPod } from './placeholder-pods.ts';

/**
 * The cluster autoscaler's CapacityBuffer (autoscaling.x-k8s.io): a namespaced object naming a
 * PodTemplate (one chunk of buffer) and a replica count. The autoscaler turns it into that many
 * virtual pods in its scale-up simulation, so nodes come for them, and keeps their room free in
 * scale-down; no pod is created, so real pods take the room without a preemption. SurgeGuard writes
 * one buffer per pool whose replicas are the forecast-sized placeholder count (placeholder-plan.ts
 * decides it as for pods). Pure.
 */
export const BUFFER_GROUP = 'autoscaling.x-k8s.io';
export const BUFFER_PLURAL = 'capacitybuffers';
export const BUFFER_KIND = 'CapacityBuffer';
/** Versions SurgeGuard writes, most preferred first: the spec fields it uses are the same in each. */
export const BUFFER_VERSIONS: readonly string[] = ['v1', 'v1beta1', 'v1alpha1'];
/** The cluster autoscaler's default strategy: the buffer actively scales the cluster up. */
export const ACTIVE_CAPACITY = 'buffer.x-k8s.io/active-capacity';

/** A CapacityBuffer as SurgeGuard writes and reads it (the fields it uses). */
export interface CapacityBufferObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec: { podTemplateRef?: { name: string }; replicas?: number; provisioningStrategy?: string };
  status?: { replicas?: number; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

/** What holds a pool's placeholders this tick. */
export type HeldBy = 'pods' | 'capacityBuffer';

/**
 * What holds a pool's placeholders: its configured mode, and for `auto` a CapacityBuffer when the
 * API server serves one of the versions SurgeGuard writes (`served`, from discovery), else pods.
 */
export function resolveMode(mode: PlaceholderPoolConfig['mode'], served: string | undefined): HeldBy {
  if (mode === 'auto') return served === undefined ? 'pods' : 'capacityBuffer';
  return mode;
}

/** The preferred version of those SurgeGuard writes among the versions discovery lists, or undefined. */
export function pickVersion(discovered: readonly string[]): string | undefined {
  return BUFFER_VERSIONS.find((v) => discovered.includes(v));
}

/** A pool's CapacityBuffer and PodTemplate name: one of each per pool, stable across restarts. */
export function bufferName(pool: string): string {
  return `surgeguard-placeholder-${pool}`;
}

function labelsOf(pool: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [POOL_LABEL]: pool, 'app.kubernetes.io/name': 'surgeguard-placeholder' };
}

/**
 * The PodTemplate of one buffer chunk: the placeholder pod's spec (the pool's GPU request,
 * nodeSelector, tolerations and PriorityClass), so a buffer asks for exactly what a placeholder
 * pod would. Owned by the pool's CapacityBuffer when its uid is known: deleting the buffer
 * garbage-collects the template.
 */
export function bufferPodTemplate(pool: PlaceholderPoolConfig, config: Pick<PlaceholderConfig, 'namespace' | 'priorityClassName' | 'image'>, owner?: Pick<CapacityBufferObject, 'apiVersion' | 'metadata'>): V1PodTemplate {
  const pod = placeholderPod(pool, config, 0);
  const ownerReferences = owner?.metadata.uid === undefined ? undefined : [{ apiVersion: owner.apiVersion, kind: BUFFER_KIND, name: owner.metadata.name, uid: owner.metadata.uid, controller: true }];
  return {
    apiVersion: 'v1',
    kind: 'PodTemplate',
    metadata: { name: bufferName(pool.name), namespace: config.namespace, labels: labelsOf(pool.name), ...(ownerReferences ? { ownerReferences } : {}) },
    template: { metadata: { labels: labelsOf(pool.name), annotations: pod.metadata?.annotations }, spec: pod.spec },
  };
}

/** The annotation carrying a hash of the chunk's pod spec: a changed pool config rewrites the template. */
export const TEMPLATE_HASH = 'surgeguard.io/template-hash';

/** A short hash of the pod spec the pool's template holds (what the config makes of it). */
export function templateHash(pool: PlaceholderPoolConfig, config: Pick<PlaceholderConfig, 'namespace' | 'priorityClassName' | 'image'>): string {
  return createHash('sha256').update(JSON.stringify(bufferPodTemplate(pool, config).template)).digest('hex').slice(0, 16);
}

/** The pool's CapacityBuffer holding `replicas` chunks of its PodTemplate (`hash`: templateHash of it). */
export function capacityBuffer(pool: PlaceholderPoolConfig, x: { namespace: string; replicas: number; version: string; hash?: string }): CapacityBufferObject {
  const { namespace, replicas, version, hash = '' } = x;
  return {
    apiVersion: `${BUFFER_GROUP}/${version}`,
    kind: BUFFER_KIND,
    metadata: { name: bufferName(pool.name), namespace, labels: labelsOf(pool.name), annotations: { 'surgeguard.io/placeholder-resource': pool.resource, 'surgeguard.io/gpus-per-replica': String(pool.gpusPerPod), [TEMPLATE_HASH]: hash } },
    spec: { podTemplateRef: { name: bufferName(pool.name) }, replicas: Math.max(0, Math.floor(replicas)), provisioningStrategy: ACTIVE_CAPACITY },
  };
}

/** The pool a listed buffer belongs to (its label), or undefined for one SurgeGuard did not write. */
export function bufferPool(b: Pick<CapacityBufferObject, 'metadata'>): string | undefined {
  const l = b.metadata.labels ?? {};
  return l[MANAGED_BY_LABEL] === MANAGED_BY && l[POOL_LABEL] ? l[POOL_LABEL] : undefined;
}

/**
 * A pool's buffer read as the placeholders the plan counts: one virtual placeholder per replica,
 * never bound (the autoscaler's virtual pods hold no GPU the cluster shows; the room they keep
 * free is counted as free), named as placeholder pods would be so the plan's create and release
 * lists stay meaningful. Created "now": the no-autoscaler check needs a Pending pod's age, which a
 * virtual pod has not (the autoscaler reports a buffer it cannot provision in its conditions).
 */
export function bufferPlaceholders(b: CapacityBufferObject | undefined, pool: Pick<PlaceholderPoolConfig, 'name' | 'gpusPerPod'>, nowMs: number): PlaceholderPod[] {
  if (b === undefined || b.metadata.deletionTimestamp !== undefined) return [];
  const n = Math.max(0, Math.floor(b.spec.replicas ?? 0));
  return Array.from({ length: n }, (_, i) => ({ name: placeholderName(pool.name, i), pool: pool.name, gpus: pool.gpusPerPod, bound: false, terminating: false, finished: false, createdMs: nowMs }));
}

/** What to do with a pool's buffer so that it holds `want` chunks: nothing, write it, or delete it. */
export type BufferChange = { readonly action: 'hold' } | { readonly action: 'write'; readonly replicas: number; readonly existed: boolean } | { readonly action: 'delete' };

/**
 * The change that brings a pool's buffer (undefined: none) to `want` replicas of the template whose
 * hash is `hash` (undefined: not compared); a buffer of 0 is deleted, not kept. Pure.
 */
export function bufferChange(current: CapacityBufferObject | undefined, want: number, hash?: string): BufferChange {
  const live = current !== undefined && current.metadata.deletionTimestamp === undefined ? current : undefined;
  if (want <= 0) return live === undefined ? { action: 'hold' } : { action: 'delete' };
  const sameTemplate = hash === undefined || live?.metadata.annotations?.[TEMPLATE_HASH] === hash;
  if (live?.spec.replicas === want && sameTemplate) return { action: 'hold' };
  return { action: 'write', replicas: want, existed: live !== undefined };
}

/** How the autoscaler has taken a pool's buffer: `resolved`, refused (`unresolved`), not read at all past the limit (`unread`), or too new to say (`new`). */
export type BufferHealth = { readonly state: 'new' | 'resolved' } | { readonly state: 'unresolved' | 'unread'; readonly message: string };

/**
 * Whether an autoscaler reads the pool's buffer, from its status: a ReadyForProvisioning condition
 * False is a refusal (a template not found, say), and no status past twice the node lead time after
 * the buffer was created means nothing reads CapacityBuffers (the CRD installed, no autoscaler or its
 * gate off): the buffer's counterpart of placeholder pods Pending with no node coming. Pure.
 */
export function bufferHealth(b: CapacityBufferObject | undefined, nowMs: number, leadSeconds: number): BufferHealth {
  if (b === undefined) return { state: 'new' };
  const fromStatus = statusHealth(b);
  if (fromStatus) return fromStatus;
  const ageSeconds = (nowMs - Date.parse(b.metadata.creationTimestamp ?? '')) / 1000;
  // An unknown creation time (NaN) is "too new to say", never "unread".
  if (!(ageSeconds > 2 * leadSeconds)) return { state: 'new' };
  return { state: 'unread', message: `buffer ${b.metadata.name} has no status ${Math.round(ageSeconds)} s after it was created, past twice the node lead time (${Math.round(2 * leadSeconds)} s): no autoscaler seems to read CapacityBuffers (is its CapacityBuffer support on?)` };
}

/** What the buffer's status says, or undefined when it has none. */
function statusHealth(b: CapacityBufferObject): BufferHealth | undefined {
  const ready = b.status?.conditions?.find((c) => c.type === 'ReadyForProvisioning');
  if (ready?.status === 'False') return { state: 'unresolved', message: `the autoscaler refused buffer ${b.metadata.name}: ${[ready.reason, ready.message].filter(Boolean).join(' ')}` };
  if (ready?.status === 'True' || b.status?.replicas !== undefined) return { state: 'resolved' };
  return undefined;
}
