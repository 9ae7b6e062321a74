// Saturation guards beside the demand signal: the replicas each asks for, how decide combines them
// (they only raise the target, and hold scale-down like any recommendation), and the tick reading
// them next to the demand (in-memory stand-ins for the cluster and Prometheus: pure logic).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSpec, type PredictiveScaler } from '../../../controller/crd/predictive-scaler.ts';
import { decide } from '../../../controller/scaling/decide.ts';
import { DEFAULT_POLICY_SETTINGS, type ScalingPolicy } from '../../../controller/scaling/policy.ts';
import { GUARD_PRESETS, guardNeed, resolveGuard, SELECTOR_PATTERN } from '../../../controller/signals/guards.ts';
import type { SignalReading, SignalRequest } from '../../../controller/signals/signal.ts';
import { memoryScale, standInLoop } from '../../helpers/scaling-loop.ts';

test('a Total guard asks value / target; an Average guard current x value / target, like the HPA', () => {
  assert.equal(guardNeed({ name: 'q', preset: 'vllm-waiting', target: 4 }, 40, 3).replicas, 10);
  assert.equal(guardNeed({ name: 'q', preset: 'vllm-waiting', target: 4 }, 41, 3).replicas, 11);
  assert.equal(guardNeed({ name: 'q', preset: 'vllm-waiting', target: 4 }, 0, 3).replicas, 0);
  assert.equal(guardNeed({ name: 'kv', preset: 'vllm-kv-cache', target: 0.7 }, 0.91, 10).replicas, 13);
  assert.equal(guardNeed({ name: 'kv', preset: 'vllm-kv-cache', target: 0.7 }, 0.7, 10).replicas, 10, 'at target: no float noise adds a pod');
  assert.equal(guardNeed({ name: 'x', query: 'sum(x)', target: 2, type: 'Average' }, 3, 4).replicas, 6);
  assert.equal(guardNeed({ name: 'q', preset: 'vllm-waiting', target: 4 }, 40, 3).detail, '40 requests waiting, target 4 per replica');
});

test('an SLO guard asks nothing while the latency holds, and current x value / target (at most twice the fleet) once it breaks', () => {
  const ttft = { name: 'ttft', preset: 'vllm-ttft-p95' as const, target: 1 };
  assert.equal(guardNeed(ttft, 0.8, 5).replicas, 0);
  assert.equal(guardNeed(ttft, 1, 5).replicas, 0, 'at the objective it holds');
  assert.equal(guardNeed(ttft, 1.5, 5).replicas, 8);
  assert.equal(guardNeed(ttft, 9, 5).replicas, 10, 'a spike doubles the fleet at most');
  assert.equal(guardNeed(ttft, 1.5, 5).detail, '1.5 s time to first token (p95) breaks the SLO of 1');
  assert.equal(guardNeed(ttft, 0.8, 5).detail, '0.8 s time to first token (p95) within the SLO of 1');
});

test('presets write PromQL with the engines\' metric names, the selector inside the braces; vLLM\'s KV-cache under both names', () => {
  assert.equal(resolveGuard({ name: 'a', preset: 'vllm-waiting', selector: 'namespace="llm"', target: 1 }).query, 'sum(vllm:num_requests_waiting{namespace="llm"})');
  assert.equal(resolveGuard({ name: 'a', preset: 'vllm-kv-cache', target: 1 }).query, '(avg(vllm:kv_cache_usage_perc{}) or avg(vllm:gpu_cache_usage_perc{}))');
  assert.equal(resolveGuard({ name: 'a', preset: 'triton-pending', target: 1 }).query, 'sum(nv_inference_pending_request_count{})');
  assert.equal(resolveGuard({ name: 'a', preset: 'tgi-queue', target: 1 }).query, 'sum(tgi_queue_size{})');
  assert.equal(resolveGuard({ name: 'a', preset: 'vllm-kv-cache', target: 1 }).type, 'Average');
  assert.equal(resolveGuard({ name: 'a', preset: 'vllm-kv-cache', target: 1, type: 'Total' }).type, 'Total', 'the spec overrides the preset');
  assert.deepEqual(Object.keys(GUARD_PRESETS).sort(), ['llamacpp-deferred', 'llamacpp-processing', 'tgi-batch', 'tgi-queue', 'triton-pending', 'triton-queue-time', 'vllm-kv-cache', 'vllm-queue-time-p95', 'vllm-running', 'vllm-ttft-p95', 'vllm-waiting']);
});

