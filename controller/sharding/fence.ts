import { ErrorCode, SurgeGuardError } from '../../common/errors.ts';
import type { ClusterWriter, ObjectRef } from '../kube/cluster.ts';
import type { ScaleClient, TargetRef } from '../kube/scale-target.ts';
import type { ShardCoordinator } from './coordinator.ts';

export interface ShardFenceDeps {
  /** By scaler (`namespace/name`): the controller passes shard-key.ts's view, which maps each scaler to its shard key. */
  coordinator: Pick<ShardCoordinator, 'begin' | 'shardOf'>;
  /** The scaler (`namespace/name`) whose target `ref` is, from the scaler cache. */
  scalerOfTarget(ref: TargetRef): string | undefined;
  /** Told about each refused write (a log line and a counter in the controller). */
  refused(client: string, method: string, scaler: string): void;
}

/**
 * The write fence of controller/leader/fence.ts, per shard: each write first asks whether this
 * replica still holds the shard of the scaler it writes for, and is counted in flight until it
 * returns, so that a shard moving away is released only once its writes have landed. A write for
 * a target no scaler names is refused: nothing this loop does writes one.
 */
async function guarded<T>(deps: ShardFenceDeps, what: { client: string; method: string; scaler: string | undefined }, write: () => Promise<T>): Promise<T> {
  const { client, method, scaler } = what;
  const done = scaler === undefined ? undefined : deps.coordinator.begin(scaler);
  if (!done) {
    const key = scaler ?? '(no scaler)';
    deps.refused(client, method, key);
    const shard = scaler === undefined ? undefined : deps.coordinator.shardOf(scaler);
    throw new SurgeGuardError(ErrorCode.NotLeader, `${client}.${method} refused: this replica does not hold the shard of ${key}`, { details: { client, method, scaler: key, shard } });
  }
  try {
    return await write();
  } finally {
    done();
  }
}

/** The scale client with `setReplicas` fenced per shard; reads pass. */
export function shardFencedScale(inner: ScaleClient, deps: ShardFenceDeps): ScaleClient {
  return {
    read: (ref) => inner.read(ref),
    writerOf: (ref) => inner.writerOf(ref),
    setReplicas: (ref, replicas, rv) => guarded(deps, { client: 'scale', method: 'setReplicas', scaler: deps.scalerOfTarget(ref) }, () => inner.setReplicas(ref, replicas, rv)),
  };
}

/** The status writer fenced per shard: a scaler's status and the Events about it or its target. */
export function shardFencedWriter(inner: ClusterWriter, deps: ShardFenceDeps): ClusterWriter {
  const scalerOf = (obj: ObjectRef): string | undefined => (obj.kind === 'PredictiveScaler' ? `${obj.namespace}/${obj.name}` : deps.scalerOfTarget(obj));
  return {
    patchScalerStatus: (namespace, name, status) => guarded(deps, { client: 'status', method: 'patchScalerStatus', scaler: `${namespace}/${name}` }, () => inner.patchScalerStatus(namespace, name, status)),
    event: (obj, type, reason, message) => guarded(deps, { client: 'status', method: 'event', scaler: scalerOf(obj) }, () => inner.event(obj, type, reason, message)),
  };
}
