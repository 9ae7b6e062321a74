// `surgeguard adopt`: from an HPA that scales a target today, the PredictiveScaler (actuator Hpa)
// and the same HPA with SurgeGuard's metric added, so forecast-driven scaling is one
// `kubectl apply` away and the HPA stays the only writer. Pure: the command reads and prints.
import { EXTERNAL_METRIC } from './hpa.ts';

/** Where KEDA reaches SurgeGuard's external scaler: the chart's Service by default. */
export const DEFAULT_SCALER_ADDRESS = 'surgeguard-controller-keda.surgeguard.svc:9444';

export interface AdoptOptions {
  /** The demand signal: a Kafka topic and consumer group, or a PromQL query of requests per second. */
  readonly signal: { kafka: { topic: string; consumerGroup: string } } | { prometheus: { query: string } };
  readonly requestsPerSecondPerReplica: number;
  readonly startupSeconds?: number;
  /** False for clusters before Kubernetes 1.33, whose HPA has no `tolerance` field. */
  readonly tolerance: boolean;
  /** For a ScaledObject: the external scaler's address (HOST:PORT). */
  readonly scalerAddress?: string;
}

export interface Adoption {
  readonly scaler: Record<string, unknown>;
  /** The changed HPA, or the changed ScaledObject. */
  readonly hpa: Record<string, unknown>;
  /** What changed and why, one line each, for the person applying it. */
  readonly notes: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws naming the field that is missing or wrong (`spec.scaleTargetRef.name`, ...). */
export function adoptHpa(input: unknown, opts: AdoptOptions): Adoption {
  if (!isObj(input)) throw new Error('the input is not a Kubernetes object (expected a HorizontalPodAutoscaler in YAML or JSON)');
  if (input.kind === 'ScaledObject') return adoptScaledObject(input, opts);
  if (input.kind !== 'HorizontalPodAutoscaler') throw new Error(`kind: expected HorizontalPodAutoscaler or ScaledObject, got ${JSON.stringify(input.kind)}`);
  if (input.apiVersion !== 'autoscaling/v2') throw new Error(`apiVersion: expected autoscaling/v2, got ${JSON.stringify(input.apiVersion)} (kubectl get hpa NAME -o yaml returns v2)`);
  const meta = isObj(input.metadata) ? input.metadata : {};
  const spec = isObj(input.spec) ? input.spec : undefined;
  if (!spec) throw new Error('spec: missing');
  const name = meta.name;
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new Error(`metadata.name: expected a Kubernetes name, got ${JSON.stringify(name)}`);
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const ref = spec.scaleTargetRef;
  if (!isObj(ref) || typeof ref.kind !== 'string' || typeof ref.name !== 'string') throw new Error('spec.scaleTargetRef: needs kind and name');
  const maxReplicas = spec.maxReplicas;
  if (typeof maxReplicas !== 'number' || !Number.isInteger(maxReplicas) || maxReplicas < 1) throw new Error(`spec.maxReplicas: expected an integer >= 1, got ${JSON.stringify(maxReplicas)}`);
  const minReplicas = spec.minReplicas ?? 1;
  if (typeof minReplicas !== 'number' || !Number.isInteger(minReplicas) || minReplicas < 0) throw new Error(`spec.minReplicas: expected an integer >= 0, got ${JSON.stringify(minReplicas)}`);
  if (!(opts.requestsPerSecondPerReplica > 0)) throw new Error('requests per second per replica: must be above 0');
  const metrics = Array.isArray(spec.metrics) ? (spec.metrics as unknown[]) : [];
  const notes: string[] = [];

  const scaler = {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: {
      targetRef: { apiVersion: typeof ref.apiVersion === 'string' ? ref.apiVersion : 'apps/v1', kind: ref.kind, name: ref.name },
      signal: opts.signal,
      requestsPerSecondPerReplica: opts.requestsPerSecondPerReplica,
      ...(opts.startupSeconds !== undefined ? { startupSeconds: opts.startupSeconds } : {}),
      minReplicas,
      maxReplicas,
      actuator: 'Hpa',
    },
  };

  const ours = { type: 'External', external: { metric: { name: EXTERNAL_METRIC, selector: { matchLabels: { scaler: name } } }, target: { type: 'AverageValue', averageValue: '1' } } };
  const already = metrics.some((m) => isObj(m) && isObj(m.external) && isObj(m.external.metric) && m.external.metric.name === EXTERNAL_METRIC);
  if (already) notes.push(`the HPA already reads ${EXTERNAL_METRIC}; its metrics are left as they are`);
  else notes.push(`added the External metric ${EXTERNAL_METRIC}{scaler=${name}} (AverageValue 1): the HPA arrives at the count SurgeGuard decides`);
  if (metrics.length > 0 && !already) notes.push(`kept the ${metrics.length} metric${metrics.length === 1 ? '' : 's'} it had: the HPA takes the largest, and falls back on them if SurgeGuard stops`);
  if (metrics.length === 0) notes.push('the HPA had no metrics (it defaulted to 80% CPU): add a reactive one beside ours, for when SurgeGuard stops');

  const behavior = isObj(spec.behavior) ? structuredClone(spec.behavior) : {};
  const scaleUp: Obj = isObj(behavior.scaleUp) ? behavior.scaleUp : {};
  const scaleDown: Obj = isObj(behavior.scaleDown) ? behavior.scaleDown : {};
  if (opts.tolerance) {
    scaleUp.tolerance = '0';
    scaleDown.tolerance = '0';
    notes.push('set behavior.scaleUp.tolerance and scaleDown.tolerance to 0 (Kubernetes 1.33+): every step SurgeGuard decides is taken; --no-tolerance for older clusters');
  } else notes.push('tolerance left at the cluster default (0.1): a step up inside it is served past it, a step down inside it is not taken (docs/hpa.md)');
  if (scaleDown.stabilizationWindowSeconds !== 0) notes.push(`set behavior.scaleDown.stabilizationWindowSeconds to 0 (was ${scaleDown.stabilizationWindowSeconds === undefined ? 'the default 300' : JSON.stringify(scaleDown.stabilizationWindowSeconds)}): SurgeGuard stabilizes its own scale-down`);
  scaleDown.stabilizationWindowSeconds = 0;

  const hpaMeta = keptMetadata(meta, name, namespace);
  const hpa = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: hpaMeta,
    spec: { ...spec, metrics: already ? metrics : [ours, ...metrics], behavior: { ...behavior, scaleUp, scaleDown } },
  };
  return { scaler, hpa, notes };
}

