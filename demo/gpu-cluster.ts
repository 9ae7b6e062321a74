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
  const w = newWorld(c);
  for (let i = 0; i < c.initialReplicas; i++) newPod(w, 0);
  const fleet = simulatedFleet(w);
  return {
    fleet,
    healing: healingView(w),
    scaler: () => w.scaler,
    scale: scaleView(w, fleet),
    readyPods: (namespace, selector) => Promise.resolve(namespace === DEMO_NAMESPACE && selector === SELECTOR ? w.pods.filter((p) => p.readyFrom <= w.now).length : 0),
    nodes: () => w.names.map((n) => w.nodeObjects.get(n) as V1Node),
    pods: () => w.pods,
    gpuState: (n) => w.gpus.get(n) ?? 'ok',
    setGpuState: (n, s) => void w.gpus.set(n, s),
  };
}

/** The whole simulated cluster's state; the views below read and change it. */
interface World {
  readonly c: GpuClusterConfig;
  readonly names: readonly string[];
  readonly nodeObjects: Map<string, V1Node>;
  readonly gpus: Map<string, GpuState>;
  pods: DemoPod[];
  /** Names the next pod; also the scale's resourceVersion. */
  seq: number;
  /** The interval being served. */
  now: number;
  /** Requests waiting from earlier intervals. */
  backlog: number;
  /** The Deployment's spec.replicas. */
  target: number;
  readonly ledger: LedgerEntry[];
  readonly scaler: PredictiveScaler;
}

