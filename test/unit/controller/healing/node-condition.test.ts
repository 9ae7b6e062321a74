// The GPU health condition as a value: which nodes get which condition, from findings and repairs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import { loadConfig } from '../../../../common/config.ts';
import { ErrorCode, SurgeGuardError } from '../../../../common/errors.ts';
import { controllerConfigSchema } from '../../../../controller/config.ts';
import { CLEARED_REASON, conditionReason, planConditions } from '../../../../controller/healing/node-condition.ts';
import { REMEDIATION_ANNOTATION } from '../../../../controller/healing/state.ts';
import type { Finding } from '../../../../controller/healing/types.ts';

const TYPE = 'GPUHealthy';

function node(name: string, x: { condition?: { status: string; reason: string }; repair?: object } = {}): V1Node {
  return {
    metadata: { name, annotations: x.repair ? { [REMEDIATION_ANNOTATION]: JSON.stringify(x.repair) } : {} },
    status: { conditions: [{ type: 'Ready', status: 'True' }, ...(x.condition ? [{ type: TYPE, ...x.condition }] : [])] },
  };
}

function finding(nodeName: string, f: Partial<Finding> = {}): Finding {
  return { check: 'gpu-xid', severity: 'critical', fault: 'fatal', target: { kind: 'Node', name: nodeName }, summary: `XID 79 (GPU has fallen off the bus) on GPU 3 of node ${nodeName}`, evidence: { xid: '79' }, ...f };
}

const repair = { key: 'gpu-xid/Node/a', check: 'gpu-xid', fault: 'fatal', phase: 'drained', summary: 'XID 79 on a', startedAtUnix: 1 };

test('a node fault sets False with a reason naming it; a healthy node gets no write', () => {
  const changes = planConditions([node('a'), node('b')], [finding('a')], { type: TYPE, fleetWide: false });
  assert.equal(changes.length, 1);
  assert.equal(changes[0]?.node, 'a');
  assert.equal(changes[0]?.status, 'False');
  assert.equal(changes[0]?.reason, 'Xid79');
  assert.match(changes[0]?.message ?? '', /fallen off the bus/);
});

test('the worst fault on a node names the reason: fatal over degraded', () => {
  const degraded = finding('a', { check: 'gpu-thermal', fault: 'degraded', severity: 'warning', evidence: {} });
  const fatal = finding('a', { check: 'gpu-ecc', evidence: {} });
  assert.equal(planConditions([node('a')], [degraded, fatal], { type: TYPE, fleetWide: false })[0]?.reason, 'EccUncorrectable');
  assert.equal(planConditions([node('a')], [fatal, degraded], { type: TYPE, fleetWide: false })[0]?.reason, 'EccUncorrectable');
});

test('notices, pod faults and app faults set no condition', () => {
  const findings = [finding('a', { fault: 'notice', severity: 'warning' }), finding('a', { fault: 'app', target: { kind: 'Pod', name: 'p', namespace: 'n', node: 'a' } })];
  assert.deepEqual(planConditions([node('a')], findings, { type: TYPE, fleetWide: false }), []);
});

test('an unhealthy node is not written again while it stays unhealthy, whatever fault is found next', () => {
  const n = node('a', { condition: { status: 'False', reason: 'Xid79' } });
  assert.deepEqual(planConditions([n], [finding('a', { summary: 'other words' })], { type: TYPE, fleetWide: false }), []);
  // The alert about the same XID arrives later and may come first in the findings: no rewrite.
  const alert = finding('a', { check: 'alert/SurgeGuardGpuXidCritical', evidence: {} });
  assert.deepEqual(planConditions([n], [alert, finding('a')], { type: TYPE, fleetWide: false }), []);
});

test('a repaired node stays False with its first reason until a human clears the record, then True', () => {
  const drained = node('a', { condition: { status: 'False', reason: 'Xid79' }, repair });
  assert.deepEqual(planConditions([drained], [], { type: TYPE, fleetWide: false }), [], 'the XID window passed, the node is still under repair');
  const cleared = node('a', { condition: { status: 'False', reason: 'Xid79' } });
  const [c] = planConditions([cleared], [], { type: TYPE, fleetWide: false });
  assert.equal(c?.status, 'True');
  assert.equal(c?.reason, CLEARED_REASON);
  assert.equal(planConditions([node('a', { condition: { status: 'True', reason: CLEARED_REASON } })], [], { type: TYPE, fleetWide: false }).length, 0);
});

test('a node under repair without the condition (enabled later) gets False from the repair record', () => {
  const [c] = planConditions([node('a', { repair })], [], { type: TYPE, fleetWide: false });
  assert.equal(c?.status, 'False');
  assert.equal(c?.reason, 'GpuXid');
  assert.match(c?.message ?? '', /repair drained/);
});

test('fleet-wide: no condition moves on a node with a finding, either way', () => {
  const fresh = node('a');
  const already = node('b', { condition: { status: 'False', reason: 'Xid79' } });
  assert.deepEqual(planConditions([fresh, already], [finding('a'), finding('b', { check: 'gpu-ecc' })], { type: TYPE, fleetWide: true }), []);
});

