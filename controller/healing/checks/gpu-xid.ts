import type { HealingConfig } from '../config.ts';
import type { CheckContext, FaultClass, Finding, HealthCheck, Severity } from '../types.ts';
import { ACTION_CLASS, compileXidPolicy, XID_MEANINGS, type XidAction } from '../xid-policy.ts';

interface XidClass {
  fault: FaultClass;
  severity: Severity;
  meaning: string;
}

/**
 * The driver's own verdict (`gpu_recovery_action`, R535+), which wins over the XID code where
 * it is reported: it knows the GPU's state after the error, the code alone does not.
 */
export const RECOVERY_ACTIONS: Readonly<Record<string, XidClass>> = {
  reset: { fault: 'fatal', severity: 'critical', meaning: 'the driver asks for a GPU reset' },
  reboot: { fault: 'fatal', severity: 'critical', meaning: 'the driver asks for a node reboot' },
  drain_and_reset: { fault: 'degraded', severity: 'warning', meaning: 'the driver asks to drain, then reset the GPU' },
  drain_p2p: { fault: 'degraded', severity: 'warning', meaning: 'the driver asks to drain peer-to-peer traffic' },
};

const RANK: Record<FaultClass, number> = { fatal: 4, degraded: 3, app: 2, stuck: 1, notice: 0 };
/** Between two notices on one node, the page wins over the watch. */
const SEVERITY_RANK: Record<Severity, number> = { critical: 2, warning: 1, info: 0 };

/**
 * The gpu-xid check: XID errors read by the agents from the kernel log, classified by the XID policy
 * (`healing.checks.xidPolicy`, xid-policy.ts: today's table unless configured), escalated when a code
 * repeats on one GPU as a rule says, and overruled by the driver's own recovery action.
 */
export function gpuXidCheck(_deps: unknown, config: HealingConfig['checks']): HealthCheck {
  const policy = compileXidPolicy(config.xidPolicy);
  return {
    name: 'gpu-xid',
    async run(ctx: CheckContext): Promise<Finding[]> {
      if (!ctx.query) return [];
      const query = ctx.query;
      const [xids, actions, allocations, ...repeatAnswers] = await Promise.all([
        query(`surgeguard_gpu_xid_last_timestamp_seconds > (time() - ${config.xidWindowSeconds})`),
        query('surgeguard_gpu_recovery_action{action!="none"} == 1'),
        query('surgeguard_gpu_allocation'),
        // increase() extrapolates at the window's edges: rounded, it counts whole occurrences.
        ...policy.repeats.map((r) => query(`round(increase(surgeguard_gpu_xid_errors_total{xid=~"${r.xids.join('|')}"}[${Math.round(r.windowSeconds)}s])) >= ${r.count}`)),
      ]);
      const repeated = new Set(repeatAnswers.flat().map((a) => `${a.labels.node}/${a.labels.uuid}/${a.labels.xid}`));
      const actionOf = new Map(actions.map((a) => [`${a.labels.node}/${a.labels.uuid}`, a.labels.action ?? '']));
      const byNode = new Map<string, Finding>();
      const out: Finding[] = [];
      for (const x of xids) {
        const node = x.labels.node ?? '';
        const xid = x.labels.xid ?? '';
        const action = actionOf.get(`${node}/${x.labels.uuid}`);
        const decided = policy.decide(Number(xid));
        const escalated = decided.repeat !== undefined && repeated.has(`${node}/${x.labels.uuid}/${xid}`);
        const xidAction = escalated && decided.repeat ? decided.repeat.action : decided.action;
        const byDriver = action ? RECOVERY_ACTIONS[action] : undefined;
        if (!byDriver && xidAction === 'ignore') continue;
        const meaning = XID_MEANINGS[Number(xid)] ?? (decided.from === 'otherXids' ? 'not in the XID policy' : `XID ${xid}`);
        const cls: XidClass = byDriver ?? { ...ACTION_CLASS[xidAction as Exclude<XidAction, 'ignore'>], meaning: escalated && decided.repeat ? `${meaning}, ${decided.repeat.count} times within ${decided.repeat.windowSeconds} s` : meaning };
        const evidence = { xid, gpu: x.labels.gpu, uuid: x.labels.uuid, recoveryAction: action, lastSeenUnix: x.value, classifiedBy: byDriver ? 'gpu_recovery_action' : 'xid', policy: byDriver ? undefined : `${xidAction} (${escalated ? 'repeat' : decided.from})` };
        const summary = `XID ${xid} (${cls.meaning}) on GPU ${x.labels.gpu ?? '?'} of node ${node}`;
        if (cls.fault === 'app') {
          const holders = allocations.filter((a) => a.labels.node === node && a.labels.uuid === x.labels.uuid && a.labels.pod);
          for (const h of holders) {
            out.push({ check: 'gpu-xid', severity: cls.severity, fault: 'app', target: { kind: 'Pod', name: h.labels.pod ?? '', namespace: h.labels.namespace, node }, summary: `${summary}, held by pod ${h.labels.namespace}/${h.labels.pod}`, evidence });
          }
          if (holders.length > 0) continue;
        }
        // Node-level: one finding per node, the worst class among its GPUs.
        const prev = byNode.get(node);
        const fault = cls.fault === 'app' ? 'notice' : cls.fault;
        if (!prev || RANK[fault] > RANK[prev.fault] || (RANK[fault] === RANK[prev.fault] && SEVERITY_RANK[cls.severity] > SEVERITY_RANK[prev.severity])) {
          byNode.set(node, { check: 'gpu-xid', severity: cls.severity, fault, target: { kind: 'Node', name: node }, summary, evidence: { ...evidence, all: [...((prev?.evidence.all as unknown[]) ?? []), evidence] } });
        } else {
          (prev.evidence.all as unknown[]).push(evidence);
        }
      }
      return [...out, ...byNode.values()];
    },
  };
}
