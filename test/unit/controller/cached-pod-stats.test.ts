import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { cachedPodStatsReader } from '../../../controller/kube/cached-pod-stats.ts';
import { podStats, type ClusterReader, type PodStats } from '../../../controller/kube/cluster.ts';
import { parseLabelSelector } from '../../../controller/kube/label-selector.ts';

function pod(namespace: string, name: string, labels: Record<string, string>, opts: { readyAfterSeconds?: number; unschedulable?: boolean } = {}): V1Pod {
  const created = new Date(0);
  return {
    metadata: { namespace, name, labels, creationTimestamp: created },
    status: {
      phase: opts.unschedulable ? 'Pending' : 'Running',
      conditions: opts.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] : [{ type: 'Ready', status: 'True', lastTransitionTime: new Date((opts.readyAfterSeconds ?? 10) * 1000) }],
    },
  };
}

/** What the API server holds; the live reader lists from it with the selector, and counts lists. */
function cluster(pods: V1Pod[]) {
  const lists: string[] = [];
  const live: ClusterReader = {
    hpaTargets: async () => new Map(),
    paused: async () => false,
    async podStats(namespace, selector): Promise<PodStats> {
      lists.push(`${namespace}/${selector}`);
      const match = parseLabelSelector(selector);
      return podStats(pods.filter((p) => p.metadata?.namespace === namespace && match(p.metadata.labels)));
    },
  };
  const cache = { synced: () => true, list: (ns?: string) => pods.filter((p) => !ns || p.metadata?.namespace === ns) };
  return { live, cache, lists };
}

test('pod statistics of 1,000 targets come from the pod cache with no LIST, and equal what the LIST would give', async () => {
  const pods: V1Pod[] = [];
  for (let i = 0; i < 1000; i++) {
    const ns = `ns${i % 50}`;
    for (let k = 0; k < 4; k++) pods.push(pod(ns, `d${i}-${k}`, { app: `d${i}`, tier: 'gpu' }, { readyAfterSeconds: 10 + k * 20 + i, unschedulable: k === 3 && i % 7 === 0 }));
    // A pod of another workload whose labels share a prefix: not counted.
    pods.push(pod(ns, `x${i}`, { app: `d${i}x` }));
  }
  const c = cluster(pods);
  const reader = cachedPodStatsReader(c.live, c.cache);
  for (let i = 0; i < 1000; i++) {
    const ns = `ns${i % 50}`;
    const got = await reader.podStats(ns, `app=d${i},tier in (gpu)`);
    assert.deepEqual(got, await c.live.podStats(ns, `app=d${i},tier in (gpu)`));
  }
  // Only the comparison's own lists: the reader sent none.
  assert.equal(c.lists.length, 1000);
  assert.deepEqual(await reader.podStats('ns3', 'app=d3'), { startupP90Seconds: 73, unschedulable: 0, ready: 4 });
});

test('before the pod cache has synced, and for a selector it cannot read, the reader lists from the API server', async () => {
  const c = cluster([pod('a', 'p', { app: 'x' })]);
  let synced = false;
  const reader = cachedPodStatsReader(c.live, { synced: () => synced, list: c.cache.list });
  await reader.podStats('a', 'app=x');
  synced = true;
  await reader.podStats('a', 'app=x');
  await assert.rejects(reader.podStats('a', 'app in x'), /cannot read the requirement/);
  assert.deepEqual(c.lists, ['a/app=x', 'a/app in x']);
});
