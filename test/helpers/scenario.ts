import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type PredictiveScaler } from '../../controller/crd/predictive-scaler.ts';
import { READY_DELAY_ANNOTATION, ensureNamespace } from './infra/kube.ts';
import { createTopic } from './kafka-fleet.ts';

/** A namespace with an inference Deployment on kwok GPU nodes, a Kafka topic, and a PredictiveScaler for it. */
export interface Scenario {
  namespace: string;
  deployment: string;
  topic: string;
  group: string;
  scaler: string;
  selectorLabel: string;
}

export async function createScenario(kc: KubeConfig, brokers: string[], opts: { name: string; selector: string; startupSeconds: number; capacity: number; partitions: number; minReplicas?: number; maxReplicas: number; mode?: 'Active' | 'DryRun'; replicas?: number; extraSpec?: Record<string, unknown>; nodeSelector?: Record<string, string> }): Promise<Scenario> {
  const namespace = `${opts.name}-${process.pid}`;
  const topic = `${namespace}-requests`;
  const group = `${namespace}-consumers`;
  await ensureNamespace(kc.makeApiClient(CoreV1Api), namespace);
  await createTopic(brokers, topic, opts.partitions);
  const labels = { app: 'infer' };
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'infer' },
      spec: {
        replicas: opts.replicas ?? 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { [READY_DELAY_ANNOTATION]: `${opts.startupSeconds}s` } },
          spec: { containers: [{ name: 'model', image: 'registry.invalid/model:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }], tolerations: [{ operator: 'Exists' }], ...(opts.nodeSelector ? { nodeSelector: opts.nodeSelector } : {}) },
        },
      },
    },
  });
  const scaler: Omit<PredictiveScaler, 'spec'> & { spec: Record<string, unknown> } = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'PredictiveScaler',
    metadata: { name: 'infer', namespace, labels: { 'sg-test': opts.selector } } as PredictiveScaler['metadata'],
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'infer' },
      signal: { kafka: { topic, consumerGroup: group } },
      requestsPerSecondPerReplica: opts.capacity,
      startupSeconds: opts.startupSeconds,
      minReplicas: opts.minReplicas ?? 1,
      maxReplicas: opts.maxReplicas,
      mode: opts.mode ?? 'Active',
      ...opts.extraSpec,
    },
  };
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body: scaler });
  return { namespace, deployment: 'infer', topic, group, scaler: 'infer', selectorLabel: opts.selector };
}

export async function readScaler(kc: KubeConfig, s: Scenario): Promise<PredictiveScaler> {
  return (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: s.namespace, plural: PLURAL, name: s.scaler })) as PredictiveScaler;
}

export async function deploymentReplicas(kc: KubeConfig, s: Scenario): Promise<{ spec: number; ready: number }> {
  const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: s.deployment, namespace: s.namespace });
  return { spec: d.spec?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0 };
}

export function condition(s: PredictiveScaler, type: string): string | undefined {
  return s.status?.conditions?.find((c) => c.type === type)?.status;
}
