import type { V1Node } from '@kubernetes/client-node';
import type { HealingConfig } from '../config.ts';
import type { HealingCluster } from '../cluster.ts';
import type { NodeRemediation } from '../state.ts';
import type { Finding } from '../types.ts';

/**
 * The cordon-node remediation, the first step of every node repair: the node gets
 * `spec.unschedulable`, the taint `surgeguard.io/unhealthy:NoSchedule` (value: the check) and
 * the remediation record, in one write. A fatal fault goes straight to draining; a degraded
 * one first waits for replacements (see drain-node.ts).
 */
export function cordonNode(deps: { cluster: HealingCluster }, config: HealingConfig['drain']): {
  plan(finding: Finding & { fault: 'fatal' | 'degraded' }, nowMs: number): NodeRemediation;
  /** Returns the node as written, for the next step in the same tick. */
  apply(node: V1Node, remediation: NodeRemediation, nowMs: number): Promise<V1Node>;
} {
  return {
    plan(finding, nowMs) {
      const now = Math.floor(nowMs / 1000);
      const base = { key: `${finding.check}/Node/${finding.target.name}`, check: finding.check, fault: finding.fault, summary: finding.summary, startedAtUnix: now };
      return finding.fault === 'fatal' ? { ...base, phase: 'draining' } : { ...base, phase: 'awaiting-replacements', deadlineUnix: now + config.replacementTimeoutSeconds, floors: [] };
    },
    apply(node, remediation, nowMs) {
      return deps.cluster.cordon(node, remediation, Math.floor(nowMs / 1000));
    },
  };
}
