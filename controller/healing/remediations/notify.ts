import type { Notice } from '../oncall.ts';
import type { Finding } from '../types.ts';

/**
 * The notify remediation: what on-call is told for a finding, with SurgeGuard's decision in
 * words. Every finding above `info` is told, acted on or not: on-call should know that a node
 * was cordoned as much as that it could not be.
 */
export function notify(): { notice(finding: Finding, decision: string | undefined): Notice | undefined } {
  return {
    notice(finding, decision) {
      if (finding.severity === 'info') return undefined;
      return { finding, decision: decision ?? 'reported; no automatic repair for this kind of problem' };
    },
  };
}
