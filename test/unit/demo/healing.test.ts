// Healing in the demo: the product's healing loop on the demo's GPU nodes, driven by the demo's
// own loop over a short trace. An XID 79 line in one node's kernel log is cordoned and drained at
// once; a thermal slowdown on another is cordoned, its replacements started by a raised floor,
// and drained only once they are ready (make before break); on-call gets both, signed, and
// delivers them. The agent panel shows the slowed GPU as the agent's collectors read it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { createDecisionLog } from '../../../controller/reconcile/decision-log.ts';
import { initialReplicas, startDemo } from '../../../demo/demo.ts';
import { startDemoHealing } from '../../../demo/healing.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';

test('XID 79 drains its node at once; a thermal slowdown drains only after the replacements are ready; on-call gets both', async () => {
  const demand = Array.from({ length: 120 }, (_, t) => 200 + (t % 5) * 10);
  const params = { capacity: 40, startupSteps: 3, minReplicas: 1, maxReplicas: 20 };
  const metrics = createMetricRegistry();
  const healing = await startDemoHealing(
    { logger: silentLogger(), metrics },
    { nodes: 20, capacity: 40, startupSteps: 3, initialReplicas: initialReplicas({ demand, ...params }), intervalSeconds: 60, agentNode: 'gpu-node-02', faults: { xid: { node: 'gpu-node-01', atInterval: 60 }, thermal: { node: 'gpu-node-02', atInterval: 80 } } },
  );
  try {
    const decisions = createDecisionLog(500);
    const running = startDemo(
      { forecaster: createHoltWintersForecaster(), logger: silentLogger(), metrics, decisions, healing },
      { demand, timestamps: demand.map((_, t) => 1_700_000_000 + t * 60), intervalSeconds: 60, ...params, liveFrom: 55, tickMs: 25, scaler: 'demo/x' },
      new AbortController().signal,
    );
    await running.done;
    const h = healing.state();
    const at = (iso: string): number => (Date.parse(iso) / 1000 - 1_700_000_000) / 60;
    const log = [...h.remediations].reverse().map((r) => ({ t: at(r.at), node: r.target.name, step: r.step, decision: r.decision, reason: r.reason }));
    const of = (node: string): Array<{ t: number; step: string; reason: string }> => log.filter((r) => r.node === node).map(({ t, step, reason }) => ({ t, step, reason }));

    // XID 79 is fatal: cordoned and its pod evicted in the interval the line was read.
    assert.deepEqual(of('gpu-node-01').filter((r) => r.step !== 'condition'), [
      { t: 60, step: 'cordon', reason: 'NodeCordoned' },
      { t: 60, step: 'evict', reason: 'PodEvicted' },
      { t: 61, step: 'drained', reason: 'NodeDrained' },
    ]);
    // The thermal slowdown must last the sustain window (120 s) before it is a finding; then the
    // floor goes up first, and the drain waits the startup (K = 3 intervals) for the new pod.
    const thermal = of('gpu-node-02').filter((r) => r.step !== 'condition');
    assert.deepEqual(thermal.map((r) => r.step), ['cordon', 'raise-floors', 'drain', 'evict', 'drained']);
    const cordonAt = thermal[0]?.t ?? NaN;
    assert.ok(cordonAt >= 81 && cordonAt <= 83, `thermal cordon at ${cordonAt}`);
    assert.equal(thermal[1]?.t, cordonAt);
    const drainAt = thermal.find((r) => r.step === 'drain')?.t ?? NaN;
    assert.ok(drainAt >= cordonAt + 4, `drain at ${drainAt}: replacements asked for at ${cordonAt} serve from ${cordonAt + 4}`);
    assert.equal(thermal.find((r) => r.step === 'drain')?.reason, 'ReplacementsReady');
    // Nothing but the pods of the two faulty nodes was evicted, and both stay cordoned.
    assert.equal(log.filter((r) => r.step === 'evict').length, 2);
    assert.deepEqual(h.nodes.filter((n) => n.cordoned).map((n) => [n.name, n.phase, n.pods]), [['gpu-node-01', 'drained', 0], ['gpu-node-02', 'drained', 0]], 'no pod was placed on a cordoned node');
    assert.deepEqual({ cordoned: h.gate.cordoned, limit: h.gate.cordonLimit, nodes: h.gate.nodes }, { cordoned: 2, limit: 2, nodes: 20 });
    assert.equal(h.floor?.reason, 'drain gpu-node-02');

    // On-call: one firing message per fault, signed and delivered (resolved too, once the XID ages out).
    // The live part ticks every 25 ms, so the deliveries (real HTTP to 127.0.0.1) finish as they go.
    await new Promise((r) => setTimeout(r, 200));
    const got = healing.state().oncall.received.map((m) => `${String(m.body.status)} ${String(m.body.key)} ${m.signature} ${m.httpStatus}`).reverse();
    assert.deepEqual(got.filter((g) => g.startsWith('firing')), ['firing gpu-xid/Node/gpu-node-01 valid 200', 'firing gpu-thermal/Node/gpu-node-02 valid 200']);
    assert.ok(healing.state().oncall.deliveries.every((d) => d.result === 'HTTP 200 (delivered)'));

    // The agent panel: the slowed GPU as the agent's gpu collector read it from nvidia-smi.
    const agent = healing.agent();
    assert.equal(agent.node, 'gpu-node-02');
    assert.deepEqual(agent.gpus.map((g) => [g.model, g.temperatureC, g.throttle.filter((x) => x.startsWith('hw_'))]), [['NVIDIA H100 80GB HBM3', 88, ['hw_slowdown', 'hw_thermal_slowdown']]]);
    assert.ok(agent.network.length > 0, 'the network collector read this machine\'s interfaces');
    assert.match(await metrics.render().then((r) => r.body), /surgeguard_remediation_decisions_total\{action="drain-node",decision="acted",reason="ReplacementsReady"\} 1/);
  } finally {
    await healing.close();
  }
});
