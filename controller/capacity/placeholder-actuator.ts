import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { errorMessage } from '../../common/errors.ts';
import type { ObjectRef } from '../kube/cluster.ts';
import type { PlaceholderClient } from './placeholder-client.ts';
import type { PlaceholderConfig } from './placeholder-config.ts';
import type { PoolPlan } from './placeholder-plan.ts';
import { placeholderIndex, placeholderPod } from './placeholder-pods.ts';

export interface PlaceholderActuatorDeps {
  client: PlaceholderClient;
  event: (obj: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;
  logger: Logger;
  metrics: MetricRegistry;
}

/** What applying one plan did. */
export interface AppliedPlan {
  readonly created: readonly string[];
  readonly deleted: readonly string[];
  readonly failed: number;
}

export interface PlaceholderActuator {
  /** Creates and deletes the plan's pods; each change is a log line and a count, each plan that changed something one Event. */
  apply(plan: PoolPlan): Promise<AppliedPlan>;
  /** Deletes placeholders of pools no longer configured. */
  deleteOrphans(names: readonly string[]): Promise<void>;
  /** Says once, when it starts, that a pool has no autoscaler behind it (Warning Event on its oldest Pending placeholder). */
  tellStall(plan: PoolPlan, oldestPending: string): Promise<void>;
}

/**
 * Applies placeholder plans (placeholder-plan.ts) through the API server. A failed create or delete
 * is logged and counted and the rest of the plan goes on: the next tick decides again from what
 * exists, so nothing is retried here.
 */
export function createPlaceholderActuator(deps: PlaceholderActuatorDeps, config: PlaceholderConfig): PlaceholderActuator {
  const changes = deps.metrics.counter('surgeguard_placeholder_pods_total', 'Placeholder pods created and deleted, by pool, action and reason (Forecast, Stabilized, PlaceholderCap, CostCap, NoAutoscaler for creates; Released, Finished, PoolRemoved for deletes).', ['pool', 'action', 'reason']);
  const errors = deps.metrics.counter('surgeguard_placeholder_errors_total', 'Placeholder creates and deletes the API server refused, by pool and action.', ['pool', 'action']);
  const ref = (name: string): ObjectRef => ({ apiVersion: 'v1', kind: 'Pod', name, namespace: config.namespace });
  const event = async (obj: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> => {
    // An Event is the explanation, not the action: a refused one is logged and the tick goes on.
    await deps.event(obj, type, reason, message).catch((err: unknown) => deps.logger.warn({ err: errorMessage(err), reason }, 'event not recorded'));
  };

  const create = async (plan: PoolPlan, name: string): Promise<boolean> => {
    const pool = config.pools.find((p) => p.name === plan.pool);
    const index = placeholderIndex(plan.pool, name);
    if (!pool || index === undefined) return false;
    try {
      const made = await deps.client.create(placeholderPod(pool, config, index));
      changes.inc({ pool: plan.pool, action: 'created', reason: plan.reason });
      deps.logger.info({ pool: plan.pool, pod: name, resource: plan.resource, gpus: pool.gpusPerPod, reason: plan.reason, existed: !made }, 'placeholder created');
      return true;
    } catch (err) {
      errors.inc({ pool: plan.pool, action: 'create' });
      deps.logger.warn({ pool: plan.pool, pod: name, err: errorMessage(err) }, 'placeholder create failed; the next tick decides again');
      return false;
    }
  };

  const remove = async (pool: string, name: string, reason: string): Promise<boolean> => {
    try {
      const gone = await deps.client.delete(config.namespace, name);
      changes.inc({ pool, action: 'deleted', reason });
      deps.logger.info({ pool, pod: name, reason, existed: gone }, 'placeholder deleted');
      return true;
    } catch (err) {
      errors.inc({ pool, action: 'delete' });
      deps.logger.warn({ pool, pod: name, err: errorMessage(err) }, 'placeholder delete failed; the next tick decides again');
      return false;
    }
  };

  return {
    async apply(plan) {
      const created: string[] = [];
      const deleted: string[] = [];
      for (const name of plan.create) if (await create(plan, name)) created.push(name);
      for (const d of plan.delete) if (await remove(plan.pool, d.name, d.reason)) deleted.push(d.name);
      const failed = plan.create.length + plan.delete.length - created.length - deleted.length;
      const first = created[0] ?? deleted[0];
      if (first !== undefined) {
        const what = [created.length > 0 ? `created ${created.join(', ')}` : '', deleted.length > 0 ? `deleted ${deleted.join(', ')}` : ''].filter(Boolean).join('; ');
        await event(ref(first), 'Normal', created.length > 0 ? 'PlaceholdersCreated' : 'PlaceholdersDeleted', `${plan.message}: ${what}`);
      }
      return { created, deleted, failed };
    },
    async deleteOrphans(names) {
      for (const name of names) {
        const pool = /^surgeguard-placeholder-(.+)-\d+$/.exec(name)?.[1] ?? 'unknown';
        if (await remove(pool, name, 'PoolRemoved')) await event(ref(name), 'Normal', 'PlaceholdersDeleted', `placeholder ${name} deleted: its pool ${pool} is no longer configured`);
      }
    },
    async tellStall(plan, oldestPending) {
      deps.logger.warn({ pool: plan.pool, resource: plan.resource, pods: plan.stall?.pods, oldestSeconds: Math.round(plan.stall?.oldestSeconds ?? 0), limitSeconds: Math.round(plan.stall?.limitSeconds ?? 0) }, 'placeholders have waited past twice the node lead time and no node came: no autoscaler seems to feed this pool; it is not grown until a node comes');
      await event(ref(oldestPending), 'Warning', 'PlaceholderPoolStalled', plan.message);
    },
  };
}
