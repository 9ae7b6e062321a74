// The elector's `seen`: a shard Lease the coordinator has watched in its lists is waited out from
// that sighting, not a whole duration more from when the shard was assigned here, and never earlier.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../../common/logger.ts';
import { createLeaderElector, type LeaseRecord, type LeaseStore } from '../../../../controller/leader/elector.ts';

function heldByOther(): LeaseStore & { record: LeaseRecord } {
  const s = {
    record: { holderIdentity: 'dead-replica', renewTime: '2026-01-01T00:00:00.000000Z', leaseDurationSeconds: 10, resourceVersion: '1' } as LeaseRecord,
    get: async () => ({ ...s.record }),
    create: async () => assert.fail('the lease exists'),
    update: async (r: LeaseRecord) => {
      s.record = { ...r, resourceVersion: String(Number(s.record.resourceVersion) + 1) };
      return { ...s.record };
    },
  };
  return s;
}

/** Runs one campaign at `t` on a fake clock and says whether it acquired. */
async function firstTry(seen: { record: LeaseRecord; atMs: number } | undefined, t: number): Promise<boolean> {
  const store = heldByOther();
  const stop = new AbortController();
  const elector = createLeaderElector(
    { store, logger: silentLogger(), now: () => t, sleep: async () => stop.abort(), ...(seen ? { seen } : {}) },
    { identity: 'me', leaseDurationSeconds: 10, renewDeadlineSeconds: 5, retryPeriodSeconds: 1 },
  );
  await elector.run(stop.signal);
  return store.record.holderIdentity === 'me' || store.record.holderIdentity === '';
}

test('a Lease seen unchanged for its duration before the elector started is taken at the first try', async () => {
  const record = heldByOther().record;
  assert.equal(await firstTry({ record, atMs: 1_000 }, 11_001), true);
});

test('not before its duration from the sighting, and not without one', async () => {
  const record = heldByOther().record;
  assert.equal(await firstTry({ record, atMs: 1_000 }, 10_999), false);
  assert.equal(await firstTry(undefined, 1_000_000), false);
  // A sighting of another renewal does not count: the Lease changed since.
  assert.equal(await firstTry({ record: { ...record, renewTime: '2025-12-31T23:59:59.000000Z' }, atMs: 0 }, 1_000_000), false);
});
