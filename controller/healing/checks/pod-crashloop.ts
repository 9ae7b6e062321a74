import type { HealingConfig } from '../config.ts';
import type { CheckContext, Finding, HealthCheck } from '../types.ts';

/**
 * The pod-crashloop check: a container in CrashLoopBackOff after the configured restarts. The
 * kubelet already restarts it, so SurgeGuard does not: it tells on-call, with the last exit.
 */
export function podCrashLoopCheck(_deps: unknown, config: HealingConfig['checks']): HealthCheck {
  return {
    name: 'pod-crashloop',
    async run(ctx: CheckContext): Promise<Finding[]> {
      const out: Finding[] = [];
      for (const p of ctx.pods) {
        if (p.metadata?.deletionTimestamp) continue;
        for (const c of p.status?.containerStatuses ?? []) {
          if (c.state?.waiting?.reason !== 'CrashLoopBackOff' || c.restartCount < config.crashLoopRestarts) continue;
          const last = c.lastState?.terminated;
          out.push({
            check: 'pod-crashloop',
            severity: 'warning',
            fault: 'notice',
            target: { kind: 'Pod', name: p.metadata?.name ?? '', namespace: p.metadata?.namespace, node: p.spec?.nodeName },
            summary: `container ${c.name} of pod ${p.metadata?.namespace}/${p.metadata?.name} is crash-looping (${c.restartCount} restarts${last ? `, last exit ${last.exitCode} ${last.reason ?? ''}`.trimEnd() : ''})`,
            evidence: { container: c.name, restarts: c.restartCount, lastExitCode: last?.exitCode, lastReason: last?.reason },
          });
          break;
        }
      }
      return out;
    },
  };
}
