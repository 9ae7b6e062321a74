import type { KubernetesObject, V1Container, V1Deployment, V1ManagedFieldsEntry, V1Node, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';

// What the controller's watch caches keep of each object: the fields some reader of the cache
// reads, nothing else. A Pod as the API server serves it is 4 to 6 KB of JSON, most of it
// managedFields, volumes and container details no reader looks at; at 30,000 pods the whole
// objects took about 280 MiB of heap (bench/controller-memory.ts). Readers, by field:
// - metadata: name, namespace, uid, resourceVersion (caches, guarded writes), creationTimestamp
//   (lead time, pod startup, never-ready), deletionTimestamp, labels (selectors, pools),
//   annotations (healing's remediation records, mirror pods, placeholders), ownerReferences
//   (drain skips DaemonSet pods; never-ready groups siblings by owner), generation.
// - Pod spec: nodeName, nodeSelector (replacement), containers' and initContainers' resources
//   (GPU requests). Pod status: phase, conditions (startup, unschedulable), containerStatuses'
//   name, restartCount, ready, state and lastState (crash loops).
// - Node spec: unschedulable, taints (cordon rewrites the list). Node status: allocatable,
//   capacity, conditions (Ready, and the GPU condition healing sets).
// - Deployment: spec.replicas and selector, status replica counts, and of managedFields only the
//   entries that own spec.replicas (cached-scale.ts names the last writer from them).
// A reader that needs another field must add it here; test/unit/controller/slim.test.ts holds the
// list against real objects.

/** The annotation `kubectl apply` leaves: a whole copy of the object as applied, read by no one here. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The metadata fields some reader reads; annotations less the last-applied copy. */
const META_KEPT = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'labels', 'ownerReferences'] as const;

function slimMeta(m: V1ObjectMeta | undefined, managedFields?: V1ManagedFieldsEntry[]): V1ObjectMeta {
  const out: Record<string, unknown> = {};
  if (!m) return out;
  for (const k of META_KEPT) if (m[k] !== undefined) out[k] = m[k];
  if (m.annotations !== undefined) {
    const { [LAST_APPLIED]: _dropped, ...rest } = m.annotations;
    out.annotations = LAST_APPLIED in m.annotations ? rest : m.annotations;
  }
  if (managedFields !== undefined) out.managedFields = managedFields;
  return out as V1ObjectMeta;
}

function slimContainers(cs: readonly V1Container[] | undefined): V1Container[] | undefined {
  // `image` is required by the type; no reader of the cache looks at it.
  return cs?.map((c) => ({ name: c.name, image: '', ...(c.resources ? { resources: c.resources } : {}) }) as V1Container);
}

/** A Pod with only the fields the controller reads (see above). */
export function slimPod(p: V1Pod): V1Pod {
  const out: V1Pod = { metadata: slimMeta(p.metadata) };
  if (p.apiVersion !== undefined) out.apiVersion = p.apiVersion;
  if (p.kind !== undefined) out.kind = p.kind;
  if (p.spec) {
    const spec: Partial<NonNullable<V1Pod['spec']>> = {};
    if (p.spec.nodeName !== undefined) spec.nodeName = p.spec.nodeName;
    if (p.spec.nodeSelector !== undefined) spec.nodeSelector = p.spec.nodeSelector;
    spec.containers = slimContainers(p.spec.containers) ?? [];
    const init = slimContainers(p.spec.initContainers);
    if (init) spec.initContainers = init;
    out.spec = spec as NonNullable<V1Pod['spec']>;
  }
  if (p.status) {
    const s = p.status;
    out.status = {};
    if (s.phase !== undefined) out.status.phase = s.phase;
    if (s.conditions !== undefined) out.status.conditions = s.conditions;
    if (s.containerStatuses !== undefined)
      out.status.containerStatuses = s.containerStatuses.map((c) => ({ name: c.name, ready: c.ready, restartCount: c.restartCount, image: '', imageID: '', ...(c.state ? { state: c.state } : {}), ...(c.lastState ? { lastState: c.lastState } : {}) }));
  }
  return out;
}

/** A Node with only the fields the controller reads (see above). */
export function slimNode(n: V1Node): V1Node {
  const out: V1Node = { metadata: slimMeta(n.metadata) };
  if (n.apiVersion !== undefined) out.apiVersion = n.apiVersion;
  if (n.kind !== undefined) out.kind = n.kind;
  if (n.spec) {
    out.spec = {};
    if (n.spec.unschedulable !== undefined) out.spec.unschedulable = n.spec.unschedulable;
    if (n.spec.taints !== undefined) out.spec.taints = n.spec.taints;
  }
  if (n.status) {
    out.status = {};
    if (n.status.allocatable !== undefined) out.status.allocatable = n.status.allocatable;
    if (n.status.capacity !== undefined) out.status.capacity = n.status.capacity;
    if (n.status.conditions !== undefined) out.status.conditions = n.status.conditions;
  }
  return out;
}

/** The managedFields entries that own spec.replicas, with only that field in their fieldsV1. */
function replicasOwners(managed: readonly V1ManagedFieldsEntry[] | undefined): V1ManagedFieldsEntry[] | undefined {
  const owners = (managed ?? []).filter((m) => {
    const spec = (m.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.['f:spec'];
    return !!spec && 'f:replicas' in spec;
  });
  if (owners.length === 0) return undefined;
  return owners.map((m) => ({ ...m, fieldsV1: { 'f:spec': { 'f:replicas': {} } } }));
}

/** A Deployment with only what its scale subresource shows and who last wrote its replicas. */
export function slimDeployment(d: V1Deployment): V1Deployment {
  const out: V1Deployment = { metadata: slimMeta(d.metadata, replicasOwners(d.metadata?.managedFields)) };
  if (d.apiVersion !== undefined) out.apiVersion = d.apiVersion;
  if (d.kind !== undefined) out.kind = d.kind;
  if (d.spec) out.spec = { ...(d.spec.replicas !== undefined ? { replicas: d.spec.replicas } : {}), selector: d.spec.selector } as NonNullable<V1Deployment['spec']>;
  if (d.status) {
    const { replicas, readyReplicas, availableReplicas, updatedReplicas, observedGeneration } = d.status;
    out.status = Object.fromEntries(Object.entries({ replicas, readyReplicas, availableReplicas, updatedReplicas, observedGeneration }).filter(([, v]) => v !== undefined));
  }
  return out;
}

/** The transform of a watch cache: every object, listed or watched, passes through it before it is kept. */
export type CacheTransform = (o: KubernetesObject) => KubernetesObject;
