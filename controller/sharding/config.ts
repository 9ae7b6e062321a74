import { z } from 'zod';

/**
 * Sharding across replicas (docs/sharding.md): off by default, and `shards: 1` also keeps the one
 * leader of the controller Lease acting for every scaler. On, scalers hash to `shards` shards, the
 * shards are spread over the live replicas by rendezvous hashing, and a replica writes for a shard
 * only while it holds that shard's Lease.
 */
export const shardingConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** Fixed number of shards; a scaler's shard never changes, only which replica holds it. */
    shards: z.number().int().min(1).max(1024).default(32),
    /** Namespace of the membership and shard Leases (the controller's own). */
    namespace: z.string().min(1).default('surgeguard'),
    /** Each replica renews `<memberLeasePrefix><identity>`; the others list them to see who is alive. */
    memberLeasePrefix: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[-a-z0-9.])?$/, 'expected a lowercase DNS name prefix').default('surgeguard-member-'),
    /** Shard N is held through the Lease `<shardLeasePrefix>N`. */
    shardLeasePrefix: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[-a-z0-9.])?$/, 'expected a lowercase DNS name prefix').default('surgeguard-shard-'),
    /**
     * Slower than the controller Lease's 15/10/2: each held shard costs a GET and an update per
     * retry period (32 shards: 13 requests/s in all), and a dead replica's shards wait at most
     * one lease duration plus a retry, two ticks at the default interval.
     */
    leaseDurationSeconds: z.number().int().min(2).default(30),
    renewDeadlineSeconds: z.number().int().min(1).default(20),
    /** Also how often the member Leases are listed and the assignment recomputed. */
    retryPeriodSeconds: z.number().min(0.2).default(5),
    /**
     * A membership Lease unchanged this long (on the reader's clock) is deleted: that of a replica
     * killed without a graceful stop would otherwise stay forever, one per pod name. Default ten
     * lease durations; at least two, so that only a Lease dead well past its duration is touched.
     */
    memberLeaseDeleteAfterSeconds: z.number().int().positive().optional(),
  })
  .refine((s) => s.renewDeadlineSeconds < s.leaseDurationSeconds, { message: 'renewDeadlineSeconds must be below leaseDurationSeconds', path: ['renewDeadlineSeconds'] })
  // Overlapping prefixes would make shard Leases count as members, and be deleted as dead ones.
  .refine((s) => !s.memberLeasePrefix.startsWith(s.shardLeasePrefix) && !s.shardLeasePrefix.startsWith(s.memberLeasePrefix), { message: 'memberLeasePrefix and shardLeasePrefix must not be prefixes of each other', path: ['memberLeasePrefix'] })
  .refine((s) => s.memberLeaseDeleteAfterSeconds === undefined || s.memberLeaseDeleteAfterSeconds >= 2 * s.leaseDurationSeconds, {
    message: 'memberLeaseDeleteAfterSeconds must be at least twice leaseDurationSeconds (a Lease is deleted only once it is dead well past its duration)',
    path: ['memberLeaseDeleteAfterSeconds'],
  })
  .transform((s) => ({ ...s, memberLeaseDeleteAfterSeconds: s.memberLeaseDeleteAfterSeconds ?? 10 * s.leaseDurationSeconds }))
  .prefault({});

export type ShardingConfig = z.output<typeof shardingConfigSchema>;

/** True when sharding changes anything: enabled with more than one shard. */
export function shardingActive(c: ShardingConfig): boolean {
  return c.enabled && c.shards > 1;
}
