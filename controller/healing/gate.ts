import type { HealingConfig } from './config.ts';

/** What the gate needs to know about the fleet right now. */
export interface GateView {
  /** Nodes the healing loop looks after (GPU nodes; every node when none advertises GPUs). */
  nodes: number;
  /** Nodes cordoned now, by anyone. */
  cordoned: number;
  /** Distinct nodes with a fatal or degraded finding now. */
  unhealthyNodes: number;
  /** Node remediations not finished (cordoned and not yet drained). */
  inFlight: number;
  /** Actions taken in the last hour (from the ledger on the cluster). */
  actionsLastHour: number;
}

export type GateVerdict = { allow: true } | { allow: false; reason: GateReason; detail: string };
export type GateReason = 'FleetWideProblem' | 'CordonLimit' | 'InFlightLimit' | 'HourlyLimit' | 'NodeCooldown';

/**
 * The safety gate, in one place: every limit on what the healing loop may do. Pure; the
 * caller counts what it admits within one tick (`admitted`), so a tick with five failing
 * nodes cannot cordon five because each looked alone.
 */
export function createGate(config: HealingConfig['gate']): {
  cordonLimit(nodes: number): number;
  fleetWide(view: GateView): boolean;
  admitNode(view: GateView, admitted: { cordons: number; actions: number }, lastRemediationUnix: number | undefined, nowUnix: number): GateVerdict;
  admitPod(view: GateView, admitted: { cordons: number; actions: number }): GateVerdict;
} {
  const cordonLimit = (nodes: number): number => Math.max(1, Math.floor(config.maxCordonedFraction * nodes));
  const fleetWide = (v: GateView): boolean => v.nodes > 0 && v.unhealthyNodes / v.nodes > config.fleetUnhealthyFraction;
  const hourly = (v: GateView, a: { actions: number }): GateVerdict | undefined =>
    v.actionsLastHour + a.actions >= config.maxActionsPerHour ? { allow: false, reason: 'HourlyLimit', detail: `${v.actionsLastHour + a.actions} actions in the last hour (limit ${config.maxActionsPerHour})` } : undefined;
  return {
    cordonLimit,
    fleetWide,
    admitNode(v, a, last, now) {
      if (fleetWide(v)) return { allow: false, reason: 'FleetWideProblem', detail: `${v.unhealthyNodes} of ${v.nodes} nodes look unhealthy (over ${Math.round(config.fleetUnhealthyFraction * 100)}%): rarely the nodes' fault, so none is touched` };
      if (last !== undefined && now - last < config.nodeCooldownSeconds) return { allow: false, reason: 'NodeCooldown', detail: `last remediated ${Math.round(now - last)} s ago (cooldown ${config.nodeCooldownSeconds} s)` };
      if (v.cordoned + a.cordons >= cordonLimit(v.nodes)) return { allow: false, reason: 'CordonLimit', detail: `${v.cordoned + a.cordons} of ${v.nodes} nodes cordoned (limit ${cordonLimit(v.nodes)})` };
      if (v.inFlight + a.cordons >= config.maxInFlight) return { allow: false, reason: 'InFlightLimit', detail: `${v.inFlight + a.cordons} remediations in flight (limit ${config.maxInFlight})` };
      return hourly(v, a) ?? { allow: true };
    },
    admitPod(v, a) {
      return hourly(v, a) ?? { allow: true };
    },
  };
}
