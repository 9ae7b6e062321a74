// The kubelet side is a real gRPC server built from the published pod-resources v1 API
// definition (agent/podresources-v1.proto), listening on a unix socket like the kubelet's.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { Sample } from '../../../agent/collector.ts';
import { DISABLED } from '../../../agent/collector.ts';
import { createGpuAllocationCollector } from '../../../agent/collectors/gpu-allocation.ts';
import { GpuHolders } from '../../../agent/gpu-holders.ts';
import { GpuInventory } from '../../../agent/gpu-inventory.ts';
import { loadPodResourcesService, podResourcesClient } from '../../../agent/pod-resources.ts';
import { ctx, valueOf } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-podres-'));
const socket = join(dir, 'kubelet.sock');
const server = new grpc.Server();
const requests: unknown[] = [];

before(async () => {
  const { Lister } = await loadPodResourcesService();
  server.addService(Lister.service, {
    List: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      requests.push(call.request);
      cb(null, {
        pod_resources: [
          {
            name: 'ranker-7d9f',
            namespace: 'inference',
            containers: [
              { name: 'model', devices: [{ resource_name: 'nvidia.com/gpu', device_ids: ['GPU-aaaa', 'GPU-bbbb'], topology: { nodes: [{ ID: 0 }] } }], cpu_ids: [2, 3] },
              { name: 'sidecar', devices: [{ resource_name: 'example.com/nic', device_ids: ['nic0'] }] },
            ],
          },
          { name: 'idle', namespace: 'default', containers: [{ name: 'c', devices: [] }] },
        ],
      });
    },
    GetAllocatableResources: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    Get: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
});
after(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

test('which pod and container hold each GPU, from List over the kubelet socket', async () => {
  const inventory = new GpuInventory();
  inventory.update([{ index: '3', uuid: 'GPU-bbbb', model: 'NVIDIA H100', pciBusId: '0000:83:00.0' }]);
  const client = podResourcesClient(socket);
  const holders = new GpuHolders();
  const c = createGpuAllocationCollector({ client, inventory, holders, node: 'n1' }, { intervalSeconds: 30, timeoutSeconds: 5, resourceNames: ['nvidia.com/gpu'] });
  const s = (await c.collect(ctx())) as Sample[];
  await c.close?.();
  assert.equal(s.length, 2);
  assert.equal(valueOf(s, 'surgeguard_gpu_allocation', { uuid: 'GPU-aaaa', gpu: '', pod: 'ranker-7d9f', namespace: 'inference', container: 'model' }), 1);
  assert.equal(valueOf(s, 'surgeguard_gpu_allocation', { uuid: 'GPU-bbbb', gpu: '3' }), 1);
  assert.equal(requests.length, 1);
  // Handed to the gpu collector: both GPUs are held by the one container; the NIC is not a GPU.
  assert.deepEqual(holders.labelsOf('GPU-aaaa'), { pod: 'ranker-7d9f', namespace: 'inference', container: 'model' });
  assert.deepEqual(holders.labelsOf('GPU-bbbb'), { pod: 'ranker-7d9f', namespace: 'inference', container: 'model' });
  assert.deepEqual(holders.labelsOf('nic0'), {});
});

test('a List that fails empties the holders and fails the cycle: no pod labels from a list the agent could not read', async () => {
  const holders = new GpuHolders();
  holders.update([{ namespace: 'ml', pod: 'old', container: 'c', resourceName: 'nvidia.com/gpu', deviceId: 'GPU-aaaa' }]);
  const client = { list: () => Promise.reject(new Error('connection refused')), close: () => undefined };
  const c = createGpuAllocationCollector({ client, inventory: new GpuInventory(), holders, node: 'n1' }, { intervalSeconds: 30, timeoutSeconds: 5, resourceNames: ['nvidia.com/gpu'] });
  await assert.rejects(c.collect(ctx()), /connection refused/);
  assert.deepEqual(holders.labelsOf('GPU-aaaa'), {});
});

test('no socket mounted: the collector is disabled, not failing', async () => {
  const c = createGpuAllocationCollector({ client: podResourcesClient(join(dir, 'absent.sock')), inventory: new GpuInventory(), holders: new GpuHolders(), node: 'n1' }, { intervalSeconds: 30, timeoutSeconds: 5, resourceNames: ['nvidia.com/gpu'] });
  assert.equal(await c.collect(ctx()), DISABLED);
});
