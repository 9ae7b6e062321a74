import { servedValue } from '../adapters/hpa.ts';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { ScalerPlan } from '../reconcile/plan.ts';
import { splitBudget, type BudgetClaim } from './budget.ts';
import { gpuInventory, selectorMatches } from './inventory.ts';
import { isPlaceholderPod } from './placeholder-pods.ts';
import type { ComingClaim } from './replacement.ts';
import { remediationOf } from '../healing/state.ts';

/** A scaler's GPU settings (spec.gpu, defaults applied). */
export interface GpuSpec {
  readonly resource: string;
  readonly perReplica: number;
  readonly priority: number;
  readonly weight: number;
}

/** One scaler in this tick's budget: its plan, its target's pod selector, its GPU settings. */
export interface BudgetMember {
  readonly plan: ScalerPlan;
  readonly namespace: string;
  /** The target's pod selector, from its scale subresource. */
  readonly selector: string;
  readonly gpu: GpuSpec;
  readonly minReplicas: number;
  /**
   * Replicas a node repair in progress raised this scaler's floor to (its pods on the node plus
   * their replacements): granted before any growth, so that other scalers do not take the
   * capacity the repair checked before cordoning (healing/capacity-wait.ts).
   */
  readonly reservedReplicas?: number;
}

/** What a budget decision can say beyond its own numbers. */
export interface BudgetContext {
  /** How long new nodes take for this resource (lead-time.ts), named in each cut's reason. */
  readonly leadTime?: (resource: string) => string;
}

/** What one resource's budget looked like this tick, for the metrics and the log. */
export interface BudgetReport {
  readonly resource: string;
  readonly allocatable: number;
  /** On Karpenter NodeClaims launched and not yet Nodes (capacity.nodeClaims): counted as there. */
  readonly coming: number;
  readonly heldByOthers: number;
  /** GPUs the members asked for in all, and were granted. */
  readonly asked: number;
  readonly granted: number;
  readonly cuts: ReadonlyArray<{ readonly key: string; readonly asked: number; readonly granted: number }>;
}

/**
 * Applies one GPU budget per resource to the plans of the scalers that have `spec.gpu`: plans whose
 * ask does not fit are cut to their grant (budget.ts) and say so (reason GpuBudget). Plans that
 * write nothing this tick (held, conflict, paused) still claim the replicas they run. Pure: the
 * nodes and pods are the watch caches' lists.
 *
 * Capacity on its way counts as there: registered Nodes that are not Ready yet are in the
 * inventory's allocatable, and NodeClaims launched for nodes that do not exist yet are added here.
 * A replica granted on them waits Pending for minutes at most, which is what pre-scaling is for;
 * cutting it instead would only make it ask again once the node is Ready, one startup later.
 */
export function applyGpuBudget(members: readonly BudgetMember[], cluster: { nodes: readonly V1Node[]; pods: readonly V1Pod[]; claims?: readonly ComingClaim[] }, context: BudgetContext = {}): { plans: Map<string, ScalerPlan>; reports: BudgetReport[] } {
  const out = new Map<string, ScalerPlan>();
  const reports: BudgetReport[] = [];
  // Decided once per pod for all resources, and only against the members of the pod's namespace:
  // this runs every tick over every pod of the cluster.
  const selectors = new Map<string, string[]>();
  for (const m of members) selectors.set(m.namespace, [...(selectors.get(m.namespace) ?? []), m.selector]);
  const verdicts = new Map<V1Pod, boolean>();
  const governed = (pod: V1Pod): boolean => {
    let v = verdicts.get(pod);
    if (v === undefined) {
      // A placeholder's GPUs are the scalers' to take (real pods preempt it): never held by others.
      v = isPlaceholderPod(pod) || (selectors.get(pod.metadata?.namespace ?? '') ?? []).some((sel) => selectorMatches(sel, pod.metadata?.labels ?? {}));
      verdicts.set(pod, v);
    }
    return v;
  };
  for (const resource of [...new Set(members.map((m) => m.gpu.resource))].sort()) {
    const group = members.filter((m) => m.gpu.resource === resource && m.plan.currentReplicas !== undefined);
    const inv = gpuInventory(cluster.nodes, cluster.pods, resource, governed);
    // What each asks: its decision where it acts on one (a patch, an HPA or KEDA asked), else its count.
    const want = (m: BudgetMember): number => (m.plan.patch || m.plan.decision === 'dry_run' || m.plan.decision === 'hpa' ? (m.plan.desiredReplicas ?? 0) : (m.plan.currentReplicas ?? 0));
    const claims: BudgetClaim[] = group.map((m) => ({ key: m.plan.key, gpusPerReplica: m.gpu.perReplica, priority: m.gpu.priority, weight: m.gpu.weight, current: m.plan.currentReplicas ?? 0, minReplicas: m.minReplicas, want: want(m), ...(m.reservedReplicas ? { reserved: m.reservedReplicas } : {}) }));
    const coming = comingOf(cluster.claims ?? [], cluster.nodes, resource);
    const available = Math.max(0, inv.allocatable + coming - inv.heldByOthers + inv.governedOnCordoned);
    const grants = splitBudget(claims, available);
    const cuts: Array<{ key: string; asked: number; granted: number }> = [];
    grants.forEach((g, i) => {
      const m = group[i] as BudgetMember;
      if (g.cut === 0) return;
      cuts.push({ key: g.key, asked: g.replicas + g.cut, granted: g.replicas });
      out.set(g.key, cutPlan(m, g.replicas, g.replicas + g.cut, { resource, available, allocatable: inv.allocatable, coming, heldByOthers: inv.heldByOthers, onCordoned: inv.governedOnCordoned, leadTime: context.leadTime?.(resource) }));
    });
    reports.push({ resource, allocatable: inv.allocatable, coming, heldByOthers: inv.heldByOthers, asked: claims.reduce((s, c) => s + c.want * c.gpusPerReplica, 0), granted: grants.reduce((s, g, i) => s + g.replicas * (claims[i] as BudgetClaim).gpusPerReplica, 0), cuts });
  }
  return { plans: out, reports };
}

