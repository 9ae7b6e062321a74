import type { HealingCluster } from '../cluster.ts';
import type { Finding } from '../types.ts';

export type RestartResult = { outcome: 'acted'; reason: 'PodRestarted' } | { outcome: 'skipped'; reason: 'PodGone' } | { outcome: 'blocked'; reason: 'PodDisruptionBudget'; detail: string };

/**
 * The restart-pod remediation: evicts the pod through the Eviction API, so its owner makes a
 * new one (elsewhere if the node is cordoned) and PodDisruptionBudgets are honoured. A PDB
 * refusal (HTTP 429) is a blocked decision, tried again next tick, not a failure.
 */
export function restartPod(deps: { cluster: HealingCluster }): { apply(finding: Finding): Promise<RestartResult> } {
  return {
    async apply(finding) {
      const r = await deps.cluster.evict(finding.target.namespace ?? 'default', finding.target.name);
      if (r === 'evicted') return { outcome: 'acted', reason: 'PodRestarted' };
      if (r === 'gone') return { outcome: 'skipped', reason: 'PodGone' };
      return { outcome: 'blocked', reason: 'PodDisruptionBudget', detail: r.blocked };
    },
  };
}
