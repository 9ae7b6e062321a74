import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { CoreV1Api, KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Node } from '@kubernetes/client-node';
import { createLogger } from '../../../common/logger.ts';
import { ownWrites, watchCache } from '../../../controller/kube/watch-cache.ts';

/** A kubeconfig for an API server that is not there: a loopback port nothing listens on. */
async function unreachableKubeConfig(): Promise<KubeConfig> {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'gone', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'gone', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

/** Starts a Node cache on an unreachable API server; returns when each list began and the log lines. */
async function failingCache(ms: number, backoff: { initialMs: number; maxMs: number; random: () => number }) {
  const kc = await unreachableKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) });
  const listsAt: number[] = [];
  const t0 = Date.now();
  const cache = watchCache<V1Node>(kc, createLogger({ destination: sink }), {
    what: 'Node',
    path: '/api/v1/nodes',
    list: () => {
      listsAt.push(Date.now() - t0);
      return core.listNode({}) as Promise<KubernetesListObject<KubernetesObject>>;
    },
    backoff,
  });
  await cache.start();
  const syncedSeen: boolean[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    syncedSeen.push(cache.synced());
    await new Promise((r) => setTimeout(r, 20));
  }
  await cache.stop();
  return { listsAt, lines, syncedSeen };
}

test('an API server that cannot be reached: the cache never reads as synced (so /readyz says not ready)', async () => {
  const { listsAt, syncedSeen } = await failingCache(600, { initialMs: 50, maxMs: 400, random: () => 0.5 });
  assert.ok(listsAt.length >= 2, `listed ${listsAt.length} times`);
  assert.ok(syncedSeen.every((s) => !s), 'synced() was true with no list ever answered');
});

test('an API server that cannot be reached: retries back off exponentially with jitter, up to the cap', async () => {
  const { listsAt, lines } = await failingCache(2000, { initialMs: 100, maxMs: 800, random: () => 0 });
  const waits = lines.filter((l) => l.msg === 'Node watch failed; restarting').map((l) => l.retryInMs as number);
  // random() = 0 draws the low end of each [delay/2, delay) range: 50, 100, 200, 400, 400...
  assert.deepEqual(waits.slice(0, 5), [50, 100, 200, 400, 400].slice(0, Math.min(5, waits.length)));
  assert.ok(waits.length >= 4, `only ${waits.length} retries in 2 s`);
  const gaps = listsAt.slice(1).map((t, i) => t - (listsAt[i] as number));
  assert.ok((gaps[2] as number) >= 2.5 * (gaps[0] as number), `gaps between lists did not grow: ${gaps.join(', ')} ms`);
});

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
