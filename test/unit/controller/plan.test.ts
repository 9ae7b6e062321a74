import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSpec, type PredictiveScaler } from '../../../controller/crd/predictive-scaler.ts';
import { plan, type PlanInput } from '../../../controller/reconcile/plan.ts';
import type { ScalingDecision } from '../../../controller/scaling/decide.ts';

function scaler(extra: Partial<PredictiveScaler['spec']> = {}, status?: PredictiveScaler['status'], generation = 1): PredictiveScaler {
  return {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name: 's', namespace: 'n', generation },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' }, signal: { kafka: { topic: 't', consumerGroup: 'g' } }, requestsPerSecondPerReplica: 10, maxReplicas: 20, ...extra }),
    status,
  };
}

const decision = (replicas: number): ScalingDecision => ({
  replicas,
  direction: 'up',
  reason: 'Forecast',
  surge: false,
  atSeconds: 0,
  rules: { forecast: replicas, reactive: 1, surge: 0, stabilized: replicas },
  recommendation: { atSeconds: 0, replicas },
  source: 'holt-winters',
});

const base = (over: Partial<PlanInput> = {}): PlanInput => ({
  scaler: scaler(),
  reading: { ok: true, rate: 50, detail: {} },
  decision: decision(6),
  target: { ok: true, state: { replicas: 2, currentReplicas: 2, selector: 'app=d', resourceVersion: '7' } },
  hpa: undefined,
  paused: false,
  unschedulablePods: 0,
  ...over,
});

const cond = (p: ReturnType<typeof plan>, type: string): string | undefined => p.conditions.find((c) => c.type === type)?.status;

const cases: Array<{ name: string; input: PlanInput; decision: string; reason: string; patch?: number; check?: (p: ReturnType<typeof plan>) => void }> = [
  { name: 'scale up with the resourceVersion read', input: base(), decision: 'scale_up', reason: 'Forecast', patch: 6 },
  {
    name: 'the message names the forecaster, a fallback included (issue 14: the model was skipped silently)',
    input: base({ decision: { ...decision(6), source: 'holt-winters (fallback: horizon)' } }),
    decision: 'scale_up',
    reason: 'Forecast',
    patch: 6,
    check: (p) => assert.match(p.message, /forecast 6 by holt-winters \(fallback: horizon\)/),
  },
  { name: 'hold when desired equals current', input: base({ decision: decision(2) }), decision: 'hold', reason: 'Forecast' },
  { name: 'missing signal holds, never scales down', input: base({ reading: { ok: false, error: 'kafka: broker down' }, decision: undefined }), decision: 'degraded', reason: 'SignalMissing', check: (p) => assert.equal(cond(p, 'Degraded'), 'True') },
  { name: 'an HPA on the target is a conflict', input: base({ hpa: { name: 'web', tolerance: { up: 0.1, down: 0.1 }, readsScalers: [] } }), decision: 'conflict', reason: 'HpaPresent' },
  {
    name: 'a count someone else set is a conflict',
    input: base({ scaler: scaler({}, { appliedReplicas: 4 }), target: { ok: true, state: { replicas: 9, currentReplicas: 9, selector: '', resourceVersion: '8', replicasManager: { manager: 'argocd' } } } }),
    decision: 'conflict',
    reason: 'ReplicasChangedByOther',
    check: (p) => assert.match(p.message, /by argocd/),
  },
  {
    // CI: a leader stopped after its scale write and before its status write; the next leader
    // read the mismatch as another writer and froze the target until someone edited the spec.
    name: 'a mismatch whose last writer was SurgeGuard is a lost status write, not a conflict',
    input: base({ scaler: scaler({}, { appliedReplicas: 4 }), target: { ok: true, state: { replicas: 9, currentReplicas: 9, selector: '', resourceVersion: '8', replicasManager: { manager: 'surgeguard-controller' } } } }),
    decision: 'scale_down',
    reason: 'Forecast',
    patch: 6,
    check: (p) => {
      assert.equal(p.adoptApplied, 9);
      assert.equal(cond(p, 'Conflict'), 'False');
    },
  },
  {
    name: 'a count someone else set is never adopted as applied',
    input: base({ scaler: scaler({}, { appliedReplicas: 4 }), target: { ok: true, state: { replicas: 9, currentReplicas: 9, selector: '', resourceVersion: '8', replicasManager: { manager: 'kubectl-scale' } } } }),
    decision: 'conflict',
    reason: 'ReplicasChangedByOther',
    check: (p) => assert.equal(p.adoptApplied, undefined),
  },
  {
    name: 'a new spec generation takes control back',
    input: base({ scaler: scaler({}, { appliedReplicas: 4, observedGeneration: 1, conditions: [{ type: 'Conflict', status: 'True', reason: 'ReplicasChangedByOther', message: '', lastTransitionTime: '' }] }, 2), target: { ok: true, state: { replicas: 9, currentReplicas: 9, selector: '', resourceVersion: '8' } } }),
    decision: 'scale_down',
    reason: 'Forecast',
    patch: 6,
  },
  { name: 'DryRun patches nothing', input: base({ scaler: scaler({ mode: 'DryRun' }) }), decision: 'dry_run', reason: 'Forecast', check: (p) => assert.equal(cond(p, 'Active'), 'False') },
  { name: 'paused patches nothing', input: base({ paused: true }), decision: 'paused', reason: 'Paused' },
  { name: 'replicas are capped at the partition count', input: base({ reading: { ok: true, rate: 50, detail: {}, partitions: 4 }, decision: decision(12) }), decision: 'scale_up', reason: 'PartitionCap', patch: 4 },
  { name: 'unschedulable pods set the condition', input: base({ unschedulablePods: 3 }), decision: 'scale_up', reason: 'Forecast', patch: 6, check: (p) => assert.equal(cond(p, 'Unschedulable'), 'True') },
  { name: 'a missing target is reported', input: base({ target: { ok: false, error: 'deployments.apps "d" not found' } }), decision: 'target_missing', reason: 'TargetMissing' },
];

