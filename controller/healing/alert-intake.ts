import { z } from 'zod';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import type { FaultClass, Finding, HealthCheck, Severity, Target } from './types.ts';

/** One alert of Alertmanager's webhook body, version 4. */
const amAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()).refine((l) => typeof l.alertname === 'string' && l.alertname.length > 0, { message: 'labels.alertname is required' }),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.string(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1),
});

/** Alertmanager's webhook body, version 4 (prometheus/alertmanager notify/webhook). */
export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: z.record(z.string(), z.string()).default({}),
  commonLabels: z.record(z.string(), z.string()).default({}),
  commonAnnotations: z.record(z.string(), z.string()).default({}),
  externalURL: z.string().default(''),
  alerts: z.array(amAlert).min(1),
});

export type AlertmanagerWebhook = z.output<typeof alertmanagerWebhookSchema>;
type AmAlert = z.output<typeof amAlert>;

/**
 * What a shipped alert means when no `surgeguard_fault` label says otherwise. The rules in
 * rules/ set the label; this table covers rules written before it existed.
 */
const FAULT_BY_ALERT: Readonly<Record<string, FaultClass>> = {
  SurgeGuardGpuXidCritical: 'fatal',
  SurgeGuardGpuEccUncorrectable: 'fatal',
  SurgeGuardGpuMissing: 'fatal',
  SurgeGuardGpuThermalSlowdown: 'degraded',
};
const FAULTS = new Set<FaultClass>(['fatal', 'degraded', 'app', 'stuck', 'notice']);
const SEVERITIES = new Set<Severity>(['critical', 'warning', 'info']);

/** Maps an alert to a finding by its labels: node, pod + namespace, consumer_group, or fleet-wide. */
export function findingOfAlert(a: AmAlert): Finding {
  const l = a.labels;
  const target: Target = l.node
    ? { kind: 'Node', name: l.node }
    : l.pod && l.namespace
      ? { kind: 'Pod', name: l.pod, namespace: l.namespace, ...(l.node ? { node: l.node } : {}) }
      : l.consumer_group
        ? { kind: 'ConsumerGroup', name: l.consumer_group }
        : { kind: 'Fleet', name: l.alertname ?? 'alert' };
  const named = l.surgeguard_fault as FaultClass | undefined;
  let fault: FaultClass = named && FAULTS.has(named) ? named : (FAULT_BY_ALERT[l.alertname ?? ''] ?? 'notice');
  // Only a node or pod can be repaired; anything else is for on-call.
  if (target.kind !== 'Node' && target.kind !== 'Pod') fault = 'notice';
  if (target.kind === 'Pod' && (fault === 'fatal' || fault === 'degraded')) fault = 'stuck';
  const severity = SEVERITIES.has(l.severity as Severity) ? (l.severity as Severity) : 'warning';
  return {
    check: `alert/${l.alertname}`,
    severity,
    fault,
    target,
    summary: a.annotations.summary ?? `${l.alertname} firing`,
    evidence: { fingerprint: a.fingerprint, labels: l, startsAt: a.startsAt, generatorURL: a.generatorURL },
  };
}

export interface AlertIntake {
  /**
   * Takes one delivery; returns how many alerts were new, updated or resolved. On a replica
   * that does not lead it throws {@link NotLeaderError} instead (the route answers 503).
   */
  accept(body: AlertmanagerWebhook, nowMs: number): { firing: number; resolved: number };
  /** The check that turns the alerts still firing into findings. */
  check(): HealthCheck;
}

export interface AlertIntakeDeps {
  now: () => number;
  /** Whether this replica leads; absent: it always does (one replica, no election). */
  isLeader?: () => boolean;
  metrics?: MetricRegistry;
  logger?: Logger;
}

/**
 * Thrown by `accept` on a standby. Fastify answers with its `statusCode` and `headers`: 503, so
 * Alertmanager retries, and `Connection: close`, so the retry opens a new connection, which the
 * Service balances afresh (kube-proxy picks an endpoint per connection, and a kept-alive one
 * would take every retry back to this standby).
 */
export class NotLeaderError extends Error {
  readonly statusCode = 503;
  readonly headers = { connection: 'close', 'retry-after': '1' };
  constructor() {
    super('this replica is a standby: alerts are taken by the leader; Alertmanager retries on another connection');
    this.name = 'NotLeaderError';
  }
}

/** Alertmanager's zero time ("0001-01-01T00:00:00Z", Go's time.Time{}): firing with no end. */
function endsAtMs(endsAt: string): number {
  const t = Date.parse(endsAt);
  return Number.isFinite(t) && t > 0 ? t : Number.POSITIVE_INFINITY;
}

/**
 * Alerts delivered by Alertmanager, kept by fingerprint until resolved or past their endsAt
 * (Alertmanager re-sends firing alerts, so a missed "resolved" expires on its own). The same
 * alert delivered twice is one entry, so it leads to one finding and one action. Only the
 * leader keeps them: both replicas sit behind one Service, and an alert a standby took would
 * never reach the healing loop, which runs on the leader.
 */
export function createAlertIntake(deps: AlertIntakeDeps): AlertIntake {
  const firing = new Map<string, { alert: AmAlert; endsAtMs: number }>();
  const refused = deps.metrics?.counter('surgeguard_alerts_refused_total', 'Alertmanager deliveries refused with 503 because this replica is a standby (Alertmanager retries them).', ['reason']);
  return {
    accept(body, _nowMs) {
      if (deps.isLeader && !deps.isLeader()) {
        refused?.inc({ reason: 'not_leader' });
        deps.logger?.debug({ groupKey: body.groupKey, alerts: body.alerts.length }, 'alerts refused with 503: this replica is a standby');
        throw new NotLeaderError();
      }
      let f = 0;
      let r = 0;
      for (const a of body.alerts) {
        if (a.status === 'resolved') {
          firing.delete(a.fingerprint);
          r++;
          continue;
        }
        // A firing alert's endsAt is either the zero time (until told otherwise) or when it
        // expires if no update comes; one already past expires at the next check.
        firing.set(a.fingerprint, { alert: a, endsAtMs: endsAtMs(a.endsAt) });
        f++;
      }
      return { firing: f, resolved: r };
    },
    check() {
      return {
        name: 'alertmanager',
        async run() {
          const now = deps.now();
          const out: Finding[] = [];
          for (const [fp, e] of firing) {
            if (e.endsAtMs <= now) firing.delete(fp);
            else out.push(findingOfAlert(e.alert));
          }
          return out;
        },
      };
    },
  };
}
