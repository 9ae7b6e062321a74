import type { HealingConfig } from '../config.ts';
import type { CheckContext, FaultClass, Finding, HealthCheck, Severity } from '../types.ts';

interface XidClass {
  fault: FaultClass;
  severity: Severity;
  meaning: string;
}

/**
 * XID codes by what they mean for the node, from NVIDIA's XID catalogue ("XID Errors",
 * docs.nvidia.com/deploy/xid-errors): the catalogue's "Resolution" column says whether the
 * node needs a GPU reset or reboot (node fault) or whether the application on that GPU is the
 * likely cause (restart it). Codes not listed here are reported to on-call, not acted on.
 */
export const XID_CLASSES: Readonly<Record<string, XidClass>> = {
  // Node faults: the GPU needs a reset or the node a reboot; evict the node's pods now.
  '48': { fault: 'fatal', severity: 'critical', meaning: 'double-bit ECC error' },
  '74': { fault: 'fatal', severity: 'critical', meaning: 'NVLink error' },
  '79': { fault: 'fatal', severity: 'critical', meaning: 'GPU has fallen off the bus' },
  '95': { fault: 'fatal', severity: 'critical', meaning: 'uncontained ECC error' },
  '119': { fault: 'fatal', severity: 'critical', meaning: 'GSP RPC timeout' },
  '120': { fault: 'fatal', severity: 'critical', meaning: 'GSP error' },
  // Application faults: the catalogue points at the user's code or a contained error the
  // driver already isolated to one context; restarting the pod on that GPU is the repair.
  '13': { fault: 'app', severity: 'warning', meaning: 'graphics engine exception' },
  '31': { fault: 'app', severity: 'warning', meaning: 'GPU memory page fault' },
  '43': { fault: 'app', severity: 'warning', meaning: 'GPU stopped processing' },
  '45': { fault: 'app', severity: 'warning', meaning: 'preemptive cleanup, due to previous errors' },
  '68': { fault: 'app', severity: 'warning', meaning: 'NVDEC0 exception' },
  '94': { fault: 'app', severity: 'warning', meaning: 'contained ECC error' },
  // A warning: the GPU still works, but its memory is wearing.
  '92': { fault: 'notice', severity: 'warning', meaning: 'high single-bit ECC error rate' },
};

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

/** The gpu-xid check: XID errors read by the agents from the kernel log, classified. */
export function gpuXidCheck(_deps: unknown, config: HealingConfig['checks']): HealthCheck {
  return {
    name: 'gpu-xid',
    async run(ctx: CheckContext): Promise<Finding[]> {
      if (!ctx.query) return [];
      const [xids, actions, allocations] = await Promise.all([
        ctx.query(`surgeguard_gpu_xid_last_timestamp_seconds > (time() - ${config.xidWindowSeconds})`),
        ctx.query('surgeguard_gpu_recovery_action{action!="none"} == 1'),
        ctx.query('surgeguard_gpu_allocation'),
      ]);
      const actionOf = new Map(actions.map((a) => [`${a.labels.node}/${a.labels.uuid}`, a.labels.action ?? '']));
      const byNode = new Map<string, Finding>();
      const out: Finding[] = [];
      for (const x of xids) {
        const node = x.labels.node ?? '';
        const xid = x.labels.xid ?? '';
        const action = actionOf.get(`${node}/${x.labels.uuid}`);
        const cls = (action ? RECOVERY_ACTIONS[action] : undefined) ?? XID_CLASSES[xid] ?? { fault: 'notice', severity: 'warning', meaning: 'not in the classified list' };
        const evidence = { xid, gpu: x.labels.gpu, uuid: x.labels.uuid, recoveryAction: action, lastSeenUnix: x.value, classifiedBy: action && RECOVERY_ACTIONS[action] ? 'gpu_recovery_action' : 'xid' };
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
        if (!prev || RANK[fault] > RANK[prev.fault]) {
          byNode.set(node, { check: 'gpu-xid', severity: cls.severity, fault, target: { kind: 'Node', name: node }, summary, evidence: { ...evidence, all: [...((prev?.evidence.all as unknown[]) ?? []), evidence] } });
        } else {
          (prev.evidence.all as unknown[]).push(evidence);
        }
      }
      return [...out, ...byNode.values()];
    },
  };
}
