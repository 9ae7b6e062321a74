import { createHash, createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { settlesWithin } from '../../common/deadline.ts';
import { ErrorCode, SurgeGuardError, errorMessage } from '../../common/errors.ts';
import { redactUrls } from '../../common/redact.ts';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import type { HealingConfig, ReceiverConfig } from './config.ts';
import { findingKey, type Finding } from './types.ts';

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'x-surgeguard-signature';

/** What on-call is told about a finding: the finding and what SurgeGuard did about it. */
export interface Notice {
  finding: Finding;
  /** "cordoned and draining", "blocked: CordonLimit ...": the decision in words. */
  decision: string;
}

export interface OnCall {
  /**
   * Called once per healing tick with every problem on-call should know of now: new ones are
   * sent, known ones re-sent after the repeat interval, and ones no longer present are sent
   * as resolved. Sending happens in the background with retries; the tick does not wait.
   */
  update(notices: readonly Notice[], nowMs: number): void;
  /** Waits for the deliveries in flight, at most `ms`. */
  flush(ms: number): Promise<void>;
}

export interface OnCallDeps {
  logger: Logger;
  metrics: MetricRegistry;
  fetch: typeof fetch;
  /** Reads a key or token file (given so tests and the loop share one reader). */
  readSecret: (file: string) => string;
}

interface Active {
  notice: Notice;
  startsAtMs: number;
  lastSentMs: number;
}

/** On-call receivers by severity; deduplicates by finding key; sends resolved when a problem goes. */
export function createOnCall(deps: OnCallDeps, config: HealingConfig['oncall']): OnCall {
  // Every key and token file is read here, at start: a missing one is a configuration error
  // now, not an unhandled rejection on the first critical finding (which killed both replicas).
  const lastGood = readReceiverSecrets(config.receivers, deps.readSecret);
  const sent = deps.metrics.counter('surgeguard_oncall_notifications_total', 'Notifications to on-call receivers by kind (firing, resolved) and result (ok, failed).', ['receiver', 'kind', 'result']);
  const secretErrors = deps.metrics.counter('surgeguard_oncall_secret_read_errors_total', 'Re-reads of a receiver\'s token or key file that failed at delivery (the value read last was used).', ['receiver']);
  const active = new Map<string, Active>();
  const inFlight = new Set<Promise<void>>();

  /** The file's current value; on a failed re-read (a Secret mid-rotation) the value read last. */
  const secret = (r: ReceiverConfig, file: string): string => {
    try {
      const v = deps.readSecret(file);
      if (v.length > 0) {
        lastGood.set(file, v);
        return v;
      }
      throw new Error('the file is empty');
    } catch (err) {
      secretErrors.inc({ receiver: r.name });
      deps.logger.warn({ receiver: r.name, file, err: errorMessage(err) }, 'cannot re-read an on-call secret file; sending with the value read last');
      return lastGood.get(file) ?? '';
    }
  };

  const deliver = async (r: ReceiverConfig, a: Active, status: 'firing' | 'resolved', nowMs: number): Promise<void> => {
    const body = r.format === 'alertmanager' ? JSON.stringify(alertmanagerBody(r, a, status, nowMs, config.externalUrl)) : JSON.stringify(jsonBody(a, status, nowMs));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'surgeguard-controller' };
    if (r.bearerTokenFile) headers.authorization = `Bearer ${secret(r, r.bearerTokenFile)}`;
    if (r.format === 'json' && r.hmacKeyFile) headers[SIGNATURE_HEADER] = sign(secret(r, r.hmacKeyFile), body, Math.floor(nowMs / 1000));
    let lastError = '';
    for (let attempt = 1; attempt <= config.attempts; attempt++) {
      try {
        const res = await deps.fetch(r.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(config.timeoutMs) });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          sent.inc({ receiver: r.name, kind: status, result: 'ok' });
          deps.logger.info({ receiver: r.name, key: findingKey(a.notice.finding), status, attempt }, 'on-call notified');
          return;
        }
        lastError = `HTTP ${res.status}`;
        // A 4xx other than 429 will not get better by retrying: the body or the auth is wrong.
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        lastError = errorMessage(err);
      }
      if (attempt < config.attempts) await sleep(config.initialBackoffMs * 2 ** (attempt - 1));
    }
    sent.inc({ receiver: r.name, kind: status, result: 'failed' });
    deps.logger.error({ receiver: r.name, key: findingKey(a.notice.finding), status, error: redactUrls(lastError) }, 'on-call notification failed after retries');
  };

  /** A delivery that can never reject: whatever goes wrong is logged and counted, and the process lives on. */
  const deliverSafely = (r: ReceiverConfig, a: Active, status: 'firing' | 'resolved', nowMs: number): Promise<void> =>
    deliver(r, a, status, nowMs).catch((err: unknown) => {
      sent.inc({ receiver: r.name, kind: status, result: 'failed' });
      deps.logger.error({ receiver: r.name, key: findingKey(a.notice.finding), status, error: redactUrls(errorMessage(err)) }, 'on-call notification failed');
    });

  const send = (a: Active, status: 'firing' | 'resolved', nowMs: number): void => {
    for (const r of config.receivers) {
      if (!r.severities.includes(a.notice.finding.severity)) continue;
      const p = deliverSafely(r, a, status, nowMs).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  };

  return {
    update(notices, nowMs) {
      const seen = new Set<string>();
      for (const n of notices) {
        const key = findingKey(n.finding);
        seen.add(key);
        const a = active.get(key);
        if (!a) {
          const fresh = { notice: n, startsAtMs: nowMs, lastSentMs: nowMs };
          active.set(key, fresh);
          send(fresh, 'firing', nowMs);
        } else {
          a.notice = n;
          if (config.repeatIntervalSeconds > 0 && nowMs - a.lastSentMs >= config.repeatIntervalSeconds * 1000) {
            a.lastSentMs = nowMs;
            send(a, 'firing', nowMs);
          }
        }
      }
      for (const [key, a] of active) {
        if (seen.has(key)) continue;
        active.delete(key);
        send(a, 'resolved', nowMs);
      }
    },
    async flush(ms) {
      await settlesWithin(Promise.allSettled([...inFlight]), ms);
    },
  };
}

