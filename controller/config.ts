import { z } from 'zod';
import { DEFAULT_POLICY_FORECASTER, POLICY_FORECASTERS } from '../inference/forecaster.ts';
import { placeholderConfigSchema } from './capacity/placeholder-config.ts';
import { healingConfigSchema } from './healing/config.ts';
import { GPU_SOURCES } from './healing/checks/gpu-source.ts';
import { httpUrl } from './http-url.ts';
import { parseLabelSelector } from './kube/label-selector.ts';
import { errorMessage } from '../common/errors.ts';
import { checkHttpAuth, httpAuthFields } from '../common/http-auth.ts';
import { otlpConfigSchema } from '../common/otlp/config.ts';
import { shardingActive, shardingConfigSchema } from './sharding/config.ts';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected HOST:PORT');

/** The controller's configuration schema: defaults, units in names, bounds. */
export const controllerConfigSchema = z.strictObject({
  listen: hostPort.default('0.0.0.0:9403'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** A kubeconfig file; empty means in-cluster (the pod's ServiceAccount). */
  kubeconfig: z.string().optional(),
  /** Label selector of the PredictiveScalers this controller manages (empty: all), for sharding. */
  scalerSelector: z.string().default(''),
  /** False: scale reactively on current demand only (no forecast, no surge band), for comparison. */
  forecasting: z.boolean().default(true),
  /** Which forecaster sizes fleets: `holt-winters` (default; better out of sample) or `model` (ONNX, Holt-Winters fallback). */
  forecaster: z.enum(POLICY_FORECASTERS).default(DEFAULT_POLICY_FORECASTER),
  /**
   * Recorded seconds per wall-clock second, for demos and tests that replay a recorded trace
   * faster than real time: the forecaster then sees each tick as the interval it stands for, so
   * daily seasons and the model's interval line up. Everything else stays in wall time.
   */
  forecastTimeScale: z.number().min(1).max(100_000).default(1),
  /**
   * Read the scale of Deployment targets from a watch cache of Deployments (one list and a watch)
   * instead of one GET of the scale subresource per scaler per tick; false goes back to the GETs.
   */
  targetCache: z.boolean().default(true),
  /**
   * Seconds after which an unchanged PredictiveScaler status is written again (its demand and
   * forecast), spread per scaler over half to one and a half times this; a status whose value an
   * HPA or KEDA reads is refreshed every 60 s regardless.
   */
  statusRefreshSeconds: z.number().min(60).max(86_400).default(600),
  /**
   * How far the V8 heap may grow past the live heap before the next full collection, in percent
   * (common/heap-growth.ts); 0 leaves V8's own factor, up to 300% on a large node. Not a ceiling.
   */
  heapGrowthPercent: z.number().int().min(0).max(300).default(50),
  /** Seconds between scaling ticks. */
  intervalSeconds: z.number().min(1).max(600).default(15),
  /** Intervals of history kept per scaler (and backfilled from Prometheus at start). */
  historyIntervals: z.number().int().min(16).max(100_000).default(2880),
  /** Identity in the Lease; the pod name by default (POD_NAME from the downward API). */
  identity: z.string().min(1).optional(),
  leaderElection: z
    .strictObject({
      enabled: z.boolean().default(true),
      namespace: z.string().min(1).default('surgeguard'),
      leaseName: z.string().min(1).default('surgeguard-controller'),
      leaseDurationSeconds: z.number().int().min(2).default(15),
      renewDeadlineSeconds: z.number().int().min(1).default(10),
      retryPeriodSeconds: z.number().min(0.2).default(2),
    })
    .refine((l) => l.renewDeadlineSeconds < l.leaseDurationSeconds, { message: 'renewDeadlineSeconds must be below leaseDurationSeconds', path: ['renewDeadlineSeconds'] })
    .prefault({}),
  /**
   * Scalers split over the replicas (docs/sharding.md): off by default, and then (or with
   * `shards: 1`) the holder of the controller Lease acts for every scaler, as before.
   */
  sharding: shardingConfigSchema,
  kafka: z
    .strictObject({
      brokers: z.array(hostPort).min(1),
      clientId: z.string().default('surgeguard-controller'),
      requestTimeoutMs: z.number().int().min(100).default(10_000),
      sasl: z.strictObject({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string(), passwordFile: z.string() }).optional(),
      tls: z.strictObject({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional() }).optional(),
    })
    .optional(),
  prometheus: z
    .strictObject({ url: httpUrl, backfill: z.boolean().default(true), timeoutMs: z.number().int().min(100).default(10_000), ...httpAuthFields })
    .superRefine((p, ctx) => checkHttpAuth(p, (path, message) => ctx.addIssue({ code: 'custom', path, message })))
    .optional(),
  /** The ConfigMap whose annotation `surgeguard.io/paused: "true"` pauses all actuation. */
  pauseConfigMap: z.strictObject({ namespace: z.string().default('surgeguard'), name: z.string().default('surgeguard-controller') }).prefault({}),
  /** A flag that pauses all actuation from start (decisions are still made and reported). */
  paused: z.boolean().default(false),
  api: z
    .strictObject({
      /** File holding the bearer token /api/* requires; without it /api/* answers 401 to everyone. */
      tokenFile: z.string().optional(),
      tls: z.strictObject({ certFile: z.string(), keyFile: z.string() }).optional(),
    })
    .prefault({}),
  /**
   * external.metrics.k8s.io for the `Hpa` actuator, on its own HTTPS port behind the API server's
   * aggregation layer (an APIService and a Service point at it; deploy/controller/external-metrics.yaml).
   */
  externalMetrics: z
    .strictObject({
      listen: hostPort.default('0.0.0.0:6443'),
      /** The serving certificate: its SAN must hold the Service's DNS name, NAME.NAMESPACE.svc. */
      tls: z.strictObject({ certFile: z.string(), keyFile: z.string() }),
      /**
       * A value decided longer ago than this is not served: its controller stopped deciding. The
       * status is rewritten at least once a minute, so this must exceed 60 s plus a tick.
       */
      staleAfterSeconds: z.number().min(75).max(3600).default(120),
    })
    .optional(),
  /**
   * KEDA's external scaler (gRPC, externalscaler.proto) for the `Keda` actuator: a ScaledObject
   * trigger of type external with `scalerAddress` pointing here and `scaler: <PredictiveScaler>`.
   */
  keda: z
    .strictObject({
      listen: hostPort.default('0.0.0.0:9444'),
      /** Without it the server speaks plaintext: keep it inside the cluster network (the chart's NetworkPolicy). */
      tls: z.strictObject({ certFile: z.string(), keyFile: z.string(), clientCAFile: z.string().optional() }).optional(),
      staleAfterSeconds: z.number().min(75).max(3600).default(120),
    })
    .optional(),
  /** Decisions kept for GET /api/decisions. */
  decisionsKept: z.number().int().min(10).max(100_000).default(1000),
  /**
   * Where GPU health is read from in Prometheus: `agent` (surgeguard_gpu_*), `dcgm` (NVIDIA
   * dcgm-exporter's DCGM_FI_*) or `auto` (DCGM for every GPU it reports, the agent for the rest),
   * through the unified series of rules/gpu-source.yaml.
   * `nodeSelector`: a label selector of the GPU nodes (e.g. `nvidia.com/gpu.present=true`); the
   * node watch cache then holds only them (healing, the GPU budget and the placeholders read no
   * other node), so a cluster's CPU nodes cost the controller nothing. Empty: every node.
   */
  gpu: z
    .strictObject({
      source: z.enum(GPU_SOURCES).default('auto'),
      nodeSelector: z
        .string()
        .default('')
        .superRefine((sel, ctx) => {
          try {
            parseLabelSelector(sel);
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: `not a label selector: ${errorMessage(err)}` });
          }
        }),
    })
    .prefault({}),
  /**
   * Capacity ahead of the forecast (docs/capacity.md). `placeholders`: forecast-sized placeholder
   * pods per GPU node pool, off by default; on, the controller watches nodes and pods as healing does.
   * `nodeClaims.enabled`: also watch Karpenter's NodeClaims (launched, not Ready) as coming capacity
   * for the placeholders and the drains' replacement check; needs list and watch on
   * nodeclaims.karpenter.sh (the chart grants it when this is on). Off by default.
   */
  capacity: z
    .strictObject({
      placeholders: placeholderConfigSchema,
      nodeClaims: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
    })
    .prefault({}),
  /** The second loop: health checks, safe repairs, on-call notifications. */
  healing: healingConfigSchema,
  /** `otlp.metrics.endpoint`: also push the metrics over OTLP/HTTP (docs/controller.md, "OTLP"). */
  otlp: otlpConfigSchema,
}).superRefine((c, ctx) => {
  // Placeholders size one pool from every scaler's forecast, which no single shard sees.
  if (shardingActive(c.sharding) && c.capacity.placeholders.enabled) {
    ctx.addIssue({ code: 'custom', path: ['sharding', 'enabled'], message: 'cannot be true with capacity.placeholders.enabled: placeholders size one pool from every scaler\'s forecast, which no single shard sees' });
  }
});

export type ControllerConfig = z.output<typeof controllerConfigSchema>;