function newWorld(c: GpuClusterConfig): World {
  const names = Array.from({ length: c.nodes }, (_, i) => `gpu-node-${String(i + 1).padStart(2, '0')}`);
  return {
    c,
    names,
    nodeObjects: new Map<string, V1Node>(names.map((name) => [name, { metadata: { name, labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' }, annotations: {}, resourceVersion: '1' }, spec: {}, status: { allocatable: { 'nvidia.com/gpu': '1' }, conditions: [] } }])),
    gpus: new Map<string, GpuState>(names.map((n) => [n, 'ok'])),
    pods: [],
    seq: 0,
    now: 0,
    backlog: 0,
    target: c.initialReplicas,
    ledger: [],
    scaler: {
      apiVersion: 'surgeguard.io/v1alpha1',
      kind: 'PredictiveScaler',
      metadata: { name: DEMO_SCALER, namespace: DEMO_NAMESPACE, annotations: {} },
      spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: DEMO_SCALER } } as PredictiveScaler['spec'],
    },
  };
}

function schedulable(w: World, n: string): boolean {
  const node = w.nodeObjects.get(n);
  return !node?.spec?.unschedulable && !(node?.spec?.taints ?? []).some((t) => t.key === UNHEALTHY_TAINT.key);
}

/** Puts a pod on a schedulable node with a free GPU, if there is one; it serves from servesFrom. */
function place(w: World, p: DemoPod, servesFrom: number): void {
  const used = new Set(w.pods.map((x) => x.node));
  const free = w.names.find((n) => schedulable(w, n) && !used.has(n));
  if (free) Object.assign(p, { node: free, readyFrom: servesFrom });
}

function newPod(w: World, servesFrom: number): DemoPod {
  const p: DemoPod = { name: `inference-${(w.seq++).toString(36).padStart(5, '0')}`, readyFrom: Infinity };
  w.pods.push(p);
  place(w, p, servesFrom);
  return p;
}

function podObject(w: World, p: DemoPod): V1Pod {
  return {
    metadata: { name: p.name, namespace: DEMO_NAMESPACE, labels: { app: 'inference' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'inference-5d8f', uid: 'rs', controller: true }] },
    spec: { ...(p.node ? { nodeName: p.node } : {}), containers: [{ name: 'model', resources: { limits: { 'nvidia.com/gpu': '1' } } }] },
    status: { phase: p.node ? 'Running' : 'Pending', conditions: [{ type: 'Ready', status: p.readyFrom <= w.now ? 'True' : 'False' }] },
  };
}

function bump(n: V1Node): void {
  n.metadata = { ...n.metadata, resourceVersion: String(Number(n.metadata?.resourceVersion ?? '0') + 1) };
}

/** The scaling loop's view: pods asked for, and the demand they serve interval by interval. */
function simulatedFleet(w: World): SimulatedFleet {
  const { c } = w;
  return {
    scaleTo(replicas, t) {
      w.target = replicas;
      if (replicas > w.pods.length) for (let i = w.pods.length; i < replicas; i++) newPod(w, t + 1 + c.startupSteps);
      // Scaling down removes the newest pods first, Pending ones before those that serve.
      else w.pods = [...w.pods].sort((a, b) => Number(a.node === undefined) - Number(b.node === undefined)).slice(0, replicas);
    },
    serve(demand, t) {
      w.now = t;
      // Pods Pending for want of a GPU are placed as soon as one frees up.
      for (const p of w.pods) if (!p.node) place(w, p, t + c.startupSteps);
      const ready = w.pods.filter((p) => p.readyFrom <= t);
      const share = (p: DemoPod): number => ({ ok: 1, lost: 0, thermal: c.thermalCapacity })[w.gpus.get(p.node ?? '') ?? 'ok'];
      const can = ready.reduce((acc, p) => acc + share(p) * c.capacity, 0);
      const want = w.backlog + demand;
      const served = Math.min(want, can);
      w.backlog = want - served;
      return { existing: w.pods.length, ready: ready.length, served, backlog: w.backlog } satisfies FleetInterval;
    },
  };
}

/** The healing loop's view: nodes and pods, cordon, phases and conditions, eviction, floors and the ledger. */
function healingView(w: World): HealingCluster {
  const nodeOf = (node: V1Node): V1Node => w.nodeObjects.get(node.metadata?.name ?? '') as V1Node;
  return {
    listNodes: () => Promise.resolve(w.names.map((n) => structuredClone(w.nodeObjects.get(n) as V1Node))),
    listPods: () => Promise.resolve(w.pods.map((p) => podObject(w, p))),
    cordon(node, remediation, nowUnix) {
      const n = nodeOf(node);
      n.spec = { ...n.spec, unschedulable: true, taints: [...(n.spec?.taints ?? []).filter((t) => t.key !== UNHEALTHY_TAINT.key), { key: UNHEALTHY_TAINT.key, effect: UNHEALTHY_TAINT.effect, value: remediation.check }] };
      n.metadata = { ...n.metadata, annotations: { ...n.metadata?.annotations, [REMEDIATION_ANNOTATION]: JSON.stringify(remediation), [LAST_REMEDIATION_ANNOTATION]: String(nowUnix) } };
      bump(n);
      return Promise.resolve(structuredClone(n));
    },
    recordPhase(node, remediation) {
      const n = nodeOf(node);
      n.metadata = { ...n.metadata, annotations: { ...n.metadata?.annotations, [REMEDIATION_ANNOTATION]: JSON.stringify(remediation) } };
      bump(n);
      return Promise.resolve();
    },
    setNodeCondition(node, condition, nowUnix) {
      const n = nodeOf(node);
      const others = (n.status?.conditions ?? []).filter((x) => x.type !== condition.type);
      n.status = { ...n.status, conditions: [...others, { ...condition, lastHeartbeatTime: new Date(nowUnix * 1000), lastTransitionTime: new Date(nowUnix * 1000) }] };
      return Promise.resolve();
    },
    evict(namespace, name) {
      const p = w.pods.find((x) => x.name === name && namespace === DEMO_NAMESPACE);
      if (!p) return Promise.resolve('gone');
      w.pods = w.pods.filter((x) => x !== p);
      // The ReplicaSet replaces an evicted pod at once; the new one starts on a schedulable node.
      if (w.pods.length < w.target) newPod(w, w.now + 1 + w.c.startupSteps);
      return Promise.resolve('evicted');
    },
    setFloor(_namespace, _name, replicas, expiresAtUnix, reason) {
      w.scaler.metadata.annotations = { ...w.scaler.metadata.annotations, [FLOOR_ANNOTATION]: `${replicas},${Math.round(expiresAtUnix)},${reason}` };
      return Promise.resolve();
    },
    readLedger: () => Promise.resolve([...w.ledger]),
    appendLedger(entries, keepAfterUnix) {
      const kept = [...w.ledger.filter((e) => e.atUnix > keepAfterUnix), ...entries];
      w.ledger.splice(0, w.ledger.length, ...kept);
      return Promise.resolve();
    },
  };
}

/** The scale subresource of the demo Deployment; a write scales the fleet. */
function scaleView(w: World, fleet: SimulatedFleet): ScaleClient {
  return {
    read: () => Promise.resolve({ replicas: w.target, currentReplicas: w.pods.length, selector: SELECTOR, resourceVersion: String(w.seq) }),
    writerOf: () => Promise.resolve(undefined),
    setReplicas: (_ref, replicas) => {
      fleet.scaleTo(replicas, w.now);
      return Promise.resolve({ replicas, currentReplicas: w.pods.length, selector: SELECTOR, resourceVersion: String(w.seq) });
    },
  };
}
