import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import type { ClusterWriter, ObjectRef } from '../kube/cluster.ts';
import type { Finding, Remediation } from './types.ts';

/** What became of a finding: acted on, refused by the gate or a PDB, dry run, or nothing to do. */
export type Outcome = 'acted' | 'blocked' | 'dry_run' | 'skipped' | 'failed';

/** One entry of GET /api/remediations. */
export interface RemediationEntry {
  at: string;
  key: string;
  check: string;
  target: Finding['target'];
  severity: Finding['severity'];
  fault: Finding['fault'];
  action: Remediation;
  /** The step of a node remediation (cordon, raise-floors, drain, drained); the action otherwise. */
  step: string;
  decision: Outcome;
  /** PascalCase, as in the Event: NodeCordoned, CordonLimit, PodDisruptionBudget, ... */
  reason: string;
  message: string;
  evidence: Record<string, unknown>;
}

export interface RemediationAudit {
  /**
   * Records a decision three ways that agree (log line, counter, Event) and keeps it for the
   * API. The same decision repeated for the same finding is recorded once, until it changes.
   */
  record(e: Omit<RemediationEntry, 'at'>, nowMs: number): Promise<void>;
  /** Forget a finding's last decision (it is gone), so a recurrence is recorded again. */
  forget(key: string): void;
  list(opts?: { limit?: number; target?: string }): RemediationEntry[];
}

export function createRemediationAudit(deps: { logger: Logger; metrics: MetricRegistry; writer: ClusterWriter; eventNamespace: string }, kept: number): RemediationAudit {
  const counter = deps.metrics.counter('surgeguard_remediation_decisions_total', 'Healing decisions by action, outcome and reason.', ['action', 'decision', 'reason']);
  const entries: RemediationEntry[] = [];
  const last = new Map<string, string>();
  return {
    async record(e, nowMs) {
      const sig = `${e.step}|${e.decision}|${e.reason}`;
      if (last.get(e.key) === sig) return;
      last.set(e.key, sig);
      const entry: RemediationEntry = { at: new Date(nowMs).toISOString(), ...e };
      entries.push(entry);
      if (entries.length > kept) entries.splice(0, entries.length - kept);
      counter.inc({ action: e.action, decision: e.decision, reason: e.reason });
      const level = e.decision === 'failed' ? 'error' : e.decision === 'blocked' ? 'warn' : 'info';
      deps.logger[level]({ key: e.key, check: e.check, target: e.target, action: e.action, step: e.step, decision: e.decision, reason: e.reason }, e.message);
      const ref = refOf(e.target, deps.eventNamespace);
      if (!ref) return;
      // An Event that cannot be written must not stop the repair; the log line above has it.
      await deps.writer.event(ref, e.decision === 'acted' || e.decision === 'dry_run' || e.decision === 'skipped' ? 'Normal' : 'Warning', e.reason, e.message).catch((err: unknown) => {
        deps.logger.warn({ err, reason: e.reason }, 'could not write the remediation Event');
      });
    },
    forget(key) {
      last.delete(key);
    },
    list(opts = {}) {
      const list = opts.target ? entries.filter((e) => e.target.name === opts.target) : entries;
      return list.slice(-(opts.limit ?? 100)).reverse();
    },
  };
}

/** Nodes get Events in the default namespace (as the kubelet's do); other targets in ours. */
function refOf(t: Finding['target'], ns: string): ObjectRef | undefined {
  if (t.kind === 'Node') return { apiVersion: 'v1', kind: 'Node', name: t.name, namespace: 'default', uid: t.name };
  if (t.kind === 'Pod' && t.namespace) return { apiVersion: 'v1', kind: 'Pod', name: t.name, namespace: t.namespace };
  return { apiVersion: 'v1', kind: 'ConfigMap', name: 'surgeguard-controller', namespace: ns };
}
