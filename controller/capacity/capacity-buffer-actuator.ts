import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { errorMessage } from '../../common/errors.ts';
import type { ObjectRef } from '../kube/cluster.ts';
import type { CapacityBufferClient } from './capacity-buffer-client.ts';
import { BUFFER_GROUP, BUFFER_KIND, bufferChange, bufferName, bufferPodTemplate, capacityBuffer, templateHash, type CapacityBufferObject } from './capacity-buffer.ts';
import type { PlaceholderConfig } from './placeholder-config.ts';
import type { PoolPlan } from './placeholder-plan.ts';

export interface BufferActuatorDeps {
  client: CapacityBufferClient;
  event: (obj: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;
  logger: Logger;
  metrics: MetricRegistry;
}

export interface BufferActuator {
  /** Brings the pool's buffer to the plan's wanted count (`version`: the served one); a change is a log line, a count and an Event. */
  apply(plan: PoolPlan, current: CapacityBufferObject | undefined, version: string): Promise<void>;
  /** Says once, when it starts, that the autoscaler refused or does not read a pool's buffer (Warning Event on the buffer). */
  tellUnhealthy(pool: string, version: string, message: string): Promise<void>;
  /** Deletes buffers of pools no longer configured, or no longer held by a buffer. */
  deleteOrphans(buffers: readonly CapacityBufferObject[], reason: string): Promise<void>;
}

/**
 * Applies placeholder plans of pools held by a CapacityBuffer: the plan's wanted placeholder count
 * becomes the buffer's replicas (written with its PodTemplate), and a count of 0 deletes both. A
 * refused write is logged and counted and the next tick decides again from what exists.
 */
export function createBufferActuator(deps: BufferActuatorDeps, config: PlaceholderConfig): BufferActuator {
  const writes = deps.metrics.counter('surgeguard_capacity_buffer_writes_total', 'CapacityBuffer writes by pool, action (created, updated, deleted) and the placeholder reason (Forecast, Stabilized, PlaceholderCap, CostCap; PoolRemoved, ModeChanged for orphans).', ['pool', 'action', 'reason']);
  const errors = deps.metrics.counter('surgeguard_capacity_buffer_errors_total', 'CapacityBuffer and PodTemplate writes the API server refused, by pool and action.', ['pool', 'action']);
  const ref = (name: string, version: string): ObjectRef => ({ apiVersion: `${BUFFER_GROUP}/${version}`, kind: BUFFER_KIND, name, namespace: config.namespace });
  const event = async (obj: ObjectRef, reason: string, message: string): Promise<void> => {
    // An Event is the explanation, not the action: a refused one is logged and the tick goes on.
    await deps.event(obj, 'Normal', reason, message).catch((err: unknown) => deps.logger.warn({ err: errorMessage(err), reason }, 'event not recorded'));
  };

  const remove = async (pool: string, version: string, reason: string, message: string): Promise<void> => {
    const name = bufferName(pool);
    try {
      const existed = await deps.client.delete(version, config.namespace, name);
      writes.inc({ pool, action: 'deleted', reason });
      deps.logger.info({ pool, buffer: name, reason, existed }, 'capacity buffer deleted');
      await event(ref(name, version), 'CapacityBufferDeleted', message);
    } catch (err) {
      errors.inc({ pool, action: 'delete' });
      deps.logger.warn({ pool, buffer: name, err: errorMessage(err) }, 'capacity buffer delete failed; the next tick decides again');
    }
  };

  return {
    async apply(plan, current, version) {
      const pool = config.pools.find((p) => p.name === plan.pool);
      if (!pool) return;
      const hash = templateHash(pool, config);
      const change = bufferChange(current, plan.wantPods, hash);
      if (change.action === 'hold') return;
      if (change.action === 'delete') return remove(plan.pool, version, plan.reason, `${plan.message}: buffer deleted`);
      const action = change.existed ? 'updated' : 'created';
      try {
        // The buffer first: its uid owns the template, so deleting the buffer collects both.
        const stored = await deps.client.write(capacityBuffer(pool, { namespace: config.namespace, replicas: change.replicas, version, hash }));
        await deps.client.writeTemplate(bufferPodTemplate(pool, config, stored));
        writes.inc({ pool: plan.pool, action, reason: plan.reason });
        deps.logger.info({ pool: plan.pool, buffer: stored.metadata.name, replicas: change.replicas, was: current?.spec.replicas ?? 0, resource: plan.resource, gpusPerReplica: pool.gpusPerPod, reason: plan.reason }, `capacity buffer ${action}`);
        await event(ref(stored.metadata.name, version), change.existed ? 'CapacityBufferUpdated' : 'CapacityBufferCreated', `${plan.message}: buffer replicas ${current?.spec.replicas ?? 0} -> ${change.replicas}`);
      } catch (err) {
        errors.inc({ pool: plan.pool, action: 'write' });
        deps.logger.warn({ pool: plan.pool, err: errorMessage(err) }, 'capacity buffer write failed; the next tick decides again');
      }
    },
    async tellUnhealthy(pool, version, message) {
      deps.logger.warn({ pool, buffer: bufferName(pool) }, message);
      await deps.event(ref(bufferName(pool), version), 'Warning', 'CapacityBufferUnresolved', message).catch((err: unknown) => deps.logger.warn({ err: errorMessage(err) }, 'event not recorded'));
    },
    async deleteOrphans(buffers, reason) {
      for (const b of buffers) {
        const pool = b.metadata.labels?.['surgeguard.io/placeholder-pool'] ?? 'unknown';
        const version = b.apiVersion.split('/')[1] ?? '';
        await remove(pool, version, reason, reason === 'PoolRemoved' ? `capacity buffer ${b.metadata.name} deleted: its pool ${pool} is no longer configured` : `capacity buffer ${b.metadata.name} deleted: pool ${pool} is held by placeholder pods now`);
      }
    },
  };
}
