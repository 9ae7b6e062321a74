import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import { createGate, type GateView } from '../../../../controller/healing/gate.ts';

const gate = createGate(healingConfigSchema.parse({}).gate);
const view = (v: Partial<GateView>): GateView => ({ nodes: 20, cordoned: 0, unhealthyNodes: 1, inFlight: 0, actionsLastHour: 0, ...v });
const none = { cordons: 0, actions: 0 };

test('the cordon limit is max(1, floor(10% of nodes))', () => {
  assert.deepEqual([1, 5, 9, 10, 19, 20, 35].map((n) => gate.cordonLimit(n)), [1, 1, 1, 1, 1, 2, 3]);
});

test('three failing of twenty: two admitted in one tick, the third blocked by the cordon limit', () => {
  const v = view({ unhealthyNodes: 3 });
  const admitted = { cordons: 0, actions: 0 };
  const verdicts = [0, 1, 2].map(() => {
    const r = gate.admitNode(v, admitted, undefined, 1000);
    if (r.allow) {
      admitted.cordons++;
      admitted.actions++;
    }
    return r.allow ? 'allow' : r.reason;
  });
  assert.deepEqual(verdicts, ['allow', 'allow', 'CordonLimit']);
});

test('more than 20% of nodes unhealthy: a fleet-wide problem, nothing admitted', () => {
  assert.equal(gate.fleetWide(view({ unhealthyNodes: 4 })), false, '20% exactly is not over 20%');
  assert.equal(gate.fleetWide(view({ unhealthyNodes: 5 })), true);
  const r = gate.admitNode(view({ unhealthyNodes: 10 }), none, undefined, 0);
  assert.equal(r.allow ? 'allow' : r.reason, 'FleetWideProblem');
});

test('a node remediated 29 minutes ago is in its cooldown; 31 minutes ago it is not', () => {
  const r1 = gate.admitNode(view({}), none, 10_000 - 29 * 60, 10_000);
  const r2 = gate.admitNode(view({}), none, 10_000 - 31 * 60, 10_000);
  assert.equal(r1.allow ? 'allow' : r1.reason, 'NodeCooldown');
  assert.equal(r2.allow, true);
});

test('in-flight and hourly limits', () => {
  const inFlight = gate.admitNode(view({ nodes: 100, inFlight: 3 }), none, undefined, 0);
  assert.equal(inFlight.allow ? 'allow' : inFlight.reason, 'InFlightLimit');
  const hourly = gate.admitNode(view({ nodes: 100, actionsLastHour: 9 }), { cordons: 0, actions: 1 }, undefined, 0);
  assert.equal(hourly.allow ? 'allow' : hourly.reason, 'HourlyLimit');
  const pod = gate.admitPod(view({ actionsLastHour: 10 }), none);
  assert.equal(pod.allow ? 'allow' : pod.reason, 'HourlyLimit');
  assert.equal(gate.admitPod(view({ actionsLastHour: 9 }), none).allow, true);
});
