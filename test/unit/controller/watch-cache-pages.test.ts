import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { CoreV1Api, KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { silentLogger } from '../../../common/logger.ts';
import { slimPod } from '../../../controller/kube/slim.ts';
import { LIST_PAGE_SIZE, watchCache } from '../../../controller/kube/watch-cache.ts';

// A stand-in API server for one collection: lists in pages (limit and continue, as the real one
// does) and, on the watch, sends one ADDED event; it records every list request it answered.
const whole = (i: number): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `p${i}`, namespace: 'ns', resourceVersion: String(100 + i), labels: { app: 'a' }, managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }] },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', env: [{ name: 'E', value: 'v' }] }], volumes: [{ name: 'v', emptyDir: {} }] },
  status: { phase: 'Running' },
});
const TOTAL = 2 * LIST_PAGE_SIZE + 7;
const lists: Array<{ limit: string | null; cont: string | null }> = [];
let server: Server | undefined;
after(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function standIn(): Promise<KubeConfig> {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.searchParams.get('watch')) {
      res.write(`${JSON.stringify({ type: 'ADDED', object: whole(TOTAL) })}\n`);
      return; // held open
    }
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const from = Number(url.searchParams.get('continue') ?? 0);
    lists.push({ limit: url.searchParams.get('limit'), cont: url.searchParams.get('continue') });
    const to = limit > 0 ? Math.min(TOTAL, from + limit) : TOTAL;
    const items = Array.from({ length: to - from }, (_, k) => whole(from + k));
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '99', ...(to < TOTAL ? { continue: String(to) } : {}) }, items }));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 's', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 's', user: 'u' }], currentContext: 'c' });
  return kc;
}

test('the first list goes in pages that follow the continue token, and listed and watched objects are kept as the transform makes them', async () => {
  const kc = await standIn();
  const core = kc.makeApiClient(CoreV1Api);
  const cache = watchCache<V1Pod>(kc, silentLogger(), { what: 'Pod', path: '/api/v1/pods', list: (page) => core.listPodForAllNamespaces(page) as Promise<KubernetesListObject<KubernetesObject>>, transform: (o) => slimPod(o) });
  await cache.start();
  const until = Date.now() + 10_000;
  while (!(cache.synced() && cache.get(`p${TOTAL}`, 'ns')) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await cache.stop();
  assert.deepEqual(lists, [
    { limit: String(LIST_PAGE_SIZE), cont: null },
    { limit: String(LIST_PAGE_SIZE), cont: String(LIST_PAGE_SIZE) },
    { limit: String(LIST_PAGE_SIZE), cont: String(2 * LIST_PAGE_SIZE) },
  ]);
  assert.equal(cache.list().length, TOTAL + 1, 'every page listed, and the watched pod');
  for (const name of ['p0', `p${TOTAL - 1}`, `p${TOTAL}`]) {
    const p = cache.get(name, 'ns');
    assert.ok(p, name);
    assert.equal(p.metadata?.managedFields, undefined, `${name}: managedFields kept`);
    assert.equal(p.spec?.volumes, undefined, `${name}: volumes kept`);
    assert.equal(p.spec?.containers[0]?.env, undefined, `${name}: env kept`);
    assert.equal(p.spec?.nodeName, 'n1', name);
  }
});
