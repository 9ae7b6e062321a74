import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import { ownWrites } from '../../../controller/kube/watch-cache.ts';

const node = (name: string, rv: string, unschedulable = false): V1Node => ({ metadata: { name, resourceVersion: rv }, spec: { unschedulable } });

test('a node written by this process is read as written while the cache still holds the version it replaced', () => {
  const w = ownWrites<V1Node>(30_000);
  w.wrote('11', node('gpu-1', '12', true), 1000);
  assert.deepEqual(w.over([node('gpu-1', '11'), node('gpu-2', '5')], 2000).map((n) => [n.metadata?.resourceVersion, n.spec?.unschedulable]), [['12', true], ['5', false]]);
  // Caught up: the cache's copy is used, and the write is forgotten.
  const caught = node('gpu-1', '12', true);
  assert.equal(w.over([caught], 3000)[0], caught);
  assert.equal(w.over([node('gpu-1', '11')], 4000)[0]?.metadata?.resourceVersion, '11', 'forgotten once seen');
});

test('two writes in one tick (cordon, then the next phase): the cache holding either older version is stale', () => {
  const w = ownWrites<V1Node>(30_000);
  w.wrote('11', node('gpu-1', '12', true), 0);
  w.wrote('12', node('gpu-1', '13', true), 5);
  assert.equal(w.over([node('gpu-1', '11')], 10)[0]?.metadata?.resourceVersion, '13');
  assert.equal(w.over([node('gpu-1', '12')], 10)[0]?.metadata?.resourceVersion, '13');
  assert.equal(w.over([node('gpu-1', '13')], 10)[0]?.metadata?.resourceVersion, '13');
});

test('a later write by someone else (a person repairing the node) wins at once', () => {
  const w = ownWrites<V1Node>(30_000);
  w.wrote('11', node('gpu-1', '12', true), 0);
  const repaired = node('gpu-1', '14', false);
  assert.equal(w.over([repaired], 10)[0], repaired);
});

test('a write the watch never shows is dropped after keepMs', () => {
  const w = ownWrites<V1Node>(30_000);
  w.wrote('11', node('gpu-1', '12', true), 0);
  assert.equal(w.over([node('gpu-1', '11')], 30_000)[0]?.metadata?.resourceVersion, '12');
  assert.equal(w.over([node('gpu-1', '11')], 30_001)[0]?.metadata?.resourceVersion, '11');
});

test('a written node gone from the cache is not brought back', () => {
  const w = ownWrites<V1Node>(30_000);
  w.wrote('11', node('gpu-1', '12', true), 0);
  assert.deepEqual(w.over([node('gpu-2', '3')], 10).map((n) => n.metadata?.name), ['gpu-2']);
});
