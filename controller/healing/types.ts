import type { V1Node, V1Pod } from '@kubernetes/client-node';

/** How bad a finding is; also picks the on-call receivers. */
export type Severity = 'critical' | 'warning' | 'info';

/**
 * What a fault means for the node, which decides the repair:
 * - `fatal`: the GPU is gone or corrupting results; cordon and evict at once.
 * - `degraded`: slower or wearing out (thermal, rising correctable errors); cordon, raise the
 *   affected scalers' floors, drain once replacements are ready (make before break).
 * - `app`: the fault implicates the application on one GPU; restart that pod.
 * - `stuck`: a pod that will not become ready; restart it.
 * - `notice`: nothing to repair here; tell on-call.
 */
export type FaultClass = 'fatal' | 'degraded' | 'app' | 'stuck' | 'notice';

export type Remediation = 'drain-node' | 'cordon-node' | 'restart-pod' | 'notify' | 'node-condition';

export interface Target {
  kind: 'Node' | 'Pod' | 'ConsumerGroup' | 'Fleet';
  name: string;
  namespace?: string;
  /** The node a pod runs on, so node-level safety limits see pod restarts too. */
  node?: string;
}

/** One thing a health check found wrong, with the evidence that shows it. */
export interface Finding {
  check: string;
  severity: Severity;
  fault: FaultClass;
  target: Target;
  /** Short, for a log line and an Event: "XID 79 (GPU fell off the bus) on GPU 3". */
  summary: string;
  /** What the check saw (metric values, labels, pod status), kept in the audit entry. */
  evidence: Record<string, unknown>;
}

/** A stable key per finding: the same problem seen again is the same key (deduplication). */
export function findingKey(f: Pick<Finding, 'check' | 'target'>): string {
  const t = f.target;
  return `${f.check}/${t.kind}/${t.namespace ? `${t.namespace}/` : ''}${t.name}`;
}

/** A vector query against Prometheus (the agents' metrics). */
export type VectorQuery = (expr: string) => Promise<Array<{ labels: Record<string, string>; value: number }>>;

/** What every check may read; built once per healing tick. */
export interface CheckContext {
  readonly nowMs: number;
  readonly nodes: readonly V1Node[];
  readonly pods: readonly V1Pod[];
  /** undefined when no Prometheus is configured: the Prometheus-based checks report nothing. */
  readonly query?: VectorQuery;
}

/** A health check: one file each, registered in checks/index.ts. */
export interface HealthCheck {
  readonly name: string;
  run(ctx: CheckContext): Promise<Finding[]>;
}
