// external.metrics.k8s.io answers and the front proxy's settings (pure logic; the real
// aggregation layer and HPA are in test/integration/controller/hpa-actuator.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSpec, type PredictiveScaler } from '../../../controller/crd/predictive-scaler.ts';
import { callerOf, cachedAuthorizer, requestHeaderConfig } from '../../../controller/adapters/delegated-auth.ts';
import { metricAnswer, scalerOfSelector } from '../../../controller/adapters/external-metrics-server.ts';

const NOW = Date.parse('2026-12-06T10:00:00Z');
function scaler(name: string, actuator: 'Direct' | 'Hpa', servedAt?: string): PredictiveScaler {
  return {
    apiVersion: 'surgeguard.io/v1alpha1',
    kind: 'PredictiveScaler',
    metadata: { name, namespace: 'ml' },
    spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, signal: { prometheus: { query: 'x' } }, requestsPerSecondPerReplica: 10, maxReplicas: 20, actuator }),
    ...(servedAt ? { status: { externalMetric: { value: 7, desiredReplicas: 7, currentReplicas: 3, time: servedAt } } } : {}),
  };
}
const deps = { scalers: () => [scaler('rank', 'Hpa', '2026-12-06T09:59:30Z'), scaler('old', 'Hpa', '2026-12-06T09:50:00Z'), scaler('fresh', 'Hpa'), scaler('direct', 'Direct', '2026-12-06T09:59:30Z')], now: () => NOW, staleAfterMs: 120_000 };
const M = 'surgeguard_desired_replicas';

test('the value of a fresh decision is served as a quantity, labelled with its scaler', () => {
  const a = metricAnswer(deps, 'ml', M, 'scaler=rank');
  assert.equal(a.code, 200);
  const body = a.body as { items: Array<{ value: string; metricLabels: Record<string, string> }> };
  assert.equal(body.items[0]?.value, '7000m');
  assert.deepEqual(body.items[0]?.metricLabels, { scaler: 'rank' });
});

test('what the HPA must read as no change is an error naming the cause, never a zero', () => {
  const cases: Array<[string, string, string | null, number, RegExp]> = [
    ['ml', 'other_metric', 'scaler=rank', 404, /only surgeguard_desired_replicas/],
    ['ml', M, null, 400, /must name one scaler/],
    ['ml', M, 'app=rank', 400, /must name one scaler/],
    ['ml', M, 'scaler=missing', 404, /no PredictiveScaler ml\/missing/],
    ['other', M, 'scaler=rank', 404, /no PredictiveScaler other\/rank/],
    ['ml', M, 'scaler=direct', 404, /actuator Direct/],
    ['ml', M, 'scaler=fresh', 503, /not decided yet/],
    ['ml', M, 'scaler=old', 503, /600 s ago/],
  ];
  for (const [ns, metric, sel, code, msg] of cases) {
    const a = metricAnswer(deps, ns, metric, sel);
    assert.equal(a.code, code, `${ns} ${metric} ${sel}`);
    assert.match((a.body as { message: string }).message, msg);
  }
});

test('label selectors: one scaler, in the forms the HPA and kubectl write', () => {
  assert.equal(scalerOfSelector('scaler=rank'), 'rank');
  assert.equal(scalerOfSelector('scaler==rank'), 'rank');
  assert.equal(scalerOfSelector('scaler in (rank)'), 'rank');
  assert.equal(scalerOfSelector('scaler in (a,b)'), undefined);
  assert.equal(scalerOfSelector('scaler=rank,app=x'), undefined);
  assert.equal(scalerOfSelector('scaler=Rank'), undefined);
});

test('the front proxy settings: a missing CA or a malformed list is named; defaults for the headers', () => {
  assert.throws(() => requestHeaderConfig({}), /no requestheader-client-ca-file/);
  assert.throws(() => requestHeaderConfig({ 'requestheader-client-ca-file': 'PEM', 'requestheader-allowed-names': '[front' }), /requestheader-allowed-names is not a JSON list/);
  assert.throws(() => requestHeaderConfig({ 'requestheader-client-ca-file': 'PEM', 'requestheader-group-headers': '[1]' }), /requestheader-group-headers is not a list of strings/);
  const c = requestHeaderConfig({ 'requestheader-client-ca-file': 'PEM', 'requestheader-allowed-names': '["front-proxy-client"]' });
  assert.deepEqual(c.usernameHeaders, ['X-Remote-User']);
  assert.deepEqual(c.allowedNames, ['front-proxy-client']);
});

test('the caller: only through a certificate the request-header CA signed, with an allowed name', () => {
  const cfg = requestHeaderConfig({ 'requestheader-client-ca-file': 'PEM', 'requestheader-allowed-names': '["front-proxy-client"]', 'requestheader-username-headers': '["X-Remote-User"]', 'requestheader-group-headers': '["X-Remote-Group"]' });
  const headers = { 'x-remote-user': ['system:kube-controller-manager'], 'x-remote-group': ['system:authenticated', 'g2'] };
  assert.deepEqual(callerOf(cfg, { authorized: true, commonName: 'front-proxy-client' }, headers), { ok: true, caller: { user: 'system:kube-controller-manager', groups: ['system:authenticated', 'g2'] } });
  // Headers alone prove nothing: anyone can send them.
  assert.equal(callerOf(cfg, { authorized: false, commonName: undefined }, headers).ok, false);
  assert.match(JSON.stringify(callerOf(cfg, { authorized: true, commonName: 'someone' }, headers)), /CN someone is not in requestheader-allowed-names/);
  assert.deepEqual(callerOf(cfg, { authorized: true, commonName: 'front-proxy-client' }, {}), { ok: true, caller: undefined });
});

test('access reviews are cached for their TTL per caller and metric', async () => {
  let t = 0;
  let asked = 0;
  const authz = cachedAuthorizer(async (c) => (asked++, c.user === 'hpa'), () => t, 10_000);
  const hpa = { user: 'hpa', groups: [] };
  assert.equal(await authz(hpa, { namespace: 'ml', resource: M }), true);
  assert.equal(await authz(hpa, { namespace: 'ml', resource: M }), true);
  assert.equal(asked, 1);
  assert.equal(await authz({ user: 'eve', groups: [] }, { namespace: 'ml', resource: M }), false);
  t = 10_001;
  await authz(hpa, { namespace: 'ml', resource: M });
  assert.equal(asked, 3);
});