for (const c of cases) {
  test(`plan: ${c.name}`, () => {
    const p = plan(c.input);
    assert.equal(p.decision, c.decision);
    assert.equal(p.reason, c.reason);
    assert.equal(p.patch?.replicas, c.patch);
    if (c.patch !== undefined) assert.equal(p.patch?.resourceVersion, c.input.target.ok ? c.input.target.state.resourceVersion : '');
    c.check?.(p);
  });
}

// Actuator Hpa: the HPA writes the replicas; SurgeGuard serves it the count it decided.
const reading = (over: Partial<PlanInput['hpa'] & object> = {}): PlanInput['hpa'] => ({ name: 'web', tolerance: { up: 0.1, down: 0.1 }, readsScalers: ['s'], ...over });
const viaHpa = (over: Partial<PlanInput> = {}): PlanInput => base({ scaler: scaler({ actuator: 'Hpa' }), hpa: reading(), ...over });

test('plan, actuator Hpa: the decision is served to the HPA, nothing is patched, and an HPA is not a conflict', () => {
  const p = plan(viaHpa());
  assert.equal(p.decision, 'hpa');
  assert.equal(p.patch, undefined);
  assert.deepEqual(p.served, { value: 6, desiredReplicas: 6, currentReplicas: 2, hpa: 'web', tolerance: { up: 0.1, down: 0.1 } });
  assert.equal(cond(p, 'Conflict'), 'False');
  assert.equal(cond(p, 'Active'), 'True');
  assert.match(p.message, /asked of HPA web by serving 6/);
});

test('plan, actuator Hpa: a step inside the tolerance band is served past it, and the message says why', () => {
  const p = plan(viaHpa({ decision: decision(11), target: { ok: true, state: { replicas: 10, currentReplicas: 10, selector: '', resourceVersion: '1' } } }));
  assert.equal(p.served?.value, 12);
  assert.equal(p.served?.desiredReplicas, 11);
  assert.match(p.message, /past the HPA's tolerance of 0.1/);
});

test('plan, actuator Hpa: every holding state serves the current count (no change), never zero', () => {
  const held: Array<[string, PlanInput]> = [
    ['signal missing', viaHpa({ reading: { ok: false, error: 'down' }, decision: undefined })],
    ['paused', viaHpa({ paused: true })],
    ['dry run', viaHpa({ scaler: scaler({ actuator: 'Hpa', mode: 'DryRun' }) })],
    ['safety read failed', viaHpa({ hold: { reason: 'PauseUnknown', message: 'x' } })],
    ['no HPA', viaHpa({ hpa: undefined })],
    ['HPA not reading the metric', viaHpa({ hpa: reading({ readsScalers: ['other'] }) })],
  ];
  for (const [name, input] of held) {
    const p = plan(input);
    assert.equal(p.patch, undefined, name);
    assert.equal(p.served?.value, 2, name);
  }
  assert.equal(plan(viaHpa({ hpa: undefined })).reason, 'HpaMissing');
  assert.equal(plan(viaHpa({ hpa: reading({ readsScalers: ['other'] }) })).reason, 'HpaNotReadingMetric');
  assert.match(plan(viaHpa({ hpa: undefined })).message, /External metric surgeguard_desired_replicas with selector scaler=s/);
  // With zero replicas on the target the neutral value is still 1.
  assert.equal(plan(viaHpa({ paused: true, target: { ok: true, state: { replicas: 0, currentReplicas: 0, selector: '', resourceVersion: '1' } } })).served?.value, 1);
});

test('plan, actuator Hpa: a count the HPA set is never read as another writer', () => {
  const p = plan(viaHpa({ scaler: scaler({ actuator: 'Hpa' }, { appliedReplicas: 4 }), target: { ok: true, state: { replicas: 9, currentReplicas: 9, selector: '', resourceVersion: '8', replicasManager: { manager: 'kube-controller-manager' } } } }));
  assert.notEqual(p.decision, 'conflict');
});

test('plan, actuator Keda: any HPA on the target is KEDA\'s; without one the scaler says to create the ScaledObject; from zero it serves at least 1', () => {
  const keda = (over: Partial<PlanInput> = {}): PlanInput => base({ scaler: scaler({ actuator: 'Keda', minReplicas: 0 }), hpa: { name: 'keda-hpa-d', tolerance: { up: 0.1, down: 0.1 }, readsScalers: [] }, ...over });
  const p = plan(keda());
  assert.equal(p.decision, 'hpa');
  assert.equal(p.served?.value, 6);
  assert.equal(p.conditions.find((c) => c.type === 'Active')?.reason, 'ServingKeda');
  const none = plan(keda({ hpa: undefined }));
  assert.equal(none.reason, 'ScaledObjectMissing');
  assert.match(none.message, /trigger of type external, metadata scaler: s/);
  assert.equal(none.served?.value, 2);
  const zero = plan(keda({ target: { ok: true, state: { replicas: 0, currentReplicas: 0, selector: '', resourceVersion: '1' } }, decision: decision(3) }));
  assert.deepEqual([zero.served?.value, zero.served?.desiredReplicas], [3, 3]);
});
