import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.ts';

/** The fields of a coordination.k8s.io/v1 Lease that leader election reads and writes. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** RFC 3339 with microseconds, as the API server's MicroTime requires. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  resourceVersion?: string;
}

/** Where the lease lives; the Kubernetes implementation is in kube-lease-store.ts. */
export interface LeaseStore {
  get(): Promise<LeaseRecord | undefined>;
  create(record: LeaseRecord): Promise<LeaseRecord>;
  /** Replaces the lease if its resourceVersion still matches; throws LeaseConflict otherwise. */
  update(record: LeaseRecord): Promise<LeaseRecord>;
}

export class LeaseConflict extends Error {
  constructor() {
    super('the lease changed since it was read');
    this.name = 'LeaseConflict';
  }
}

export interface ElectorConfig {
  identity: string;
  leaseDurationSeconds: number;
  /** A leader that has not renewed for this long stops acting; must be below the lease duration. */
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
}

export interface ElectorDeps {
  store: LeaseStore;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called with true when this process starts leading and false when it stops. */
  onChange?: (leading: boolean) => void;
  /**
   * The lease as this process already saw it before the elector started, and when (on this
   * process's clock): a candidate that has been watching a lease, as a sharded replica watches the
   * shard Leases in its lists, then waits out the duration from that sighting, not again from start.
   */
  seen?: { record: LeaseRecord; atMs: number };
}

export interface LeaderElector {
  /** Campaigns and renews until `signal` aborts, then releases the lease if it holds it. */
  run(signal: AbortSignal): Promise<void>;
  /**
   * True only while this process holds the lease and renewed it within the renew deadline.
   * Every write to the cluster checks this first, so a leader cut off from the API server
   * stops writing before its lease can expire and another replica take over.
   */
  isLeader(): boolean;
  identity(): string;
}

/** MicroTime for the API server: six fractional digits (Date#toISOString gives three). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Lease-based leader election with client-go's rules: a lease is free when its holder is
 * empty or when it has not changed for its duration, measured on this process's own clock
 * from when the change was observed (so clocks of different nodes never get compared).
 */
export function createLeaderElector(deps: ElectorDeps, config: ElectorConfig): LeaderElector {
  if (config.renewDeadlineSeconds >= config.leaseDurationSeconds) throw new Error('renewDeadlineSeconds must be below leaseDurationSeconds');
  const now = deps.now ?? Date.now;
  const wait = deps.sleep ?? ((ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined));
  let leading = false;
  let lastRenewAt = 0;
  let observed: LeaseRecord | undefined = deps.seen?.record;
  let observedAt = deps.seen?.atMs ?? 0;

  const setLeading = (value: boolean, reason: string): void => {
    if (leading === value) return;
    leading = value;
    deps.logger.info({ identity: config.identity, leading: value, reason }, value ? 'became leader' : 'stopped leading');
    deps.onChange?.(value);
  };

  const observe = (record: LeaseRecord | undefined): void => {
    if (!observed || observed.holderIdentity !== record?.holderIdentity || observed.renewTime !== record?.renewTime) observedAt = now();
    observed = record;
  };

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const t = now();
    const current = await deps.store.get();
    const mine = { holderIdentity: config.identity, leaseDurationSeconds: config.leaseDurationSeconds, renewTime: microTime(t) };
    if (!current) {
      observe(await deps.store.create({ ...mine, acquireTime: microTime(t), leaseTransitions: 0 }));
      return true;
    }
    observe(current);
    const heldByOther = !!current.holderIdentity && current.holderIdentity !== config.identity;
    const duration = (current.leaseDurationSeconds ?? config.leaseDurationSeconds) * 1000;
    if (heldByOther && observedAt + duration > t) return false;
    const transition = current.holderIdentity !== config.identity;
    observe(
      await deps.store.update({
        ...current,
        ...mine,
        acquireTime: transition ? microTime(t) : current.acquireTime,
        leaseTransitions: (current.leaseTransitions ?? 0) + (transition ? 1 : 0),
      }),
    );
    return true;
  };

  const release = async (): Promise<void> => {
    try {
      const current = await deps.store.get();
      if (current?.holderIdentity !== config.identity) return;
      // An empty holder lets the next candidate take over at its next retry instead of
      // waiting out the whole lease.
      await deps.store.update({ ...current, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now()) });
      deps.logger.info({ identity: config.identity }, 'released the lease');
    } catch (err) {
      deps.logger.warn({ err, identity: config.identity }, 'could not release the lease; the next leader waits for it to expire');
    }
  };

  return {
    identity: () => config.identity,
    isLeader: () => leading && now() - lastRenewAt < config.renewDeadlineSeconds * 1000,
    async run(signal) {
      while (!signal.aborted) {
        try {
          if (await tryAcquireOrRenew()) {
            lastRenewAt = now();
            setLeading(true, 'acquired or renewed the lease');
          } else {
            setLeading(false, `the lease is held by ${observed?.holderIdentity ?? 'another'}`);
          }
        } catch (err) {
          // A conflict means another replica wrote first: try again next period, not an error.
          if (!(err instanceof LeaseConflict)) deps.logger.warn({ err, identity: config.identity }, 'lease request failed');
          if (leading && now() - lastRenewAt >= config.renewDeadlineSeconds * 1000) setLeading(false, 'could not renew within the renew deadline');
        }
        await wait(config.retryPeriodSeconds * 1000, signal);
      }
      const wasLeading = leading;
      setLeading(false, 'shutting down');
      if (wasLeading) await release();
    },
  };
}
