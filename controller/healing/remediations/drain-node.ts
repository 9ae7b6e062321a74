import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { PredictiveScaler } from '../../crd/predictive-scaler.ts';
import type { ScaleClient } from '../../kube/scale-target.ts';
import { floorOf } from '../../reconcile/scaler-policy.ts';
import { targetOf } from '../../reconcile/tick.ts';
import type { HealingConfig } from '../config.ts';
import type { HealingCluster } from '../cluster.ts';
import type { NodeRemediation } from '../state.ts';
import { parseLabelSelector } from '../../kube/label-selector.ts';

/** One thing a drain step did, for the audit. */
export interface DrainEvent {
  step: 'raise-floors' | 'drain' | 'drained' | 'evict';
  outcome: 'acted' | 'blocked' | 'skipped';
  reason: string;
  message: string;
  evidence?: Record<string, unknown>;
}

export interface DrainDeps {
  cluster: HealingCluster;
  scalers: () => readonly PredictiveScaler[];
  scale: ScaleClient;
  /** Ready pods matching a selector (Deployment status can lag the pods). */
  readyPods: (namespace: string, selector: string) => Promise<number>;
}

/** Pods a drain evicts: not DaemonSet-owned, not static (mirror) pods, not finished or leaving. */
export function evictable(p: V1Pod): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return false;
  if (p.metadata?.annotations?.['kubernetes.io/config.mirror']) return false;
  return !(p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet');
}

/** The reason a drain writes into a scaler's floor annotation; it names the node being drained. */
const floorReason = (node: string): string => `drain ${node}`;

/** The scale subresource's selector (matchExpressions included); an unreadable one matches no pod. */
function matches(selector: string, labels: Record<string, string>): boolean {
  try {
    return parseLabelSelector(selector)(labels);
  } catch {
    return false;
  }
}

/**
 * The drain-node remediation, advanced one step per tick from the state recorded on the node:
 * - awaiting-replacements (degraded faults): raise the floor of every scaler with pods on the
 *   node to its replicas plus those pods, expiring after `floorTtlSeconds`; record them; drain
 *   once each scaler has that many ready pods, or when the deadline passes (make before break).
 * - draining: evict every evictable pod (PDBs respected: a refusal is retried next tick); once
 *   none is left the node is `drained` and stays cordoned for a human to repair.
 */
export function drainNode(deps: DrainDeps, config: HealingConfig['drain']): {
  advance(node: V1Node, r: NodeRemediation, pods: readonly V1Pod[], nowMs: number, act: boolean): Promise<{ next: NodeRemediation; events: DrainEvent[] }>;
} {
  const onNode = (pods: readonly V1Pod[], node: string): V1Pod[] => pods.filter((p) => p.spec?.nodeName === node && evictable(p));

  const raiseFloors = async (node: string, r: NodeRemediation, pods: readonly V1Pod[], nowMs: number, act: boolean): Promise<{ floors: Array<{ key: string; replicas: number; namespace: string; selector: string }>; events: DrainEvent[] }> => {
    const floors: Array<{ key: string; replicas: number; namespace: string; selector: string }> = [];
    const events: DrainEvent[] = [];
    // Only scalers in a namespace with pods on the node can have pods there: no scale read for the rest.
    const namespaces = new Set(onNode(pods, node).map((p) => p.metadata?.namespace));
    for (const s of deps.scalers().filter((x) => namespaces.has(x.metadata.namespace))) {
      const ns = s.metadata.namespace;
      const state = await deps.scale.read(targetOf(s));
      const here = onNode(pods, node).filter((p) => p.metadata?.namespace === ns && matches(state.selector, p.metadata?.labels ?? {})).length;
      if (here === 0) continue;
      const key = `${ns}/${s.metadata.name}`;
      // Raised before (maybe by another leader): wait for that number, raise nothing. The node's
      // record can miss a floor the scaler already carries: a leader that dies between writing
      // the floor and recording it on the node (two objects, no transaction) leaves only the
      // scaler's annotation, so that counts too.
      const recorded = (r.floors ?? []).find((f) => f.scaler === key)?.replicas;
      const onScaler = floorOf(s);
      const unrecorded = onScaler?.reason === floorReason(node) && onScaler.expiresAtSeconds > nowMs / 1000 ? onScaler.replicas : undefined;
      const before = recorded ?? unrecorded;
      if (before !== undefined) {
        floors.push({ key, replicas: before, namespace: ns, selector: state.selector });
        continue;
      }
      const replicas = state.replicas + here;
      floors.push({ key, replicas, namespace: ns, selector: state.selector });
      if (act) await deps.cluster.setFloor(ns, s.metadata.name, replicas, nowMs / 1000 + config.floorTtlSeconds, floorReason(node));
      events.push({ step: 'raise-floors', outcome: 'acted', reason: 'ReplicaFloorRaised', message: `raised the floor of ${key} to ${replicas} (${here} pods on ${node}) before draining it`, evidence: { scaler: key, replicas, podsOnNode: here } });
    }
    return { floors, events };
  };

  return {
    async advance(node, r, pods, nowMs, act) {
      const name = node.metadata?.name ?? '';
      if (r.phase === 'awaiting-replacements') {
        const { floors, events } = await raiseFloors(name, r, pods, nowMs, act);
        const known = new Set((r.floors ?? []).map((f) => f.scaler));
        const raised = { ...r, floors: [...(r.floors ?? []), ...floors.filter((f) => !known.has(f.key)).map((f) => ({ scaler: f.key, replicas: f.replicas }))] };
        const ready = await Promise.all(floors.map(async (f) => (await deps.readyPods(f.namespace, f.selector)) >= f.replicas));
        const late = r.deadlineUnix !== undefined && nowMs / 1000 >= r.deadlineUnix;
        if (ready.every(Boolean) || late) {
          events.push({ step: 'drain', outcome: 'acted', reason: late ? 'ReplacementTimeout' : 'ReplacementsReady', message: late ? `replacements for ${name} not ready by the deadline; draining anyway` : `replacements for the pods on ${name} are ready; draining` });
          return { next: { ...raised, phase: 'draining' }, events };
        }
        return { next: raised, events };
      }
      if (r.phase === 'draining') {
        const events: DrainEvent[] = [];
        const left = onNode(pods, name);
        if (left.length === 0) {
          events.push({ step: 'drained', outcome: 'acted', reason: 'NodeDrained', message: `node ${name} drained; it stays cordoned until repaired (remove the taint ${'surgeguard.io/unhealthy'} to return it)` });
          return { next: { ...r, phase: 'drained' }, events };
        }
        for (const p of left) {
          const pod = `${p.metadata?.namespace}/${p.metadata?.name}`;
          if (!act) continue;
          const res = await deps.cluster.evict(p.metadata?.namespace ?? '', p.metadata?.name ?? '');
          if (typeof res === 'object') events.push({ step: 'evict', outcome: 'blocked', reason: 'PodDisruptionBudget', message: `evicting ${pod} from ${name} refused: ${res.blocked}`, evidence: { pod } });
          else if (res === 'evicted') events.push({ step: 'evict', outcome: 'acted', reason: 'PodEvicted', message: `evicted ${pod} from ${name}`, evidence: { pod } });
        }
        return { next: r, events };
      }
      return { next: r, events: [] };
    },
  };
}
