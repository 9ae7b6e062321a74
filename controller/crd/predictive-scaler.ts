import { Type, type Static, type TOptional, type TSchema, type TString } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { GUARD_PRESET_NAMES, SELECTOR_PATTERN } from '../signals/guards.ts';

/**
 * The PredictiveScaler custom resource (surgeguard.io/v1alpha1): one schema gives the
 * TypeScript types the controller uses and the CRD's openAPIV3Schema, so the two cannot drift.
 * CEL rules make the API server itself reject specs the controller could not act on.
 */
export const GROUP = 'surgeguard.io';
export const VERSION = 'v1alpha1';
export const KIND = 'PredictiveScaler';
export const PLURAL = 'predictivescalers';

const cel = (rule: string, message: string): { rule: string; message: string } => ({ rule, message });

const TargetRef = Type.Object(
  {
    apiVersion: Type.String({ minLength: 1, default: 'apps/v1', description: 'API group/version of the target, e.g. apps/v1' }),
    kind: Type.String({ minLength: 1, default: 'Deployment', description: 'Any kind with a scale subresource' }),
    name: Type.String({ minLength: 1, maxLength: 253 }),
  },
  { description: 'The workload whose scale subresource this scaler sets.' },
);

const labelName = (fallback: string, what: string): TOptional<TString> =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', default: fallback, description: `The query's label that holds ${what}` }));

const PrometheusBatch = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 4096, description: 'PromQL returning one series per target, e.g. sum by (namespace, deployment) (rate(requests_total[1m])): requests per second. Scalers that give the same batch query share one query per tick' }),
    namespaceLabel: labelName('namespace', 'the scaler\'s namespace'),
    nameLabel: labelName('deployment', 'the name of the scaler\'s target (targetRef.name)'),
  },
  {
    description: 'A query shared by many scalers: it runs once per tick and each scaler reads the one series whose namespaceLabel is its namespace and whose nameLabel is its target\'s name.',
    'x-kubernetes-validations': [cel("(has(self.namespaceLabel) ? self.namespaceLabel : 'namespace') != (has(self.nameLabel) ? self.nameLabel : 'deployment')", 'signal.prometheus.batch.nameLabel must differ from namespaceLabel')],
  },
);

const Signal = Type.Object(
  {
    kafka: Type.Optional(
      Type.Object(
        { topic: Type.String({ minLength: 1 }), consumerGroup: Type.String({ minLength: 1 }) },
        { description: 'Demand = ingress rate (log-end offsets over time) plus draining the current lag within the startup time. Brokers come from the controller config.' },
      ),
    ),
    prometheus: Type.Optional(
      Type.Object(
        {
          query: Type.Optional(Type.String({ minLength: 1, description: 'PromQL returning one value: requests per second' })),
          batch: Type.Optional(PrometheusBatch),
        },
        { 'x-kubernetes-validations': [cel('has(self.query) != has(self.batch)', 'set exactly one of signal.prometheus.query or signal.prometheus.batch')] },
      ),
    ),
  },
  { 'x-kubernetes-validations': [cel('has(self.kafka) != has(self.prometheus)', 'exactly one of signal.kafka or signal.prometheus must be set')] },
);

const Guard = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'Names the guard in decisions, Events and metrics' }),
    preset: Type.Optional(Type.Union(GUARD_PRESET_NAMES.map((n) => Type.Literal(n)), { description: 'A query written for a serving engine: vllm-waiting, vllm-running, vllm-kv-cache, vllm-ttft-p95, vllm-queue-time-p95, tgi-queue, tgi-batch, triton-pending, triton-queue-time' })),
    selector: Type.Optional(Type.String({ maxLength: 1024, pattern: SELECTOR_PATTERN, description: 'Label matchers the preset filters by, e.g. namespace="llm",model_name="llama-3-8b"' })),
    query: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'PromQL returning one value, instead of a preset' })),
    target: Type.Number({ exclusiveMinimum: 0, description: 'The value one replica should carry (Total), the average to hold (Average), or the objective in seconds (Slo)' }),
    type: Type.Optional(
      Type.Union([Type.Literal('Total'), Type.Literal('Average'), Type.Literal('Slo')], {
        description: 'Total: replicas = value / target; Average: current x value / target; Slo: a latency objective, current x value / target (at most 2x a tick) only while it is broken. Default: the preset\'s, else Total',
      }),
    ),
  },
  {
    description: 'A fast saturation signal that can only raise the target (queue depth, requests in flight, KV-cache use).',
    'x-kubernetes-validations': [cel('has(self.preset) != has(self.query)', 'set exactly one of preset or query'), cel('!has(self.selector) || has(self.preset)', 'selector filters a preset; put matchers into query yourself')],
  },
);

const Gpu = Type.Object(
  {
    perReplica: Type.Number({ exclusiveMinimum: 0, maximum: 64, description: 'GPUs (of resource) one replica requests' }),
    resource: Type.Optional(Type.String({ minLength: 1, maxLength: 253, pattern: '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$', default: 'nvidia.com/gpu', description: 'The resource name the device plugin advertises (nvidia.com/gpu, a MIG profile such as nvidia.com/mig-1g.10gb)' })),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, default: 0, description: 'A higher priority gets its growth before a lower one gets any' })),
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 1, description: 'Within a priority, the share of the growth' })),
  },
  { description: 'Joins the cluster\'s GPU budget: when the scalers that share a GPU resource ask for more than the cluster has, their growth is split by priority and weight.' },
);

const ScaleRule = Type.Object({
  maxPodsPerMinute: Type.Optional(Type.Integer({ minimum: 1 })),
  maxPercentPerMinute: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  stabilizationSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
});

const ScheduleWindow = Type.Object({
  name: Type.String({ minLength: 1 }),
  start: Type.String({ format: 'date-time' }),
  durationSeconds: Type.Integer({ minimum: 60 }),
  demandMultiplier: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
  prescaleSeconds: Type.Optional(Type.Integer({ minimum: 0, default: 600, description: 'How far ahead of start to have the capacity ready' })),
});

export const PredictiveScalerSpec = Type.Object(
  {
    targetRef: TargetRef,
    signal: Signal,
    guards: Type.Optional(Type.Array(Guard, { maxItems: 8, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], description: 'Saturation signals beside the demand signal; the target is the largest need' })),
    requestsPerSecondPerReplica: Type.Number({ exclusiveMinimum: 0, description: 'Requests per second one ready replica serves' }),
    startupSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7200, default: 120, description: 'Seconds from creating a pod to it serving; the observed p90 is used when larger' })),
    minReplicas: Type.Optional(Type.Integer({ minimum: 0, default: 1 })),
    maxReplicas: Type.Integer({ minimum: 1 }),
    headroom: Type.Optional(Type.Number({ minimum: 0, maximum: 10, default: 0.1, description: 'Extra capacity over the forecast, as a fraction' })),
    quantile: Type.Optional(Type.Union([Type.Literal('p50'), Type.Literal('p90')], { default: 'p90', description: 'Forecast quantile to provision for' })),
    behavior: Type.Optional(Type.Object({ scaleUp: Type.Optional(ScaleRule), scaleDown: Type.Optional(ScaleRule) })),
    mode: Type.Optional(Type.Union([Type.Literal('Active'), Type.Literal('DryRun')], { default: 'Active' })),
    actuator: Type.Optional(
      Type.Union([Type.Literal('Direct'), Type.Literal('Hpa'), Type.Literal('Keda')], {
        default: 'Direct',
        description: 'Who writes the replicas: Direct (SurgeGuard patches the scale subresource), Hpa (SurgeGuard serves the External metric surgeguard_desired_replicas{scaler=<name>} and the HorizontalPodAutoscaler on the target acts) or Keda (a KEDA ScaledObject trigger of type external calls SurgeGuard\'s external scaler with metadata scaler: <name>)',
      }),
    ),
    gpu: Type.Optional(Gpu),
    schedule: Type.Optional(Type.Array(ScheduleWindow, { maxItems: 50 })),
  },
  // Defaulted fields are optional in the schema: the API server validates `required` before
  // it applies defaults. The default minReplicas (1) is spelled out in the rule for that reason.
  { 'x-kubernetes-validations': [cel('(has(self.minReplicas) ? self.minReplicas : 1) <= self.maxReplicas', 'minReplicas must not exceed maxReplicas')] },
);

const Condition = Type.Object({
  type: Type.String(),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  reason: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Optional(Type.Integer()),
});

export const PredictiveScalerStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  conditions: Type.Optional(Type.Array(Condition)),
  currentDemand: Type.Optional(Type.Number({ description: 'Requests per second now' })),
  forecast: Type.Optional(Type.Object({ p50: Type.Number(), p90: Type.Number(), horizonSeconds: Type.Integer() })),
  desiredReplicas: Type.Optional(Type.Integer()),
  appliedReplicas: Type.Optional(Type.Integer({ description: 'The replica count SurgeGuard last wrote to the target; a different count on the target means another writer' })),
  externalMetric: Type.Optional(
    Type.Object(
      {
        value: Type.Number({ description: 'The value served as surgeguard_desired_replicas: the replica count the HPA is to arrive at, past its tolerance band' }),
        desiredReplicas: Type.Integer(),
        currentReplicas: Type.Integer(),
        hpa: Type.Optional(Type.String()),
        time: Type.String({ format: 'date-time' }),
      },
      { description: 'Actuator Hpa or Keda: what this scaler serves to its HPA (through KEDA for Keda), and when it was decided' },
    ),
  ),
  observedStartupSeconds: Type.Optional(Type.Number({ description: 'p90 of the target pods\' time from creation to Ready' })),
  lastDecision: Type.Optional(
    Type.Object({ time: Type.String({ format: 'date-time' }), decision: Type.String(), reason: Type.String(), replicas: Type.Integer(), message: Type.String() }),
  ),
});

type RawSpec = Static<typeof PredictiveScalerSpec>;
/** A spec with every default applied, as the controller works with it. */
export type PredictiveScalerSpec = RawSpec & Required<Pick<RawSpec, 'startupSeconds' | 'minReplicas' | 'headroom' | 'quantile' | 'mode' | 'actuator'>>;

/** Applies the schema's defaults (the API server does the same when it stores the object). */
export function resolveSpec(raw: RawSpec): PredictiveScalerSpec {
  return Value.Default(PredictiveScalerSpec, structuredClone(raw)) as PredictiveScalerSpec;
}
export type PredictiveScalerStatus = Static<typeof PredictiveScalerStatus>;
export type ConditionType = 'Ready' | 'Active' | 'Degraded' | 'Unschedulable' | 'Conflict';

export interface PredictiveScaler {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; generation?: number; uid?: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: PredictiveScalerSpec;
  status?: PredictiveScalerStatus;
}

/**
 * Turns a TypeBox (JSON Schema 2019) schema into the OpenAPI v3.0 dialect the API server
 * accepts in a structural schema: numeric `exclusiveMinimum` becomes `minimum` plus a boolean,
 * and a union of string literals becomes an `enum` (structural schemas allow no `const`).
 */
export function toOpenApi(schema: TSchema | Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const s = schema as Record<string, unknown>;
  const literals = Array.isArray(s.anyOf) ? (s.anyOf as Record<string, unknown>[]) : undefined;
  if (literals?.every((v) => 'const' in v)) {
    out.type = 'string';
    out.enum = literals.map((v) => v.const);
  }
  for (const [key, value] of Object.entries(s)) {
    if (key === '$id' || (literals && key === 'anyOf' && 'enum' in out)) continue;
    if (key === 'exclusiveMinimum' && typeof value === 'number') {
      out.minimum = value;
      out.exclusiveMinimum = true;
    } else if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toOpenApi(v as Record<string, unknown>)]));
    } else if (key === 'items' && value && typeof value === 'object') {
      out.items = toOpenApi(value as Record<string, unknown>);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The CustomResourceDefinition object, as applied by deploy/ and the tests. */
export function predictiveScalerCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, plural: PLURAL, singular: 'predictivescaler', listKind: `${KIND}List`, shortNames: ['psc'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Target', type: 'string', jsonPath: '.spec.targetRef.name' },
            { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
            { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas' },
            { name: 'Demand', type: 'number', jsonPath: '.status.currentDemand' },
            { name: 'Decision', type: 'string', jsonPath: '.status.lastDecision.reason' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toOpenApi(PredictiveScalerSpec),
                status: toOpenApi(PredictiveScalerStatus),
              },
            },
          },
        },
      ],
    },
  };
}
