import type { GuardAsk } from '../controller/scaling/decide.ts';
import { guardNeed } from '../controller/signals/guards.ts';

/**
 * Replay's one fast signal for the panic window (`surgeguard replay --panic`): demand this interval per
 * existing replica against what a replica serves, read through the live controller's own `guardNeed`
 * (a Total guard whose target is the capacity per replica), so the panic threshold (2x the target) and
 * the calm rule (at or under it) are the live ones. Its replica ask never exceeds the reactive rule's
 * (headroom >= 1), so with it on only the panic flag (skip the scale-up limit) and the calm flag (no
 * scale-down while above target) change a decision. Rates per second in, as `decide` takes them.
 */
export function panicGuard(demandRate: number, currentReplicas: number, capacityPerReplicaPerSecond: number): GuardAsk {
  if (!(capacityPerReplicaPerSecond > 0)) throw new Error(`panicGuard: capacity per replica must be above 0, got ${capacityPerReplicaPerSecond}`);
  const n = guardNeed({ name: 'demand', query: '', target: capacityPerReplicaPerSecond, type: 'Total' }, Math.max(0, demandRate), currentReplicas);
  return { name: n.name, replicas: n.replicas, detail: n.detail, panic: n.panic, calm: n.calm };
}
