// The demo's comparison with the default HPA on the same stream: its fleet and totals agree with
// replay's own simulation of the contract's fleet model (an independent path over the same rules).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { startDemo } from '../../../demo/demo.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import { hpaTargets } from '../../../replay/baselines.ts';
import { simulateFleet } from '../../../replay/fleet.ts';

test('the default HPA beside the demo: pod-intervals and waiting work equal replay\'s simulation of it', async () => {
  // A quiet stream with a surge the fleet must queue through.
  const demand = Array.from({ length: 120 }, (_, t) => (t >= 70 && t < 80 ? 400 : 60 + (t % 7) * 5));
  const params = { capacity: 40, startupSteps: 2, minReplicas: 1, maxReplicas: 100 };
  const running = startDemo(
    { forecaster: createHoltWintersForecaster(), logger: silentLogger(), metrics: createMetricRegistry(), decisions: createDecisionLog(200) },
    { demand, timestamps: demand.map((_, t) => 1_700_000_000 + t * 60), intervalSeconds: 60, ...params, liveFrom: demand.length, tickMs: 0, scaler: 'demo/x' },
    new AbortController().signal,
  );
  await running.done;
  const hpa = simulateFleet(demand, hpaTargets(demand, params, 60), params, true);
  const totals = running.totals();
  assert.equal(totals.defaultHpa.podIntervals, hpa.cost);
  assert.equal(totals.defaultHpa.waitingRequestIntervals, hpa.backlogIntervalSum);
  assert.equal(totals.defaultHpa.waitingNow, hpa.unserved);
  assert.ok(totals.defaultHpa.waitingRequestIntervals > 0, 'the surge queued work for the HPA');
  const points = running.points();
  assert.deepEqual(points.map((p) => p.hpaReady), Array.from(hpa.ready));
  // SurgeGuard's own totals add up its points.
  assert.equal(totals.surgeguard.waitingRequestIntervals, points.reduce((s, p) => s + p.backlog, 0));
});
