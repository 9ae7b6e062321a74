// The chart markers from the healing state: one per recorded time, oldest first, naming each fault,
// finding, cordon, floor raise, drain and on-call message; blocked decisions and condition updates
// get none, and a node drained at once (fatal) is marked once, at its first eviction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RemediationEntry } from '../../../controller/healing/audit.ts';
import { faultMarkers } from '../../../demo/fault-markers.ts';
import type { HealingState } from '../../../demo/healing.ts';

const T = (min: number): string => new Date(Date.UTC(1998, 6, 3, 14, min)).toISOString();

function entry(at: string, node: string, step: string, o: { decision?: RemediationEntry['decision']; check?: string } = {}): RemediationEntry {
  const { decision = 'acted', check = 'gpu-xid' } = o;
  const key = step === 'condition' ? `node-condition/Node/${node}` : `${check}/Node/${node}${step === 'evict' ? `/evict/demo/inference-${node}` : ''}`;
  return { at, key, check, target: { kind: 'Node', name: node }, severity: check === 'gpu-xid' ? 'critical' : 'warning', fault: check === 'gpu-xid' ? 'fatal' : 'degraded', action: 'drain-node', step, decision, reason: 'R', message: 'm', evidence: {} };
}

test('markers: one per recorded time, oldest first, with every healing event of that time', () => {
  // The audit and the deliveries list newest first, as /api/demo/healing serves them.
  const remediations = [
    entry(T(9), 'gpu-node-02', 'evict', { check: 'gpu-thermal' }),
    entry(T(9), 'gpu-node-02', 'drain', { check: 'gpu-thermal' }),
    entry(T(5), 'gpu-node-02', 'raise-floors', { check: 'gpu-thermal' }),
    entry(T(5), 'gpu-node-02', 'cordon', { check: 'gpu-thermal' }),
    entry(T(5), 'gpu-node-02', 'condition', { check: 'gpu-thermal' }),
    entry(T(2), 'gpu-node-01', 'drained'),
    entry(T(1), 'gpu-node-01', 'evict'),
    entry(T(1), 'gpu-node-01', 'cordon'),
  ];
  const h: Pick<HealingState, 'faults' | 'remediations' | 'oncall'> = {
    faults: [
      { what: 'XID 79 (GPU has fallen off the bus) in the kernel log', node: 'gpu-node-01', atInterval: 10, at: T(1), happened: true },
      { what: 'hardware thermal slowdown on the GPU', node: 'gpu-node-02', atInterval: 13, at: T(3), happened: true },
      { what: 'never', node: 'gpu-node-03', atInterval: 99, at: null, happened: false },
    ],
    remediations,
    oncall: { receiver: 'http://127.0.0.1:1/', received: [], deliveries: [
      { at: T(5), key: 'gpu-thermal/Node/gpu-node-02', status: 'firing', summary: 'hardware slowdown on gpu-node-02', decision: 'cordoned', result: 'sending' },
      { at: T(1), key: 'gpu-xid/Node/gpu-node-01', status: 'firing', summary: 'XID 79 on gpu-node-01', decision: 'cordoned', result: 'HTTP 200 (delivered)' },
    ] },
  };
  assert.deepEqual(faultMarkers(h), [
    { at: T(1), events: [
      { kind: 'fault', text: 'fault: XID 79 (GPU has fallen off the bus) in the kernel log of gpu-node-01' },
      { kind: 'found', text: 'found by gpu-xid: fatal fault on gpu-node-01 (critical)' },
      { kind: 'cordon', text: 'gpu-node-01 cordoned' },
      { kind: 'drain', text: 'gpu-node-01 drained at once (fatal): pods evicted' },
      { kind: 'page', text: 'page sent (firing): XID 79 on gpu-node-01: HTTP 200 (delivered)' },
    ] },
    { at: T(3), events: [{ kind: 'fault', text: 'fault: hardware thermal slowdown on the GPU of gpu-node-02' }] },
    { at: T(5), events: [
      { kind: 'found', text: 'found by gpu-thermal: degraded fault on gpu-node-02 (warning)' },
      { kind: 'cordon', text: 'gpu-node-02 cordoned' },
      { kind: 'floor', text: 'gpu-node-02 replica floor raised (capacity first)' },
      { kind: 'page', text: 'page sent (firing): hardware slowdown on gpu-node-02: sending' },
    ] },
    { at: T(9), events: [{ kind: 'drain', text: 'gpu-node-02 drain started (replacements ready)' }] },
  ]);
});

test('markers: a blocked cordon marks the finding only; no healing, no markers', () => {
  const h = { faults: [], oncall: { receiver: '', received: [], deliveries: [] }, remediations: [entry(T(4), 'gpu-node-03', 'cordon', { decision: 'blocked' })] };
  assert.deepEqual(faultMarkers(h), [{ at: T(4), events: [{ kind: 'found', text: 'found by gpu-xid: fatal fault on gpu-node-03 (critical)' }] }]);
  assert.deepEqual(faultMarkers({ ...h, remediations: [] }), []);
});
