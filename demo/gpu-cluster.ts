import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { HealingCluster, LedgerEntry } from '../controller/healing/cluster.ts';
import { UNHEALTHY_TAINT, LAST_REMEDIATION_ANNOTATION, REMEDIATION_ANNOTATION } from '../controller/healing/state.ts';
import type { PredictiveScaler } from '../controller/crd/predictive-scaler.ts';
import type { ScaleClient } from '../controller/kube/scale-target.ts';
import { FLOOR_ANNOTATION } from '../controller/reconcile/scaler-policy.ts';
import type { FleetInterval, SimulatedFleet } from './simulated-fleet.ts';

/** What a node's GPU does now: serving normally, fallen off the bus (serves nothing), or slowed down by heat. */
export type GpuState = 'ok' | 'lost' | 'thermal';

/** A pod of the demo Deployment: where it runs and the first interval it serves in. */
export interface DemoPod {
  name: string;
  node?: string;
  /** Infinity while Pending (no node has a free GPU). */
  readyFrom: number;
}

export interface GpuCluster {
  /** SurgeGuard's fleet for the scaling loop: pods placed on nodes, one GPU each. */
  readonly fleet: SimulatedFleet;
  /** The healing loop's view of the cluster: nodes, pods, cordon, evict, floors, ledger. */
  readonly healing: HealingCluster;
  /** The PredictiveScaler the drain raises floors on (its annotation carries the floor). */
  scaler(): PredictiveScaler;
  readonly scale: ScaleClient;
  readyPods(namespace: string, selector: string): Promise<number>;
  nodes(): readonly V1Node[];
  pods(): readonly DemoPod[];
  gpuState(node: string): GpuState;
  setGpuState(node: string, s: GpuState): void;
}

export interface GpuClusterConfig {
  nodes: number;
  /** Requests one pod serves per interval with a healthy GPU. */
  capacity: number;
  startupSteps: number;
  initialReplicas: number;
  /** Share of its capacity a pod keeps on a GPU in a hardware thermal slowdown. */
  thermalCapacity: number;
}

export const DEMO_NAMESPACE = 'demo';
export const DEMO_SCALER = 'inference';
const SELECTOR = 'app=inference';

/**
 * The demo's GPU nodes (one GPU each) and the pods of one Deployment on them, as the scaling
 * loop and the healing loop see a cluster: a pod asked for at the end of interval t is placed on a
 * schedulable node with a free GPU and serves from t + 1 + K (the replay contract); a cordoned node
 * takes no new pod; an evicted pod is replaced at once by its ReplicaSet and starts again. Node
 * and pod objects have the shape the healing checks and gate read (allocatable GPUs, taints,
 * annotations). Everything is in memory: no Kubernetes is needed.
 */