/** GPUs of `resource` on launched NodeClaims whose Node does not exist yet (once it does, the inventory counts it). */
function comingOf(claims: readonly ComingClaim[], nodes: readonly V1Node[], resource: string): number {
  const names = new Set(nodes.map((n) => n.metadata?.name ?? ''));
  return claims.filter((c) => !names.has(c.name)).reduce((s, c) => s + (c.resources[resource] ?? 0), 0);
}

function cutPlan(m: BudgetMember, granted: number, asked: number, b: { resource: string; available: number; allocatable: number; coming: number; heldByOthers: number; onCordoned: number; leadTime?: string | undefined }): ScalerPlan {
  const p = m.plan;
  const current = p.currentReplicas ?? 0;
  const cordoned = b.onCordoned > 0 ? `, ${b.onCordoned} held by their own pods on cordoned nodes` : '';
  const reserved = m.reservedReplicas ? `; a node repair reserved ${m.reservedReplicas} replicas for it` : '';
  const coming = b.coming > 0 ? ` (+${b.coming} on NodeClaims launched)` : '';
  const why = `GPU budget: ${b.resource} has ${b.allocatable} allocatable${coming}, ${b.heldByOthers} held by other pods${cordoned}, ${b.available} for the scalers that share it${reserved}; this one (priority ${m.gpu.priority}, weight ${m.gpu.weight}, ${m.gpu.perReplica} per replica) asked ${asked} replicas and was granted ${granted}${b.leadTime ? `; ${b.leadTime}` : ''}`;
  const message = `${p.decision === 'dry_run' ? 'dry run: would set ' : ''}${current} -> ${granted} replicas (GpuBudget; ${why})`;
  if (p.decision === 'dry_run') return { ...p, reason: 'GpuBudget', message, desiredReplicas: granted };
  if (p.served?.tolerance) {
    // Actuator Hpa or Keda: serve the grant. Never past it to clear the HPA's tolerance band: the
    // GPUs for one more replica are not there, so a step inside the band is not taken.
    const v = servedValue(granted, current, p.served.tolerance);
    const served = { ...p.served, value: v <= granted ? v : Math.max(1, current), desiredReplicas: granted };
    if (granted === current) return { ...p, decision: 'hold', reason: 'GpuBudget', message: `holding at ${current} replicas (GpuBudget; ${why})`, desiredReplicas: granted, served };
    return { ...p, decision: 'hpa', reason: 'GpuBudget', message: `${message}; asked of HPA ${p.served.hpa ?? ''} by serving ${served.value}`, desiredReplicas: granted, served };
  }
  if (granted === current) return { ...p, decision: 'hold', reason: 'GpuBudget', message: `holding at ${current} replicas (GpuBudget; ${why})`, desiredReplicas: granted, patch: undefined };
  return { ...p, decision: granted > current ? 'scale_up' : 'scale_down', reason: 'GpuBudget', message, desiredReplicas: granted, ...(p.patch ? { patch: { ...p.patch, replicas: granted } } : {}) };
}

/**
 * The replicas node repairs in progress reserve, by scaler (`namespace/name`): the floors a
 * degraded drain raised and recorded on its node, until the node is drained. The record lives on
 * the node, so a new leader's budget reserves the same. Two repairs of one scaler: the higher.
 */
export function repairReservations(nodes: readonly V1Node[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of nodes) {
    const r = remediationOf(n);
    if (!r || r.phase === 'drained') continue;
    for (const f of r.floors ?? []) out.set(f.scaler, Math.max(out.get(f.scaler) ?? 0, f.replicas));
  }
  return out;
}