test('only the configured type is read and written', () => {
  const other = node('a', { condition: { status: 'False', reason: 'Xid79' } });
  assert.deepEqual(planConditions([other], [], { type: 'AcceleratedHardwareReady', fleetWide: false }), []);
  const [c] = planConditions([node('a')], [finding('a')], { type: 'AcceleratedHardwareReady', fleetWide: false });
  assert.equal(c?.status, 'False');
});

test('reasons are CamelCase identifiers', () => {
  assert.equal(conditionReason({ check: 'gpu-missing', fault: 'fatal', evidence: {} }), 'GpuMissing');
  assert.equal(conditionReason({ check: 'gpu-thermal', fault: 'degraded', evidence: {} }), 'GpuSlowdown');
  assert.equal(conditionReason({ check: 'gpu-ecc', fault: 'degraded', evidence: {} }), 'EccCorrectableRate');
  assert.equal(conditionReason({ check: 'alert/HealTestXid79', fault: 'fatal', evidence: {} }), 'AlertHealTestXid79');
  assert.equal(conditionReason({ check: 'consumer-stalled', fault: 'degraded', evidence: {} }), 'ConsumerStalled');
  for (const r of ['Xid79', 'GpuMissing', 'AlertHealTestXid79']) assert.match(r, /^[A-Za-z][A-Za-z0-9]*$/);
});

for (const [type, why] of [
  ['Ready', /the kubelet owns Ready/],
  ['GPU Healthy', /a condition type/],
  ['example.com/', /a condition type/],
] as const) {
  test(`healing.nodeCondition.type ${JSON.stringify(type)} is refused with the key path`, () => {
    try {
      loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText: `healing:\n  nodeCondition:\n    type: ${JSON.stringify(type)}\n` });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof SurgeGuardError, String(err));
      assert.equal(err.code, ErrorCode.ConfigInvalid);
      assert.match(err.message, /controller\.yaml line 3: healing\.nodeCondition\.type: /);
      assert.match(err.message, why);
    }
  });
}

test('healing.nodeCondition defaults to GPUHealthy, on', () => {
  const c = loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText: 'healing:\n  nodeCondition:\n    type: example.com/GPUHealthy\n' });
  assert.equal(c.healing.nodeCondition.type, 'example.com/GPUHealthy');
  const d = loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText: '{}\n' });
  assert.deepEqual({ ...d.healing.nodeCondition }, { enabled: true, type: 'GPUHealthy', faultStatus: 'False' });
});

test('faultStatus True, for a type that names a problem (KWOKUnhealthy, NPD style): True while faulty, False once cleared', () => {
  const x = { type: 'KWOKUnhealthy', fleetWide: false, faultStatus: 'True' } as const;
  const problem = (name: string, c?: { status: string; reason: string }): V1Node => ({ metadata: { name, annotations: {} }, status: { conditions: [{ type: 'Ready', status: 'True' }, ...(c ? [{ type: 'KWOKUnhealthy', ...c }] : [])] } });
  const [set] = planConditions([problem('a'), problem('b')], [finding('a')], x);
  assert.deepEqual([set?.node, set?.status, set?.reason], ['a', 'True', 'Xid79']);
  assert.deepEqual(planConditions([problem('a', { status: 'True', reason: 'Xid79' })], [finding('a')], x), [], 'not rewritten while it stays faulty');
  const [cleared] = planConditions([problem('a', { status: 'True', reason: 'Xid79' })], [], x);
  assert.deepEqual([cleared?.status, cleared?.reason], ['False', CLEARED_REASON]);
  assert.deepEqual(planConditions([problem('a', { status: 'False', reason: CLEARED_REASON })], [], x), [], 'a healthy node is not written');
  const [fromRepair] = planConditions([{ ...problem('a'), metadata: { name: 'a', annotations: { [REMEDIATION_ANNOTATION]: JSON.stringify(repair) } } }], [], x);
  assert.equal(fromRepair?.status, 'True', 'a node under repair is faulty too');
  const c = loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText: 'healing:\n  nodeCondition:\n    type: KWOKUnhealthy\n    faultStatus: "True"\n' });
  assert.deepEqual({ ...c.healing.nodeCondition }, { enabled: true, type: 'KWOKUnhealthy', faultStatus: 'True' });
});

for (const [text, why] of [
  ['    faultStatus: "True"\n', /healing\.nodeCondition\.faultStatus: True would make GPUHealthy=True mean a faulty GPU/],
  ['    type: GPUProblem\n    faultStatus: "Unknown"\n', /healing\.nodeCondition\.faultStatus: .*"False".*"True"/],
] as const) {
  test(`healing.nodeCondition ${JSON.stringify(text.trim())} is refused with the key path`, () => {
    try {
      loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText: `healing:\n  nodeCondition:\n${text}` });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof SurgeGuardError, String(err));
      assert.equal(err.code, ErrorCode.ConfigInvalid);
      assert.match(err.message, why);
    }
  });
}
