import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { cachedScaleClient, deploymentScale, formatSelector } from '../../../controller/kube/cached-scale.ts';
import type { ScaleClient, ScaleState, TargetRef } from '../../../controller/kube/scale-target.ts';

const ref = (name: string, kind = 'Deployment', apiVersion = 'apps/v1'): TargetRef => ({ apiVersion, kind, name, namespace: 'ns' });

function deployment(name: string, replicas: number, rv: string, manager = 'surgeguard-controller'): V1Deployment {
  return {
    metadata: { name, namespace: 'ns', resourceVersion: rv, managedFields: [{ manager, operation: 'Update', time: new Date(1000), fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: {} },
    status: { replicas },
  };
}

/** A live client that counts its requests and answers from `objects`, as the API server would. */
function liveClient(objects: Map<string, V1Deployment>) {
  const calls = { read: 0, writerOf: 0, setReplicas: 0 };
  let conflictNext = false;
  const client: ScaleClient = {
    async read(r) {
      calls.read++;
      const d = objects.get(r.name);
      if (!d) throw Object.assign(new Error('not found'), { code: 404 });
      return deploymentScale(d);
    },
    async writerOf() {
      calls.writerOf++;
      return { manager: 'live' };
    },
    async setReplicas(r, replicas, rv) {
      calls.setReplicas++;
      const d = objects.get(r.name) as V1Deployment;
      if (conflictNext || d.metadata?.resourceVersion !== rv) {
        conflictNext = false;
        throw Object.assign(new Error('conflict'), { code: 409 });
      }
      const next = deployment(r.name, replicas, String(Number(rv) + 1));
      objects.set(r.name, next);
      return deploymentScale(next);
    },
  };
  return { client, calls, conflictOnce: () => void (conflictNext = true) };
}

/** A watch cache that lags: it holds what `sync` copied from the API server's objects. */
function laggingCache(objects: Map<string, V1Deployment>) {
  let held = new Map(objects);
  let synced = true;
  return {
    cache: { get: (name: string) => held.get(name), synced: () => synced },
    sync: () => void (held = new Map(objects)),
    unsync: () => void (synced = false),
  };
}

test('a tick over 1,000 Deployment targets reads their scale from the cache: no request to the API server', async () => {
  const objects = new Map(Array.from({ length: 1000 }, (_, i) => [`d${i}`, deployment(`d${i}`, 3, '10')] as const));
  const live = liveClient(objects);
  const c = cachedScaleClient(live.client, laggingCache(objects).cache);
  const states = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.read(ref(`d${i}`))));
  assert.equal(live.calls.read, 0);
  assert.deepEqual(states[7], { replicas: 3, currentReplicas: 3, selector: 'app=d7', resourceVersion: '10' } satisfies ScaleState);
  assert.deepEqual(c.stats(), { cached: 1000, live: 0 });
  // The last writer comes from the cached managedFields, not from a second GET.
  assert.deepEqual(await c.writerOf(ref('d1')), { manager: 'surgeguard-controller', time: new Date(1000).toISOString(), operation: 'Update' });
  assert.equal(live.calls.writerOf, 0);
});

test('other kinds, a Deployment not in the cache yet, and an unsynced cache are read from the API server', async () => {
  const objects = new Map([['d0', deployment('d0', 2, '5')]]);
  const lag = laggingCache(new Map());
  const live = liveClient(objects);
  const c = cachedScaleClient(live.client, lag.cache);
  assert.equal((await c.read(ref('d0'))).replicas, 2);
  await c.read(ref('d0', 'StatefulSet'));
  await c.read(ref('d0', 'Deployment', 'example.com/v1'));
  lag.unsync();
  await c.read(ref('d0'));
  assert.equal(live.calls.read, 4);
});

test('after its own write the client answers with what it wrote until the cache holds that version or a newer one', async () => {
  const objects = new Map([['d0', deployment('d0', 2, '5')]]);
  const lag = laggingCache(objects);
  const live = liveClient(objects);
  const c = cachedScaleClient(live.client, lag.cache);
  const before = await c.read(ref('d0'));
  await c.setReplicas(ref('d0'), 6, before.resourceVersion);
  // The cache still holds rv 5: the next tick must not decide again from 2 replicas.
  assert.deepEqual(await c.read(ref('d0')), { replicas: 6, currentReplicas: 6, selector: 'app=d0', resourceVersion: '6' });
  // Someone scales it again before the cache caught up with either write: the cache wins once it moves.
  objects.set('d0', deployment('d0', 9, '7', 'kubectl'));
  lag.sync();
  assert.equal((await c.read(ref('d0'))).replicas, 9);
  assert.equal((await c.writerOf(ref('d0')))?.manager, 'kubectl');
});

test('a conflict sends the retry and later reads to the API server until one succeeds there', async () => {
  const objects = new Map([['d0', deployment('d0', 2, '5')]]);
  const lag = laggingCache(objects);
  const live = liveClient(objects);
  const c = cachedScaleClient(live.client, lag.cache);
  // Another writer made rv 6 (4 replicas); the cache has not seen it.
  objects.set('d0', deployment('d0', 4, '6', 'kubectl'));
  await assert.rejects(c.setReplicas(ref('d0'), 3, '5'), (err: { code?: number }) => err.code === 409);
  const again = await c.read(ref('d0'));
  assert.deepEqual([again.replicas, again.resourceVersion, live.calls.read], [4, '6', 1]);
  assert.equal((await c.writerOf(ref('d0')))?.manager, 'surgeguard-controller', 'after one live read the cache answers again');
  assert.equal(live.calls.read, 1);
});

test('the writer is always named from the cache for a Deployment (the role has no GET on them), live for other kinds', async () => {
  const objects = new Map([['d0', deployment('d0', 2, '5')]]);
  const live = liveClient(objects);
  const c = cachedScaleClient(live.client, laggingCache(objects).cache);
  objects.set('d0', deployment('d0', 4, '6', 'kubectl'));
  await assert.rejects(c.setReplicas(ref('d0'), 3, '5'));
  // Right after the conflict, before any live read: still the cache (stale until it catches up).
  assert.equal((await c.writerOf(ref('d0')))?.manager, 'surgeguard-controller');
  assert.equal(await c.writerOf(ref('unseen')), undefined);
  assert.equal((await c.writerOf(ref('d0', 'StatefulSet')))?.manager, 'live');
  assert.equal(live.calls.writerOf, 1);
});

test('selectors are written as the scale subresource writes them, requirements sorted by key', () => {
  assert.equal(formatSelector({ matchLabels: { tier: 'gpu', app: 'x' } }), 'app=x,tier=gpu');
  assert.equal(
    formatSelector({ matchLabels: { app: 'x' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['b', 'a'] }, { key: 'canary', operator: 'DoesNotExist' }, { key: 'env', operator: 'NotIn', values: ['dev'] }, { key: 'gpu', operator: 'Exists' }] }),
    'app=x,!canary,env notin (dev),gpu,zone in (a,b)',
  );
  assert.equal(formatSelector(undefined), '');
});
