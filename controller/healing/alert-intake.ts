import { z } from 'zod';
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
  /** Takes one delivery; returns how many alerts were new, updated or resolved. */
  accept(body: AlertmanagerWebhook, nowMs: number): { firing: number; resolved: number };
  /** The check that turns the alerts still firing into findings. */
  check(): HealthCheck;
}

/**
 * Alerts delivered by Alertmanager, kept by fingerprint until resolved or past their endsAt
 * (Alertmanager re-sends firing alerts, so a missed "resolved" expires on its own). The same
 * alert delivered twice is one entry, so it leads to one finding and one action.
 */
export function createAlertIntake(opts: { now: () => number }): AlertIntake {
  const firing = new Map<string, { alert: AmAlert; endsAtMs: number }>();
  return {
    accept(body, nowMs) {
      let f = 0;
      let r = 0;
      for (const a of body.alerts) {
        if (a.status === 'resolved') {
          firing.delete(a.fingerprint);
          r++;
          continue;
        }
        const ends = Date.parse(a.endsAt);
        // Alertmanager sends endsAt = now + resolve_timeout for firing alerts; the zero time
        // ("0001-01-01") means "until told otherwise".
        firing.set(a.fingerprint, { alert: a, endsAtMs: Number.isFinite(ends) && ends > nowMs ? ends : Number.POSITIVE_INFINITY });
        f++;
      }
      return { firing: f, resolved: r };
    },
    check() {
      return {
        name: 'alertmanager',
        async run() {
          const now = opts.now();
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