test('the selector pattern takes label matchers and refuses what would break the query', () => {
  const re = new RegExp(SELECTOR_PATTERN);
  for (const ok of ['namespace="llm"', 'namespace="llm", model_name=~"llama.*"', ' job!="x" ,pod!~"a\\"b" ']) assert.ok(re.test(ok), ok);
  for (const bad of ['namespace=llm', 'namespace="llm"}', '{namespace="llm"}', 'namespace="llm",', 'namespace="a"} or vector(1) or up{x="y"', '1abc="x"']) assert.ok(!re.test(bad), bad);
});

const policy: ScalingPolicy = { ...DEFAULT_POLICY_SETTINGS, reactiveHeadroom: 1, capacityPerReplicaPerSecond: 10, startupSeconds: 30, minReplicas: 1, maxReplicas: 100 };
const flat = (rate: number) => ({ p50: [rate, rate, rate], p90: [rate, rate, rate], source: 'test' });

test('decide: a guard above every other rule binds and says so; below them it is reported, not binding', () => {
  const signals = { intervalSeconds: 15, demandRates: [20, 20, 20], currentReplicas: 5, recentRecommendations: [] };
  const raised = decide({ ...signals, guards: [{ name: 'queue', replicas: 9, detail: 'd' }, { name: 'kv', replicas: 5 }] }, flat(20), policy, 1000);
  assert.equal(raised.replicas, 9);
  assert.equal(raised.reason, 'Guard');
  assert.deepEqual(raised.rules.guard, { name: 'queue', replicas: 9, detail: 'd' });
  const below = decide({ ...signals, guards: [{ name: 'queue', replicas: 1 }] }, flat(20), policy, 1000);
  assert.equal(below.replicas, 2);
  assert.notEqual(below.reason, 'Guard');
  assert.equal(below.rules.guard?.replicas, 1);
  assert.equal(decide(signals, flat(20), policy, 1000).rules.guard, undefined);
});

test('decide: a guard in panic skips the scale-up limit; one not yet calm holds the fleet from shrinking', () => {
  const signals = { intervalSeconds: 15, demandRates: [20, 20, 20], currentReplicas: 2, recentRecommendations: [] };
  const limited = decide({ ...signals, guards: [{ name: 'q', replicas: 30 }] }, flat(20), policy, 1000);
  assert.deepEqual([limited.replicas, limited.reason], [6, 'ScaleUpLimited']);
  const panic = decide({ ...signals, guards: [{ name: 'q', replicas: 30, panic: true, calm: false }] }, flat(20), policy, 1000);
  assert.deepEqual([panic.replicas, panic.reason], [30, 'Panic']);
  const restless = decide({ ...signals, currentReplicas: 9, guards: [{ name: 'q', replicas: 3, calm: false }] }, flat(20), policy, 1000);
  assert.deepEqual([restless.replicas, restless.reason], [9, 'GuardNotCalm']);
  const calm = decide({ ...signals, currentReplicas: 9, guards: [{ name: 'q', replicas: 3, calm: true }] }, flat(20), policy, 1000);
  assert.equal(calm.replicas, 3);
});

test('panic and calm are per replica for a Total guard, per pod already for Average and Slo', () => {
  const q = { name: 'q', preset: 'vllm-waiting' as const, target: 4 };
  assert.deepEqual([guardNeed(q, 16, 2).panic, guardNeed(q, 16, 2).calm], [true, false]);
  assert.deepEqual([guardNeed(q, 16, 4).panic, guardNeed(q, 16, 4).calm], [false, true]);
  assert.deepEqual([guardNeed(q, 20, 4).panic, guardNeed(q, 20, 4).calm], [false, false]);
  const kv = { name: 'kv', preset: 'vllm-kv-cache' as const, target: 0.4 };
  assert.equal(guardNeed(kv, 0.85, 10).panic, true);
  const ttft = { name: 't', preset: 'vllm-ttft-p95' as const, target: 1 };
  assert.deepEqual([guardNeed(ttft, 2.5, 5).panic, guardNeed(ttft, 0.5, 5).calm], [true, true]);
});

