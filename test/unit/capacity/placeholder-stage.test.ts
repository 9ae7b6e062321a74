// The placeholder stage with in-memory stand-ins for the API and the forecaster (the real API server
// is covered by test/integration/controller/placeholders.test.ts): the need is forecast at the pool's
// node horizon, only the acting replica writes, a restart adopts, and a failed read changes nothing.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { createLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import type { Forecaster, ForecastRequest } from '../../../inference/forecaster.ts';
import { createPlaceholderActuator } from '../../../controller/capacity/placeholder-actuator.ts';
import type { PlaceholderClient } from '../../../controller/capacity/placeholder-client.ts';
import { placeholderConfigSchema } from '../../../controller/capacity/placeholder-config.ts';
import { createPlaceholderStage, type PlaceholderMember, type PlaceholderTick } from '../../../controller/capacity/placeholder-stage.ts';

const config = placeholderConfigSchema.parse({ enabled: true, stabilizationSeconds: 60, pools: [{ name: 'a100', capGpus: 10, nodeLeadTimeSeconds: 60 }] });

function memoryClient(): PlaceholderClient & { pods: Map<string, V1Pod>; failList: boolean } {
  const pods = new Map<string, V1Pod>();
  return {
    pods,
    failList: false,
    async list() {
      if (this.failList) throw new Error('list refused');
      return [...pods.values()];
    },
    async create(pod) {
      const name = pod.metadata?.name ?? '';
      if (pods.has(name)) return false;
      pods.set(name, { ...pod, metadata: { ...pod.metadata, creationTimestamp: new Date(0) } });
      return true;
    },
    async delete(_ns, name) {
      return pods.delete(name);
    },
  };
}

/** A forecast rising one request/s per step from 10: the peak of a window is its last step. */
function risingForecaster(seen: ForecastRequest[]): Forecaster {
  return {
    name: 'rising', runsOn: 'test', version: '1',
    async forecast(req) {
      seen.push(req);
      const f = Float64Array.from({ length: req.horizonSteps }, (_, j) => 10 + j);
      return { forecasts: req.histories.map(() => ({ p10: f, p50: f, p90: f })), sources: req.histories.map(() => 'rising') };
    },
    async close() {},
  };
}

function setup(): { client: ReturnType<typeof memoryClient>; seen: ForecastRequest[]; run: (t: Partial<PlaceholderTick>) => ReturnType<ReturnType<typeof createPlaceholderStage>['run']>; events: string[]; metrics: ReturnType<typeof createMetricRegistry> } {
  const client = memoryClient();
  const seen: ForecastRequest[] = [];
  const events: string[] = [];
  const metrics = createMetricRegistry();
  const logger = createLogger({ level: 'error', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const actuator = createPlaceholderActuator({ client, event: async (_o, _t, reason) => void events.push(reason), logger, metrics }, config);
  const stage = createPlaceholderStage({ client, actuator, forecaster: risingForecaster(seen), logger, metrics }, config);
  const member: PlaceholderMember = { key: 'ml/llm', namespace: 'ml', selector: 'app=llm', gpu: { resource: 'nvidia.com/gpu', perReplica: 1 }, policy: { startupSeconds: 30, capacityPerReplicaPerSecond: 2, headroom: 1, quantile: 'p90', minReplicas: 1, maxReplicas: 100 }, history: [10, 10, 10], desiredReplicas: 3 };
  const run = (t: Partial<PlaceholderTick>): ReturnType<ReturnType<typeof createPlaceholderStage>['run']> => stage.run({ members: [member], cluster: { nodes: [], pods: [] }, leadTimes: [], act: true, nowMs: 1000, intervalSeconds: 15, forecastTimeScale: 1, ...t });
  return { client, seen, run, events, metrics };
}

test('the need is the forecast peak from the pod lead to the node horizon, in GPUs, up to the cap', async () => {
  const { client, seen, run, events } = setup();
  const [plan] = await run({});
  // K = 2 (30 s of startup at 15 s), N = 4 (60 s): steps 2..6, peak 16 requests/s at 2 per replica: 8 GPUs.
  assert.equal(seen[0]?.horizonSteps, 7);
  assert.equal(plan?.sizing.stabilizedNeedGpus, 8);
  assert.equal(client.pods.size, 8);
  assert.deepEqual(events, ['PlaceholdersCreated']);
});

test('a replica that does not act decides but writes nothing', async () => {
  const { client, run } = setup();
  const [plan] = await run({ act: false });
  assert.equal(plan?.create.length, 8);
  assert.equal(client.pods.size, 0);
});

test('a second tick and a restarted stage (new memory, same pods) create nothing more', async () => {
  const { client, run } = setup();
  await run({});
  await run({});
  assert.equal(client.pods.size, 8);
  // A new stage over the same client: the seeded window keeps them, no duplicate.
  const again = setup();
  for (const [k, v] of client.pods) again.client.pods.set(k, v);
  const [plan] = await again.run({});
  assert.deepEqual(plan?.create, []);
  assert.deepEqual(plan?.delete, []);
});

test('a failed list changes nothing and is counted', async () => {
  const { client, run, metrics } = setup();
  await run({});
  client.failList = true;
  assert.deepEqual(await run({ members: [] }), []);
  assert.equal(client.pods.size, 8);
  assert.match((await metrics.render()).body, /surgeguard_placeholder_stage_errors_total 1/);
});