export function createGpuCluster(c: GpuClusterConfig): GpuCluster {
  const names = Array.from({ length: c.nodes }, (_, i) => `gpu-node-${String(i + 1).padStart(2, '0')}`);
  const nodeObjects = new Map<string, V1Node>(names.map((name) => [name, { metadata: { name, labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' }, annotations: {}, resourceVersion: '1' }, spec: {}, status: { allocatable: { 'nvidia.com/gpu': '1' }, conditions: [] } }]));
  const gpus = new Map<string, GpuState>(names.map((n) => [n, 'ok']));
  let pods: DemoPod[] = [];
  let seq = 0;
  let now = 0;
  let backlog = 0;
  let target = c.initialReplicas;
  const ledger: LedgerEntry[] = [];
  const scaler: PredictiveScaler = {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name: DEMO_SCALER, namespace: DEMO_NAMESPACE, annotations: {} },
    spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: DEMO_SCALER } } as PredictiveScaler['spec'],
  };

  const schedulable = (n: string): boolean => !nodeObjects.get(n)?.spec?.unschedulable && !(nodeObjects.get(n)?.spec?.taints ?? []).some((t) => t.key === UNHEALTHY_TAINT.key);
  const place = (p: DemoPod, servesFrom: number): void => {
    const used = new Set(pods.map((x) => x.node));
    const free = names.find((n) => schedulable(n) && !used.has(n));
    if (free) Object.assign(p, { node: free, readyFrom: servesFrom });
  };
  const newPod = (servesFrom: number): DemoPod => {
    const p: DemoPod = { name: `inference-${(seq++).toString(36).padStart(5, '0')}`, readyFrom: Infinity };
    pods.push(p);
    place(p, servesFrom);
    return p;
  };
  for (let i = 0; i < c.initialReplicas; i++) newPod(0);

  const podObject = (p: DemoPod): V1Pod => ({
    metadata: { name: p.name, namespace: DEMO_NAMESPACE, labels: { app: 'inference' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'inference-5d8f', uid: 'rs', controller: true }] },
    spec: { ...(p.node ? { nodeName: p.node } : {}), containers: [{ name: 'model', resources: { limits: { 'nvidia.com/gpu': '1' } } }] },
    status: { phase: p.node ? 'Running' : 'Pending', conditions: [{ type: 'Ready', status: p.readyFrom <= now ? 'True' : 'False' }] },
  });
  const bump = (n: V1Node): void => {
    n.metadata = { ...n.metadata, resourceVersion: String(Number(n.metadata?.resourceVersion ?? '0') + 1) };
  };
  const readyCount = (): number => pods.filter((p) => p.readyFrom <= now).length;

  const fleet: SimulatedFleet = {
    scaleTo(replicas, t) {
      target = replicas;
      if (replicas > pods.length) for (let i = pods.length; i < replicas; i++) newPod(t + 1 + c.startupSteps);
      // Scaling down removes the newest pods first, Pending ones before those that serve.
      else pods = [...pods].sort((a, b) => Number(a.node === undefined) - Number(b.node === undefined)).slice(0, replicas);
    },
    serve(demand, t) {
      now = t;
      // Pods Pending for want of a GPU are placed as soon as one frees up.
      for (const p of pods) if (!p.node) place(p, t + c.startupSteps);
      const ready = pods.filter((p) => p.readyFrom <= t);
      const share = (p: DemoPod): number => ({ ok: 1, lost: 0, thermal: c.thermalCapacity })[gpus.get(p.node ?? '') ?? 'ok'];
      const can = ready.reduce((acc, p) => acc + share(p) * c.capacity, 0);
      const want = backlog + demand;
      const served = Math.min(want, can);
      backlog = want - served;
      return { existing: pods.length, ready: ready.length, served, backlog } satisfies FleetInterval;
    },
  };

  const healing: HealingCluster = {
    listNodes: () => Promise.resolve(names.map((n) => structuredClone(nodeObjects.get(n) as V1Node))),
    listPods: () => Promise.resolve(pods.map(podObject)),
    cordon(node, remediation, nowUnix) {
      const n = nodeObjects.get(node.metadata?.name ?? '') as V1Node;
      n.spec = { ...n.spec, unschedulable: true, taints: [...(n.spec?.taints ?? []).filter((t) => t.key !== UNHEALTHY_TAINT.key), { key: UNHEALTHY_TAINT.key, effect: UNHEALTHY_TAINT.effect, value: remediation.check }] };
      n.metadata = { ...n.metadata, annotations: { ...n.metadata?.annotations, [REMEDIATION_ANNOTATION]: JSON.stringify(remediation), [LAST_REMEDIATION_ANNOTATION]: String(nowUnix) } };
      bump(n);
      return Promise.resolve(structuredClone(n));
    },
    recordPhase(node, remediation) {
      const n = nodeObjects.get(node.metadata?.name ?? '') as V1Node;
      n.metadata = { ...n.metadata, annotations: { ...n.metadata?.annotations, [REMEDIATION_ANNOTATION]: JSON.stringify(remediation) } };
      bump(n);
      return Promise.resolve();
    },
    setNodeCondition(node, condition, nowUnix) {
      const n = nodeObjects.get(node.metadata?.name ?? '') as V1Node;
      const others = (n.status?.conditions ?? []).filter((x) => x.type !== condition.type);
      n.status = { ...n.status, conditions: [...others, { ...condition, lastHeartbeatTime: new Date(nowUnix * 1000), lastTransitionTime: new Date(nowUnix * 1000) }] };
      return Promise.resolve();
    },
    evict(namespace, name) {
      const p = pods.find((x) => x.name === name && namespace === DEMO_NAMESPACE);
      if (!p) return Promise.resolve('gone');
      pods = pods.filter((x) => x !== p);
      // The ReplicaSet replaces an evicted pod at once; the new one starts on a schedulable node.
      if (pods.length < target) newPod(now + 1 + c.startupSteps);
      return Promise.resolve('evicted');
    },
    setFloor(_namespace, _name, replicas, expiresAtUnix, reason) {
      scaler.metadata.annotations = { ...scaler.metadata.annotations, [FLOOR_ANNOTATION]: `${replicas},${Math.round(expiresAtUnix)},${reason}` };
      return Promise.resolve();
    },
    readLedger: () => Promise.resolve([...ledger]),
    appendLedger(entries, keepAfterUnix) {
      const kept = [...ledger.filter((e) => e.atUnix > keepAfterUnix), ...entries];
      ledger.splice(0, ledger.length, ...kept);
      return Promise.resolve();
    },
  };

  const scale: ScaleClient = {
    read: () => Promise.resolve({ replicas: target, currentReplicas: pods.length, selector: SELECTOR, resourceVersion: String(seq) }),
    writerOf: () => Promise.resolve(undefined),
    setReplicas: (_ref, replicas) => {
      fleet.scaleTo(replicas, now);
      return Promise.resolve({ replicas, currentReplicas: pods.length, selector: SELECTOR, resourceVersion: String(seq) });
    },
  };

  return {
    fleet,
    healing,
    scaler: () => scaler,
    scale,
    readyPods: (namespace, selector) => Promise.resolve(namespace === DEMO_NAMESPACE && selector === SELECTOR ? readyCount() : 0),
    nodes: () => names.map((n) => nodeObjects.get(n) as V1Node),
    pods: () => pods,
    gpuState: (n) => gpus.get(n) ?? 'ok',
    setGpuState: (n, s) => void gpus.set(n, s),
  };
}
