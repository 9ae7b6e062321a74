import type { V1Node } from '@kubernetes/client-node';
import { remediationOf } from './state.ts';
import type { Finding } from './types.ts';

/**
 * The GPU health condition SurgeGuard writes on nodes, so that other repair tools (medik8s
 * NodeHealthCheck, a cloud's node repair, a human with `kubectl get nodes`) can act on the same
 * verdict as its own repairs. Its type is configurable (`healing.nodeCondition.type`).
 */
export const DEFAULT_CONDITION_TYPE = 'GPUHealthy';

/** Reason of a condition set back to True. */
export const CLEARED_REASON = 'NoGpuFault';

/** One condition write the healing loop should make: a value, applied by a separate step. */
export interface ConditionChange {
  readonly node: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  /** The finding behind a False, for the audit entry; undefined for a repair in progress or a clear. */
  readonly finding?: Finding;
}

const RANK = { fatal: 2, degraded: 1 } as const;

/** A condition reason is CamelCase ([A-Za-z0-9]): XID 79 gives `Xid79`, the gpu-ecc check `EccUncorrectable`. */
export function conditionReason(f: Pick<Finding, 'check' | 'fault' | 'evidence'>): string {
  if (f.check === 'gpu-xid' && f.evidence.xid) return `Xid${String(f.evidence.xid).replace(/\D/g, '')}`;
  if (f.check === 'gpu-ecc') return f.fault === 'fatal' ? 'EccUncorrectable' : 'EccCorrectableRate';
  if (f.check === 'gpu-thermal') return 'GpuSlowdown';
  if (f.check === 'gpu-missing') return 'GpuMissing';
  if (f.check.startsWith('alert/')) return `Alert${camel(f.check.slice('alert/'.length))}`;
  return camel(f.check) || 'GpuFault';
}

function camel(s: string): string {
  return s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join('')
    .slice(0, 128);
}

/**
 * The condition each node should carry, compared with what it carries; only changes of status are
 * returned (a reason or message that changes while the node stays unhealthy is not worth a write). A node is unhealthy
 * while a node fault is found on it (fatal or degraded, the faults SurgeGuard itself repairs) or
 * while it carries SurgeGuard's repair record: a drained node stays cordoned until a human clears
 * it, and its condition says so until then. A fleet-wide problem sets no new False: SurgeGuard's
 * verdict then is that the nodes are not the cause, and a repair tool reading the condition must
 * not replace a fifth of the fleet. Only a condition of this type that says `faultStatus` is set
 * back to the other status: nodes that never had a fault get no write. `faultStatus` is `False` for
 * a type naming health (GPUHealthy) and `True` for one naming a problem (KWOKUnhealthy).
 */
export function planConditions(nodes: readonly V1Node[], findings: readonly Finding[], x: { type: string; fleetWide: boolean; faultStatus?: 'True' | 'False' }): ConditionChange[] {
  const fault = x.faultStatus ?? 'False';
  const ok = fault === 'False' ? 'True' : 'False';
  const worst = new Map<string, Finding>();
  for (const f of findings) {
    if (f.target.kind !== 'Node' || (f.fault !== 'fatal' && f.fault !== 'degraded')) continue;
    const prev = worst.get(f.target.name);
    if (!prev || RANK[f.fault] > RANK[prev.fault as 'fatal' | 'degraded']) worst.set(f.target.name, f);
  }
  const out: ConditionChange[] = [];
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    const current = node.status?.conditions?.find((c) => c.type === x.type);
    // Fleet-wide: no node's condition moves either way while the fleet is in doubt.
    if (x.fleetWide && worst.has(name)) continue;
    const f = worst.get(name);
    const repair = remediationOf(node);
    let want: Omit<ConditionChange, 'node'> | undefined;
    if (f) want = { status: fault, reason: conditionReason(f), message: f.summary.slice(0, 1024), finding: f };
    else if (repair) want = { status: fault, reason: current?.status === fault && current.reason ? current.reason : conditionReason({ check: repair.check, fault: repair.fault, evidence: {} }), message: `SurgeGuard repair ${repair.phase}: ${repair.summary}`.slice(0, 1024) };
    else if (current?.status === fault) want = { status: ok, reason: CLEARED_REASON, message: 'SurgeGuard finds no GPU fault on this node' };
    // Only a change of status is written: the reason is the fault that set it, so a second fault on
    // an unhealthy node (an alert about the same XID, say) does not rewrite it back and forth.
    if (!want || current?.status === want.status) continue;
    out.push({ node: name, ...want });
  }
  return out;
}