/**
 * Reads every receiver's token and key file once, at start, and fails with one coded
 * configuration error naming each config key and file that cannot be read or is empty.
 */
export function readReceiverSecrets(receivers: readonly ReceiverConfig[], readSecret: (file: string) => string): Map<string, string> {
  const values = new Map<string, string>();
  const problems: string[] = [];
  receivers.forEach((r, i) => {
    for (const key of ['bearerTokenFile', 'hmacKeyFile'] as const) {
      const file = r[key];
      if (file === undefined) continue;
      try {
        const v = readSecret(file);
        if (v.length === 0) problems.push(`healing.oncall.receivers.${i}.${key} (receiver ${r.name}): ${file} is empty`);
        else values.set(file, v);
      } catch (err) {
        problems.push(`healing.oncall.receivers.${i}.${key} (receiver ${r.name}): cannot read ${file}: ${errorMessage(err)}`);
      }
    }
  });
  if (problems.length > 0) {
    throw new SurgeGuardError(ErrorCode.ConfigInvalid, `invalid configuration: ${problems.join('; ')}`, { details: { problems } });
  }
  return values;
}

/** `t=<unix>,v1=<hex>`: the timestamp is signed too, so a captured body cannot be replayed later. */
export function sign(key: string, body: string, unix: number): string {
  return `t=${unix},v1=${createHmac('sha256', key).update(`${unix}.${body}`).digest('hex')}`;
}

function labelsOf(f: Finding): Record<string, string> {
  const t = f.target;
  const l: Record<string, string> = { alertname: `SurgeGuard${f.check.replace(/^alert\//, '').replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`, severity: f.severity, check: f.check, fault: f.fault };
  if (t.kind === 'Node') l.node = t.name;
  if (t.kind === 'Pod') Object.assign(l, { pod: t.name, namespace: t.namespace ?? '', ...(t.node ? { node: t.node } : {}) });
  if (t.kind === 'ConsumerGroup') l.consumer_group = t.name;
  return l;
}

/** Alertmanager's webhook body, version 4, so any receiver built for Alertmanager takes it. */
export function alertmanagerBody(r: ReceiverConfig, a: Active, status: 'firing' | 'resolved', nowMs: number, externalUrl: string | undefined): object {
  const key = findingKey(a.notice.finding);
  const labels = labelsOf(a.notice.finding);
  const annotations = { summary: a.notice.finding.summary, description: `${a.notice.finding.summary}. SurgeGuard: ${a.notice.decision}.` };
  return {
    version: '4',
    groupKey: `{}:{key="${key}"}`,
    truncatedAlerts: 0,
    status,
    receiver: r.name,
    groupLabels: {},
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: externalUrl ?? '',
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt: new Date(a.startsAtMs).toISOString(),
        endsAt: status === 'resolved' ? new Date(nowMs).toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: externalUrl ? `${externalUrl.replace(/\/$/, '')}/api/remediations?target=${encodeURIComponent(a.notice.finding.target.name)}` : '',
        fingerprint: createHash('sha256').update(key).digest('hex').slice(0, 16),
      },
    ],
  };
}

function jsonBody(a: Active, status: 'firing' | 'resolved', nowMs: number): object {
  const f = a.notice.finding;
  return {
    kind: 'SurgeGuardNotification',
    version: 1,
    status,
    key: findingKey(f),
    check: f.check,
    severity: f.severity,
    fault: f.fault,
    target: f.target,
    summary: f.summary,
    decision: a.notice.decision,
    evidence: f.evidence,
    startsAt: new Date(a.startsAtMs).toISOString(),
    ...(status === 'resolved' ? { endsAt: new Date(nowMs).toISOString() } : {}),
    sentAt: new Date(nowMs).toISOString(),
  };
}