test('decide: once the queue calms, scale-down waits for the stabilization window like any recommendation', () => {
  const signals = { intervalSeconds: 15, demandRates: [20, 20, 20], currentReplicas: 9, recentRecommendations: [{ atSeconds: 900, replicas: 9 }] };
  const held = decide({ ...signals, guards: [{ name: 'queue', replicas: 0 }] }, flat(20), policy, 1000);
  assert.equal(held.replicas, 9);
  assert.equal(held.reason, 'Stabilized');
  const later = decide({ ...signals, guards: [{ name: 'queue', replicas: 0 }] }, flat(20), policy, 1201);
  assert.equal(later.replicas, 2);
});

function guarded(guards: PredictiveScaler['spec']['guards']): PredictiveScaler {
  return {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name: 'llm', namespace: 'ns', generation: 1 },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llm' }, signal: { prometheus: { query: 'sum(rate(requests_total[1m]))' } }, requestsPerSecondPerReplica: 10, maxReplicas: 50, startupSeconds: 30, guards }),
  };
}

function loop(scaler: PredictiveScaler, readings: (query: string) => SignalReading) {
  const counts = new Map([['llm', 2]]);
  const asked: string[] = [];
  const query = (r: SignalRequest): string => (r.signal.kind === 'prometheus' ? r.signal.query : '');
  const l = standInLoop({
    scalers: () => [scaler],
    signal: { read: async (reqs) => new Map(reqs.map((r) => (asked.push(query(r)), [r.key, readings(query(r))]))), close: async () => undefined },
    scale: memoryScale(counts),
  });
  const replicas = {
    get n(): number {
      return counts.get('llm') ?? 0;
    },
  };
  return { replicas, asked, metrics: l.metrics, decisions: l.decisions, tick: l.tick };
}

test('the tick reads each guard with the demand, and a queue the forecast did not see raises the target at once', async () => {
  let waiting = 0;
  const h = loop(guarded([{ name: 'queue', preset: 'vllm-waiting', selector: 'namespace="ns"', target: 4 }]), (q) => ({ ok: true, rate: q.includes('vllm:num_requests_waiting') ? waiting : 15, detail: {} }));
  for (let i = 0; i < 5; i++) await h.tick();
  assert.equal(h.replicas.n, 2, 'demand 15/s at 10 per replica');
  assert.ok(h.asked.includes('sum(vllm:num_requests_waiting{namespace="ns"})'), h.asked.join('\n'));
  // 12 waiting on 2 replicas is 6 each, 1.5x the target: the guard asks 3.
  waiting = 12;
  const asked = await h.tick();
  assert.equal(h.replicas.n, 3);
  assert.equal(asked.plans[0]?.reason, 'Guard');
  assert.match(asked.plans[0]?.message ?? '', /guard queue 3 \(12 requests waiting, target 4 per replica\)/);
  // A burst of 120 on 3 replicas (40 each, 10x): panic, at once past the limit (double or +4 is 7).
  waiting = 120;
  const panic = await h.tick();
  assert.equal(h.replicas.n, 30);
  assert.equal(panic.plans[0]?.reason, 'Panic');
  // 40 on 30 (1.3 each): calm, and the stabilization window holds the fleet.
  waiting = 40;
  const r = await h.tick();
  assert.equal(h.replicas.n, 30);
  assert.equal(r.plans[0]?.reason, 'Stabilized');
  assert.match(r.plans[0]?.message ?? '', /guard queue 10 \(40 requests waiting, target 4 per replica\)/);
  const last = h.decisions.list({ limit: 1 })[0];
  assert.equal(last?.guard?.name, 'queue');
  assert.equal(last?.rules?.guard, 10);
  assert.match((await h.metrics.render()).body, /surgeguard_scaler_guard_value\{namespace="ns",scaler="llm",guard="queue"\} 40/);
});

test('a guard that cannot be read asks for nothing: the forecast still decides, and the failure is counted', async () => {
  const h = loop(guarded([{ name: 'queue', query: 'sum(broken)', target: 4 }]), (q) => (q === 'sum(broken)' ? { ok: false, error: 'prometheus: boom' } : { ok: true, rate: 35, detail: {} }));
  for (let i = 0; i < 3; i++) await h.tick();
  assert.equal(h.replicas.n, 5, '35/s with the reactive floor\'s 1.25 headroom, at 10 per replica');
  assert.match((await h.metrics.render()).body, /surgeguard_controller_signal_errors_total\{signal="guard"\} 3/);
  assert.equal(h.decisions.list({ limit: 1 })[0]?.guard, undefined);
});
