import type { Dashboard } from '@grafana/schema';
import { dashboard, labelVariable } from './lib.ts';

const sel = 'namespace=~"$namespace", scaler=~"$scaler"';

/** Fleet overview: demand, forecast band, replicas, ready capacity and the decisions behind them. */
export function fleetOverview(): Dashboard {
  return dashboard({
    uid: 'surgeguard-fleet-overview',
    title: 'SurgeGuard / Fleet overview',
    description: 'Demand, forecast and replicas of every PredictiveScaler, and what the controller decided.',
    variables: [labelVariable('namespace', 'Namespace', 'surgeguard_scaler_desired_replicas'), labelVariable('scaler', 'Scaler', 'surgeguard_scaler_desired_replicas{namespace=~"$namespace"}')],
    panels: [
      {
        title: 'Fleet demand and forecast band',
        type: 'timeseries',
        required: true,
        unit: 'reqps',
        description: 'Measured demand summed over the selected scalers, with the p50 and p90 forecast one startup time ahead.',
        queries: [
          { expr: `sum(namespace_scaler:surgeguard_scaler_demand_requests_per_second:max{${sel}})`, legend: 'demand' },
          { expr: `sum by (quantile) (namespace_scaler_quantile:surgeguard_scaler_forecast_requests_per_second:max{${sel}})`, legend: 'forecast {{quantile}}' },
        ],
      },
      {
        title: 'Demand and forecast per scaler',
        type: 'timeseries',
        required: true,
        unit: 'reqps',
        description: 'Each scaler\'s demand against its p50-p90 forecast band. A forecast above demand means capacity is ready ahead of load.',
        queries: [
          { expr: `namespace_scaler:surgeguard_scaler_demand_requests_per_second:max{${sel}}`, legend: '{{namespace}}/{{scaler}} demand' },
          { expr: `namespace_scaler_quantile:surgeguard_scaler_forecast_requests_per_second:max{${sel}}`, legend: '{{namespace}}/{{scaler}} forecast {{quantile}}' },
        ],
      },
      {
        title: 'Target, current and ready replicas',
        type: 'timeseries',
        required: true,
        description: 'Replicas the controller decided on (target), spec.replicas of the scaled workload (current), its Ready pods (ready, counted every few ticks) and spec.maxReplicas (max).',
        queries: [
          { expr: `max by (namespace, scaler) (surgeguard_scaler_desired_replicas{${sel}})`, legend: '{{namespace}}/{{scaler}} target' },
          { expr: `max by (namespace, scaler) (surgeguard_scaler_current_replicas{${sel}})`, legend: '{{namespace}}/{{scaler}} current' },
          { expr: `max by (namespace, scaler) (surgeguard_scaler_ready_replicas{${sel}})`, legend: '{{namespace}}/{{scaler}} ready' },
          { expr: `max by (namespace, scaler) (surgeguard_scaler_max_replicas{${sel}})`, legend: '{{namespace}}/{{scaler}} max' },
        ],
      },
      {
        title: 'Ready capacity',
        type: 'timeseries',
        required: true,
        unit: 'percentunit',
        description: 'Ready replicas as a share of the target, per scaler and over the selected ones: below 100% while a scale-up starts, or when pods cannot start or schedule. Counted in replicas: requests per second per replica is not exported.',
        queries: [
          { expr: `namespace_scaler:surgeguard_scaler_ready_replicas:ratio{${sel}}`, legend: '{{namespace}}/{{scaler}}' },
          { expr: `sum(max by (namespace, scaler) (surgeguard_scaler_ready_replicas{${sel}})) / clamp_min(sum(max by (namespace, scaler) (surgeguard_scaler_desired_replicas{${sel}})), 1)`, legend: 'all selected' },
        ],
      },
      {
        title: 'Scaling decisions',
        type: 'timeseries',
        required: true,
        unit: 'ops',
        description: 'Decisions per second by outcome and reason (leader and follower decide alike; counted once).',
        queries: [{ expr: 'sum by (decision, reason) (max without (instance, pod) (rate(surgeguard_controller_decisions_total[$__rate_interval])))', legend: '{{decision}} {{reason}}' }],
      },
      {
        title: 'Unschedulable pods',
        type: 'timeseries',
        description: 'Pods of each scaler\'s target left Pending as unschedulable: a scale-up the cluster has no room for.',
        queries: [{ expr: `max by (namespace, scaler) (surgeguard_scaler_unschedulable_pods{${sel}})`, legend: '{{namespace}}/{{scaler}}' }],
      },
      {
        title: 'Forecast error',
        type: 'timeseries',
        unit: 'percentunit',
        description: '|demand - p50 forecast made 2 minutes earlier| / demand. SurgeGuardForecastErrorHigh fires above 50% for 30 minutes.',
        queries: [{ expr: `namespace_scaler:surgeguard_scaler_forecast_error:ratio{${sel}}`, legend: '{{namespace}}/{{scaler}}' }],
      },
      {
        title: 'Scale patches by result',
        type: 'timeseries',
        unit: 'ops',
        description: 'Writes to the targets\' scale subresource: applied, conflict (someone else changed it), error.',
        queries: [{ expr: 'sum by (result) (rate(surgeguard_controller_scale_patches_total[$__rate_interval]))', legend: '{{result}}' }],
      },
      {
        title: 'Pod startup time used',
        type: 'timeseries',
        unit: 's',
        description: 'The startup time each scaler plans with: the larger of its spec and the observed p90.',
        queries: [{ expr: `max by (namespace, scaler) (surgeguard_scaler_startup_seconds{${sel}})`, legend: '{{namespace}}/{{scaler}}' }],
      },
      {
        title: 'Scaler conditions',
        type: 'table',
        description: 'Current conditions of each scaler (1 = True).',
        queries: [{ expr: `max by (namespace, scaler, condition) (surgeguard_scaler_condition{${sel}})` }],
      },
      {
        title: 'Actuation paused',
        type: 'stat',
        width: 6,
        description: '1 while actuation is paused by flag or ConfigMap annotation: decisions are made but not applied.',
        queries: [{ expr: 'max(surgeguard_controller_paused)' }],
      },
      {
        title: 'Forecast fallbacks',
        type: 'stat',
        width: 6,
        unit: 'ops',
        description: 'Series forecast by the statistical fallback instead of the model, per second.',
        queries: [{ expr: 'sum(rate(surgeguard_forecast_fallbacks_total[$__rate_interval]))' }],
      },
    ],
  });
}
