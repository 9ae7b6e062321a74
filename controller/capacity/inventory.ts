import type { V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import { parseLabelSelector, type LabelMatcher } from '../kube/label-selector.ts';
import { deviceQuantity } from './kube-facts.ts';

/**
 * What a GPU budget can spend, read from the cluster's nodes and pods (the controller's watch
 * caches): the allocatable GPUs of schedulable nodes, less those held by pods the budget does not
 * govern. MIG slices and time-sliced GPUs are the resource names their device plugin advertises
 * (`nvidia.com/mig-1g.10gb`, `nvidia.com/gpu.shared`): one budget per name.
 */
export interface GpuInventory {
  /** Allocatable on nodes that take new pods (not cordoned). */
  readonly allocatable: number;
  /** Requested by scheduled, unfinished pods that no budgeted target selects, on those nodes. */
  readonly heldByOthers: number;
  /**
   * Requested by the budgeted targets' own pods on cordoned nodes (a node being drained). Their
   * scalers count those pods among the replicas they run, so the budget adds their GPUs back:
   * without them, a drain's pods would take the place of their own replacements.
   */
  readonly governedOnCordoned: number;
}

/** Reads one resource's inventory; `governed` says whether a pod belongs to a budgeted target. */
export function gpuInventory(nodes: readonly V1Node[], pods: readonly V1Pod[], resource: string, governed: (pod: V1Pod) => boolean): GpuInventory {
  let allocatable = 0;
  const cordoned = new Set<string>();
  for (const n of nodes) {
    if (n.spec?.unschedulable) cordoned.add(n.metadata?.name ?? '');
    else allocatable += deviceQuantity(n.status?.allocatable?.[resource]);
  }
  let heldByOthers = 0;
  let governedOnCordoned = 0;
  for (const p of pods) {
    if (!holdsNow(p)) continue;
    const onCordoned = cordoned.has(p.spec?.nodeName ?? '');
    if (!governed(p)) heldByOthers += onCordoned ? 0 : podRequest(p, resource);
    else if (onCordoned) governedOnCordoned += podRequest(p, resource);
  }
  return { allocatable, heldByOthers, governedOnCordoned };
}

/** A pod holds its resources once it is bound to a node and until it has finished. */
function holdsNow(p: V1Pod): boolean {
  return Boolean(p.spec?.nodeName) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

/**
 * A pod's request of an extended resource: its containers' requests (an extended resource's
 * request defaults to its limit), or its largest init container's if that is more, as the
 * scheduler counts it.
 */
export function podRequest(pod: V1Pod, resource: string): number {
  // Plain loops, no closures or arrays: the GPU budget calls this for every pod of the cluster every tick.
  let main = 0;
  for (const c of pod.spec?.containers ?? NONE) main += containerRequest(c, resource);
  let init = 0;
  for (const c of pod.spec?.initContainers ?? NONE) init = Math.max(init, containerRequest(c, resource));
  return Math.max(main, init);
}

const NONE: readonly V1Container[] = Object.freeze([]);

/** A container's request of an extended resource (which defaults to its limit). */
function containerRequest(c: V1Container, resource: string): number {
  return deviceQuantity(c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource]);
}

/**
 * Matches a label selector as the scale subresource prints it (`app=llm,tier in (a,b),!canary`),
 * read by the same parser as the pod-statistics cache (controller/kube/label-selector.ts). Unlike
 * the API server, an empty or unreadable selector matches nothing here: a pod is then counted as
 * another's, the safe side for the budget.
 */
export function selectorMatches(selector: string, labels: Readonly<Record<string, string>>): boolean {
  if (!selector.trim()) return false;
  let match: LabelMatcher;
  try {
    match = parseLabelSelector(selector);
  } catch {
    return false;
  }
  return match(labels);
}
