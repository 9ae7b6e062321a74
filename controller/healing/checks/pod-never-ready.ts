import type { V1Pod } from '@kubernetes/client-node';
import type { HealingConfig } from '../config.ts';
import type { CheckContext, Finding, HealthCheck } from '../types.ts';

/** The pods' owner (their ReplicaSet), so siblings share one observed startup time. */
function ownerOf(p: V1Pod): string {
  const o = p.metadata?.ownerReferences?.find((r) => r.controller);
  return o ? `${p.metadata?.namespace}/${o.kind}/${o.name}` : '';
}

function readyAtMs(p: V1Pod): number | undefined {
  const c = p.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
  return c?.lastTransitionTime ? new Date(c.lastTransitionTime).getTime() : undefined;
}

/**
 * The p90 of creation to Ready per owner, over the owned pods that became ready. One pass and one
 * sort per owner: the check runs every healing interval over every pod of the cluster (30,000 in
 * the scale benchmark), where growing a copied array per pod and sorting it again per waiting pod
 * took seconds of the event loop each time (docs/scale.md, run 6). Bare pods are never restarted,
 * so they are not read here.
 */
function siblingStartupP90s(pods: readonly V1Pod[]): Map<string, number> {
  const startups = new Map<string, number[]>();
  for (const p of pods) {
    const owner = ownerOf(p);
    if (!owner) continue;
    const ready = readyAtMs(p);
    const created = p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : undefined;
    if (ready === undefined || created === undefined) continue;
    const list = startups.get(owner);
    if (list) list.push((ready - created) / 1000);
    else startups.set(owner, [(ready - created) / 1000]);
  }
  const p90s = new Map<string, number>();
  for (const [owner, xs] of startups) {
    xs.sort((a, b) => a - b);
    p90s.set(owner, xs[Math.max(0, Math.ceil(0.9 * xs.length) - 1)] as number);
  }
  return p90s;
}

/**
 * The pod-never-ready check: a scheduled pod, not crash-looping, that has not become ready
 * within `neverReadyFactor` times the startup time its siblings showed (p90 of creation to
 * Ready), or within `neverReadyMinSeconds` when it has no ready sibling. Restarting it lets
 * it land elsewhere (a stuck image pull, a wedged GPU context).
 */
export function podNeverReadyCheck(_deps: unknown, config: HealingConfig['checks']): HealthCheck {
  return {
    name: 'pod-never-ready',
    async run(ctx: CheckContext): Promise<Finding[]> {
      const p90s = siblingStartupP90s(ctx.pods);
      const out: Finding[] = [];
      for (const p of ctx.pods) {
        if (p.metadata?.deletionTimestamp || !p.spec?.nodeName || readyAtMs(p) !== undefined || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
        const owner = ownerOf(p);
        if (!owner) continue; // a bare pod would not come back after a restart
        if ((p.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff')) continue; // pod-crashloop's
        const created = p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : ctx.nowMs;
        const ageSeconds = (ctx.nowMs - created) / 1000;
        const p90 = p90s.get(owner);
        const limit = p90 !== undefined ? Math.max(config.neverReadyFactor * p90, 5) : config.neverReadyMinSeconds;
        if (ageSeconds <= limit) continue;
        out.push({
          check: 'pod-never-ready',
          severity: 'warning',
          fault: 'stuck',
          target: { kind: 'Pod', name: p.metadata?.name ?? '', namespace: p.metadata?.namespace, node: p.spec.nodeName },
          summary: `pod ${p.metadata?.namespace}/${p.metadata?.name} not ready after ${Math.round(ageSeconds)} s (limit ${Math.round(limit)} s${p90 !== undefined ? `: ${config.neverReadyFactor} × the ${Math.round(p90)} s its siblings took` : ''})`,
          evidence: { ageSeconds: Math.round(ageSeconds), limitSeconds: Math.round(limit), siblingsStartupP90Seconds: p90, phase: p.status?.phase },
        });
      }
      return out;
    },
  };
}
