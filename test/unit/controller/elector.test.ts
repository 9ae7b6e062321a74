import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../common/logger.ts';
import { LeaseConflict, createLeaderElector, microTime, type LeaseRecord, type LeaseStore } from '../../../controller/leader/elector.ts';

/** An in-memory lease with resourceVersion checks, like the API server's optimistic locking. */
function memoryStore(): LeaseStore & { record?: LeaseRecord; fail: boolean } {
  let rv = 0;
  const s: LeaseStore & { record?: LeaseRecord; fail: boolean } = {
    fail: false,
    async get() {
      if (s.fail) throw new Error('connection refused');
      return s.record && { ...s.record };
    },
    async create(r) {
      if (s.fail) throw new Error('connection refused');
      if (s.record) throw new LeaseConflict();
      s.record = { ...r, resourceVersion: String(++rv) };
      return { ...s.record };
    },
    async update(r) {
      if (s.fail) throw new Error('connection refused');
      if (r.resourceVersion !== s.record?.resourceVersion) throw new LeaseConflict();
      s.record = { ...r, resourceVersion: String(++rv) };
      return { ...s.record };
    },
  };
  return s;
}

const config = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };

/** Drives an elector's loop one retry period at a time on a fake clock. */
function harness(store: LeaseStore, identity: string, clock: { t: number }) {
  let step: (() => void) | undefined;
  const controller = new AbortController();
  const changes: boolean[] = [];
  const elector = createLeaderElector(
    {
      store,
      logger: silentLogger(),
      now: () => clock.t,
      sleep: (_ms, signal) =>
        new Promise<void>((resolve) => {
          step = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        }),
      onChange: (l) => changes.push(l),
    },
    { ...config, identity },
  );
  const done = elector.run(controller.signal);
  return {
    elector,
    changes,
    /** Lets the loop run one more iteration. */
    async tick() {
      await new Promise((r) => setImmediate(r));
      const s = step;
      step = undefined;
      s?.();
      await new Promise((r) => setImmediate(r));
    },
    async stop() {
      controller.abort();
      await done;
    },
  };
}

test('microTime has six fractional digits, as MicroTime requires', () => {
  assert.equal(microTime(Date.UTC(2026, 10, 29, 12, 0, 0, 123)), '2026-11-29T12:00:00.123000Z');
});

test('one of two candidates leads; the other takes over only after the lease expires', async () => {
  const store = memoryStore();
  const clock = { t: 1_000_000 };
  const a = harness(store, 'a', clock);
  await a.tick();
  const b = harness(store, 'b', clock);
  await b.tick();
  assert.equal(a.elector.isLeader(), true);
  assert.equal(b.elector.isLeader(), false);
  assert.equal(store.record?.holderIdentity, 'a');

  // a stops renewing (its process froze); b must wait the full lease duration from when it saw a's last renewal.
  clock.t += 14_000;
  await b.tick();
  assert.equal(b.elector.isLeader(), false, 'took over before the lease expired');
  // a's own view: more than the renew deadline since it renewed, so it no longer acts.
  assert.equal(a.elector.isLeader(), false, 'a stale leader must stop writing before its lease expires');
  clock.t += 2_000;
  await b.tick();
  assert.equal(b.elector.isLeader(), true);
  assert.equal(store.record?.holderIdentity, 'b');
  assert.equal(store.record?.leaseTransitions, 1);
  await b.stop();
  await a.stop();
});

test('a graceful stop releases the lease so the next candidate takes over at its next retry', async () => {
  const store = memoryStore();
  const clock = { t: 5_000_000 };
  const a = harness(store, 'a', clock);
  await a.tick();
  const b = harness(store, 'b', clock);
  await b.tick();
  assert.equal(b.elector.isLeader(), false);
  await a.stop();
  assert.equal(store.record?.holderIdentity, '');
  clock.t += 2_000;
  await b.tick();
  assert.equal(b.elector.isLeader(), true);
  assert.deepEqual(a.changes, [true, false]);
  await b.stop();
});

test('a leader cut off from the API server stops leading at the renew deadline', async () => {
  const store = memoryStore();
  const clock = { t: 9_000_000 };
  const a = harness(store, 'a', clock);
  await a.tick();
  assert.equal(a.elector.isLeader(), true);
  store.fail = true;
  for (let i = 0; i < 4; i++) {
    clock.t += 2_000;
    await a.tick();
  }
  assert.equal(a.elector.isLeader(), true, 'still within the 10 s renew deadline after 8 s');
  clock.t += 2_000;
  await a.tick();
  assert.equal(a.elector.isLeader(), false);
  assert.deepEqual(a.changes, [true, false]);
  await a.stop();
});
