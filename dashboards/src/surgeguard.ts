import type { Dashboard } from '@grafana/schema';
import { dashboard } from './lib.ts';

const quantiles = (metric: string, by = ''): Array<{ expr: string; legend: string }> =>
  ['0.5', '0.99'].map((q) => ({ expr: `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket[$__rate_interval])))`, legend: `p${Number(q) * 100}${by ? ` {{${by}}}` : ''}` }));

const remediationDecisions = 'surgeguard_remediation_decisions_total';
const decisions = `(${remediationDecisions} unless ${remediationDecisions} offset $__rate_interval) or increase(${remediationDecisions}[$__rate_interval])`;

/** SurgeGuard itself: collectors, loop latency, leader and remediations. */
export function surgeguard(): Dashboard {
  return dashboard({
    uid: 'surgeguard-self',
    title: 'SurgeGuard / Self-monitoring',
    description: 'Health of the SurgeGuard agents and controller: collectors, loop latency, leadership and remediations.',
    variables: [],
    panels: [
      {
        title: 'Collector success',
        type: 'timeseries',
        required: true,
        description: 'Worst last-cycle result of each collector over all agents (1 ok, 0 failed); collectors disabled on a node are left out.',
        queries: [{ expr: 'min by (collector) (surgeguard_collector_success unless on (job, instance, collector) (surgeguard_collector_enabled == 0))', legend: '{{collector}}' }],
      },
      {
        title: 'Collector duration',
        type: 'timeseries',
        required: true,
        unit: 's',
        description: 'Slowest last cycle of each collector over all agents.',
        queries: [{ expr: 'max by (collector) (surgeguard_collector_duration_seconds)', legend: '{{collector}}' }],
      },
      {
        title: 'Scaling loop latency',
        type: 'timeseries',
        required: true,
        unit: 's',
        description: 'Duration of whole scaling ticks, p50 and p99.',
        queries: quantiles('surgeguard_controller_tick_duration_seconds'),
      },
      {
        title: 'Scaling tick phases (p99)',
        type: 'timeseries',
        unit: 's',
        description: 'p99 of each phase of a scaling tick: signals, targets, forecast, decide, act.',
        queries: [{ expr: 'histogram_quantile(0.99, sum by (le, phase) (rate(surgeguard_controller_tick_phase_duration_seconds_bucket[$__rate_interval])))', legend: '{{phase}}' }],
      },
      {
        title: 'Leaders',
        type: 'stat',
        required: true,
        width: 6,
        description: 'Controller replicas holding the Lease: 1 is right, 0 fires SurgeGuardControllerNoLeader.',
        queries: [{ expr: 'sum(surgeguard_controller_leader)' }],
      },
      {
        title: 'Leader transitions',
        type: 'stat',
        width: 6,
        description: 'Times a replica started or stopped leading in the selected time range.',
        queries: [{ expr: 'sum(increase(surgeguard_controller_leader_transitions_total[$__range]))' }],
      },
      {
        title: 'Targets up',
        type: 'timeseries',
        description: 'Scraped agent and controller targets that answer, by job.',
        queries: [{ expr: 'sum by (job) (up{job=~"surgeguard-agent|surgeguard-controller"})', legend: '{{job}}' }],
      },
      {
        title: 'Remediations',
        type: 'timeseries',
        required: true,
        description: 'Healing decisions per interval by action and outcome: acted, blocked (safety gate or disruption budget), dry_run, skipped, failed. A decision is counted once per finding until it changes, and a new series starts at 1, which increase() alone would miss: the first branch counts a series younger than the interval whole.',
        queries: [{ expr: `sum by (action, decision) (${decisions})`, legend: '{{action}} {{decision}}' }],
      },
      {
        title: 'Remediations in flight',
        type: 'stat',
        width: 6,
        description: 'Node repairs started (cordoned) and not yet drained; the gate allows 3 by default.',
        queries: [{ expr: 'max(surgeguard_remediations_in_flight)' }],
      },
      {
        title: 'Nodes cordoned',
        type: 'stat',
        width: 6,
        description: 'GPU nodes cordoned now, by anyone: the gate counts these against its cordon limit.',
        queries: [{ expr: 'max(surgeguard_nodes_cordoned)' }],
      },
      {
        title: 'Open health findings',
        type: 'timeseries',
        description: 'Findings of the health checks that are open now, by check and severity (only the leader runs the checks).',
        queries: [{ expr: 'max by (check, severity) (surgeguard_health_findings) > 0', legend: '{{check}} {{severity}}' }],
      },
      {
        title: 'Healing loop latency',
        type: 'timeseries',
        required: true,
        unit: 's',
        description: 'Duration of healing ticks on the leader, p50 and p99.',
        queries: quantiles('surgeguard_healing_tick_duration_seconds'),
      },
      {
        title: 'Health check errors',
        type: 'timeseries',
        unit: 'ops',
        description: 'Health check runs that failed (Prometheus unreachable, a bad answer), by check; the other checks go on.',
        queries: [{ expr: 'sum by (check) (rate(surgeguard_health_check_errors_total[$__rate_interval]))', legend: '{{check}}' }],
      },
      {
        title: 'On-call notifications',
        type: 'timeseries',
        unit: 'ops',
        description: 'Notifications sent to on-call webhooks, by receiver, kind (firing, resolved) and result.',
        queries: [{ expr: 'sum by (receiver, kind, result) (rate(surgeguard_oncall_notifications_total[$__rate_interval]))', legend: '{{receiver}} {{kind}} {{result}}' }],
      },
      {
        title: 'Alerts received',
        type: 'timeseries',
        unit: 'ops',
        description: 'Alerts Alertmanager delivered to the controller (POST /api/v1/alerts), by status.',
        queries: [{ expr: 'sum by (status) (rate(surgeguard_alerts_received_total[$__rate_interval]))', legend: '{{status}}' }],
      },
      {
        title: 'Signal errors',
        type: 'timeseries',
        unit: 'ops',
        description: 'Demand readings that failed, by signal kind; the scaler holds while its signal is missing.',
        queries: [{ expr: 'sum by (signal) (rate(surgeguard_controller_signal_errors_total[$__rate_interval]))', legend: '{{signal}}' }],
      },
      {
        title: 'Firing SurgeGuard alerts',
        type: 'table',
        width: 24,
        description: 'SurgeGuard alerts firing now (the Watchdog always is).',
        queries: [{ expr: 'ALERTS{alertname=~"SurgeGuard.*", alertstate="firing"}' }],
      },
    ],
  });
}