/** The PredictiveScaler (actuator Keda) and the ScaledObject with SurgeGuard's external trigger added. */
function adoptScaledObject(input: Obj, opts: AdoptOptions): Adoption {
  if (input.apiVersion !== 'keda.sh/v1alpha1') throw new Error(`apiVersion: expected keda.sh/v1alpha1, got ${JSON.stringify(input.apiVersion)}`);
  const meta = isObj(input.metadata) ? input.metadata : {};
  const spec = isObj(input.spec) ? input.spec : undefined;
  if (!spec) throw new Error('spec: missing');
  const name = meta.name;
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new Error(`metadata.name: expected a Kubernetes name, got ${JSON.stringify(name)}`);
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const ref = spec.scaleTargetRef;
  if (!isObj(ref) || typeof ref.name !== 'string') throw new Error('spec.scaleTargetRef: needs name');
  const minReplicas = spec.minReplicaCount ?? 0;
  const maxReplicas = spec.maxReplicaCount ?? 100;
  if (typeof minReplicas !== 'number' || !Number.isInteger(minReplicas) || minReplicas < 0) throw new Error(`spec.minReplicaCount: expected an integer >= 0, got ${JSON.stringify(minReplicas)}`);
  if (typeof maxReplicas !== 'number' || !Number.isInteger(maxReplicas) || maxReplicas < Math.max(1, minReplicas)) throw new Error(`spec.maxReplicaCount: expected an integer >= max(1, minReplicaCount), got ${JSON.stringify(maxReplicas)}`);
  if (!(opts.requestsPerSecondPerReplica > 0)) throw new Error('requests per second per replica: must be above 0');
  const triggers = Array.isArray(spec.triggers) ? (spec.triggers as unknown[]) : [];
  const notes: string[] = [];
  const scaler = {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: {
      // KEDA defaults the target to apps/v1 Deployment, as does this.
      targetRef: { apiVersion: typeof ref.apiVersion === 'string' ? ref.apiVersion : 'apps/v1', kind: typeof ref.kind === 'string' ? ref.kind : 'Deployment', name: ref.name },
      signal: opts.signal,
      requestsPerSecondPerReplica: opts.requestsPerSecondPerReplica,
      ...(opts.startupSeconds !== undefined ? { startupSeconds: opts.startupSeconds } : {}),
      minReplicas,
      maxReplicas,
      actuator: 'Keda',
    },
  };
  const already = triggers.some((t) => isObj(t) && t.type?.toString().startsWith('external') && isObj(t.metadata) && t.metadata.scaler === name);
  const ours = { type: 'external', metadata: { scalerAddress: opts.scalerAddress ?? DEFAULT_SCALER_ADDRESS, scaler: name } };
  if (already) notes.push('the ScaledObject already has SurgeGuard\'s external trigger; its triggers are left as they are');
  else notes.push(`added a trigger of type external (scalerAddress ${ours.metadata.scalerAddress}, scaler ${name}): KEDA's HPA arrives at the count SurgeGuard decides, and KEDA activates from zero when SurgeGuard forecasts demand`);
  if (triggers.length > 0 && !already) notes.push(`kept the ${triggers.length} trigger${triggers.length === 1 ? '' : 's'} it had: the HPA takes the largest, and falls back on them if SurgeGuard stops`);
  const advanced = isObj(spec.advanced) ? structuredClone(spec.advanced) : {};
  const hpaConfig: Obj = isObj(advanced.horizontalPodAutoscalerConfig) ? advanced.horizontalPodAutoscalerConfig : {};
  const behavior: Obj = isObj(hpaConfig.behavior) ? hpaConfig.behavior : {};
  const scaleUp: Obj = isObj(behavior.scaleUp) ? behavior.scaleUp : {};
  const scaleDown: Obj = isObj(behavior.scaleDown) ? behavior.scaleDown : {};
  if (opts.tolerance) {
    scaleUp.tolerance = '0';
    scaleDown.tolerance = '0';
    notes.push('set advanced.horizontalPodAutoscalerConfig.behavior tolerances to 0 (Kubernetes 1.33+); --no-tolerance for older clusters');
  }
  if (scaleDown.stabilizationWindowSeconds !== 0) notes.push('set the HPA\'s scaleDown.stabilizationWindowSeconds to 0: SurgeGuard stabilizes its own scale-down');
  scaleDown.stabilizationWindowSeconds = 0;
  const soMeta = keptMetadata(meta, name, namespace);
  const so = {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: soMeta,
    spec: { ...spec, advanced: { ...advanced, horizontalPodAutoscalerConfig: { ...hpaConfig, behavior: { ...behavior, scaleUp, scaleDown } } }, triggers: already ? triggers : [ours, ...triggers] },
  };
  return { scaler, hpa: so, notes };
}

/**
 * The metadata an adopted object is printed with: its name, namespace, labels and annotations,
 * less kubectl's last-applied copy (it would describe the object before the change).
 */
function keptMetadata(meta: Obj, name: unknown, namespace: unknown): Obj {
  const out: Obj = { name, ...(namespace ? { namespace } : {}) };
  for (const k of ['labels', 'annotations'] as const) {
    if (isObj(meta[k])) {
      const kept = Object.fromEntries(Object.entries(meta[k]).filter(([key]) => key !== 'kubectl.kubernetes.io/last-applied-configuration'));
      if (Object.keys(kept).length) out[k] = kept;
    }
  }
  return out;
}
