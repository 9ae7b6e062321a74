import type { PredictiveScaler } from '../crd/predictive-scaler.ts';
import type { ShardCoordinator } from './coordinator.ts';

/** The resource of a GPU budget when spec.gpu names none (the CRD's default, as the tick reads it). */
const DEFAULT_GPU_RESOURCE = 'nvidia.com/gpu';

/**
 * What a scaler hashes by to find its shard: the GPU pool it draws on where it has `spec.gpu`
 * (`gpu:<resource>`, the unit the GPU budget splits, capacity/apply.ts), else its `namespace/name`.
 * All the scalers of one pool then land on one shard, whose owner sees the whole pool and computes
 * its budget as the single leader would. The key depends on the object only, never on a setting a
 * replica could hold differently during a rollout, so every replica with the same object computes
 * the same shard. `gpu:` cannot be a namespace (DNS labels have no colon), so the two kinds of key
 * never meet; the `namespace/name` form hashes exactly as before pools existed.
 */
export function shardKeyOf(s: Pick<PredictiveScaler, 'metadata' | 'spec'>): string {
  return s.spec.gpu ? gpuPoolKey(s.spec.gpu.resource ?? DEFAULT_GPU_RESOURCE) : `${s.metadata.namespace}/${s.metadata.name}`;
}

/** The shard key of a GPU pool: every scaler with `spec.gpu.resource` equal to `resource`. */
export function gpuPoolKey(resource: string): string {
  return `gpu:${resource}`;
}

export interface ScalerShardsDeps {
  coordinator: Pick<ShardCoordinator, 'owns' | 'begin' | 'shardOf'>;
  /** The scaler as this replica's cache has it now (`namespace`, `name`). */
  lookup(namespace: string, name: string): PredictiveScaler | undefined;
  now: () => number;
}

export interface ScalerShards {
  /**
   * Takes every scaler the cache holds (each tick) and notes whose shard moved: a scaler whose
   * shard key now maps to another shard than this replica last saw is settling for `settleMs`.
   */
  sync(all: readonly PredictiveScaler[]): void;
  /** True while this replica acts for the scaler: settled, and its shard held here. */
  owns(s: PredictiveScaler): boolean;
  /** The coordinator's `begin` for the scaler `namespace/name` as the cache has it now; undefined (refused) while settling. */
  begin(scalerKey: string): (() => void) | undefined;
  /** The shard of the scaler `namespace/name` as the cache has it now. */
  shardOf(scalerKey: string): number;
}

/**
 * The scalers' shards on one replica, with the handover when a scaler's pool changes (its shard
 * then moves from one owner to another with neither Lease moving). Each replica reads the pool from
 * its own watch cache, so for a moment the old owner may still see the old pool while the new one
 * sees the new: the new owner writes only after it has seen the new shard for `settleMs` (one lease
 * duration), and the old owner's fence refuses as soon as its cache shows the move. A scaler that
 * vanished is remembered for `settleMs`, so one recreated at once in another pool settles too.
 * A scaler seen first (at start) is settled at once: nothing is known of an earlier shard.
 */
export function createScalerShards(deps: ScalerShardsDeps, config: { settleMs: number }): ScalerShards {
  const known = new Map<string, { shard: number; key: string; movedAt: number; goneAt?: number }>();

  const note = (scalerKey: string, key: string): { shard: number; movedAt: number } => {
    const shard = deps.coordinator.shardOf(key);
    const prev = known.get(scalerKey);
    // Another key on the same shard (two pools hashed together) is guarded by the same Lease: no wait.
    const movedAt = prev && prev.shard !== shard ? deps.now() : (prev?.movedAt ?? -Infinity);
    const entry = { shard, key, movedAt };
    known.set(scalerKey, entry);
    return entry;
  };
  const settled = (e: { movedAt: number }): boolean => deps.now() - e.movedAt >= config.settleMs;
  const current = (scalerKey: string): string => {
    const [namespace = '', name = ''] = scalerKey.split('/');
    const s = deps.lookup(namespace, name);
    return s ? shardKeyOf(s) : (known.get(scalerKey)?.key ?? scalerKey);
  };

  return {
    sync(all) {
      const t = deps.now();
      const present = new Set<string>();
      for (const s of all) {
        const scalerKey = `${s.metadata.namespace}/${s.metadata.name}`;
        present.add(scalerKey);
        note(scalerKey, shardKeyOf(s));
      }
      for (const [scalerKey, e] of known) {
        if (present.has(scalerKey)) continue;
        if (e.goneAt === undefined) e.goneAt = t;
        else if (t - e.goneAt >= config.settleMs) known.delete(scalerKey);
      }
    },
    owns(s) {
      const scalerKey = `${s.metadata.namespace}/${s.metadata.name}`;
      const key = shardKeyOf(s);
      return settled(note(scalerKey, key)) && deps.coordinator.owns(key);
    },
    begin(scalerKey) {
      const key = current(scalerKey);
      return settled(note(scalerKey, key)) ? deps.coordinator.begin(key) : undefined;
    },
    shardOf: (scalerKey) => deps.coordinator.shardOf(current(scalerKey)),
  };
}
