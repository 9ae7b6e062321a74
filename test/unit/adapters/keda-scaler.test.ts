// KEDA's external scaler, over real gRPC on loopback with a client built from the same proto KEDA
// compiles (scalers are stand-ins; KEDA itself runs in test/integration/controller/keda-actuator.test.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { silentLogger } from '../../../common/logger.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { resolveSpec, type PredictiveScaler } from '../../../controller/crd/predictive-scaler.ts';
import { EXTERNAL_SCALER_PROTO, kedaAnswer, startKedaScaler } from '../../../controller/adapters/keda-scaler.ts';

const now = Date.parse('2026-12-06T10:00:00Z');
const served = (value: number, desiredReplicas: number, ageS = 5) => ({ value, desiredReplicas, currentReplicas: 0, time: new Date(now - ageS * 1000).toISOString() });
function scaler(name: string, actuator: 'Direct' | 'Hpa' | 'Keda', status?: PredictiveScaler['status']): PredictiveScaler {
  return { apiVersion: 'surgeguard.io/v1alpha1', kind: 'PredictiveScaler', metadata: { name, namespace: 'ml' }, spec: resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, signal: { prometheus: { query: 'x' } }, requestsPerSecondPerReplica: 1, maxReplicas: 9, minReplicas: 0, actuator }), ...(status ? { status } : {}) };
}
const scalers: PredictiveScaler[] = [];
const deps = { scalers: () => scalers, now: () => now, staleAfterMs: 120_000 };
const ref = (scalerName?: string): { name: string; namespace: string; scalerMetadata: Record<string, string> } => ({ name: 'so', namespace: 'ml', scalerMetadata: scalerName ? { scaler: scalerName } : {} });

test('answers: the served count and whether any replica is wanted; what is wrong is named', () => {
  scalers.splice(0, scalers.length, scaler('rank', 'Keda', { externalMetric: served(7, 6) }), scaler('idle', 'Keda', { externalMetric: served(1, 0) }), scaler('hpa', 'Hpa', { externalMetric: served(3, 3) }), scaler('old', 'Keda', { externalMetric: served(3, 3, 600) }), scaler('new', 'Keda'));
  assert.deepEqual(kedaAnswer(deps, ref('rank')), { ok: true, value: 7, active: true });
  assert.deepEqual(kedaAnswer(deps, ref('idle')), { ok: true, value: 1, active: false });
  const bad: Array<[string | undefined, number, RegExp]> = [
    [undefined, 3, /metadata has no scaler/],
    ['missing', 5, /no PredictiveScaler ml\/missing/],
    ['hpa', 5, /actuator Hpa; set actuator: Keda/],
    ['old', 14, /600 s ago/],
    ['new', 14, /not decided yet/],
  ];
  for (const [name, code, msg] of bad) {
    const a = kedaAnswer(deps, ref(name));
    assert.equal(a.ok, false, String(name));
    if (!a.ok) {
      assert.equal(a.code, code, String(name));
      assert.match(a.message, msg);
    }
  }
});

type Client = grpc.Client & Record<string, (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void> & { StreamIsActive(req: unknown): grpc.ClientReadableStream<{ result: boolean }> };
let server: Awaited<ReturnType<typeof startKedaScaler>>;
let client: Client;
before(async () => {
  server = await startKedaScaler({ ...deps, logger: silentLogger(), metrics: createMetricRegistry(), streamPollMs: 20 }, { host: '127.0.0.1', port: 0 });
  const def = protoLoader.loadSync(EXTERNAL_SCALER_PROTO, { keepCase: true, longs: Number, defaults: true, arrays: true });
  const Ctor = (grpc.loadPackageDefinition(def) as unknown as { externalscaler: { ExternalScaler: new (a: string, c: grpc.ChannelCredentials) => Client } }).externalscaler.ExternalScaler;
  client = new Ctor(server.address, grpc.credentials.createInsecure());
});
after(async () => {
  client?.close();
  await server?.close();
});
const call = (method: string, req: unknown): Promise<unknown> => new Promise((resolve, reject) => client[method]?.(req, (err, res) => (err ? reject(err) : resolve(res))));

test('over gRPC: GetMetricSpec, GetMetrics and IsActive as KEDA calls them; errors carry the code and the message', async () => {
  scalers.splice(0, scalers.length, scaler('rank', 'Keda', { externalMetric: served(7.5, 7) }), scaler('new', 'Keda'));
  assert.deepEqual(await call('GetMetricSpec', ref('rank')), { metricSpecs: [{ metricName: 'surgeguard_desired_replicas', targetSize: 1, targetSizeFloat: 1 }] });
  // Not decided yet: KEDA still gets the spec, so it can build its HPA.
  assert.equal(((await call('GetMetricSpec', ref('new'))) as { metricSpecs: unknown[] }).metricSpecs.length, 1);
  assert.deepEqual(await call('GetMetrics', { scaledObjectRef: ref('rank'), metricName: 's0-surgeguard_desired_replicas' }), { metricValues: [{ metricName: 's0-surgeguard_desired_replicas', metricValue: 8, metricValueFloat: 7.5 }] });
  assert.deepEqual(await call('IsActive', ref('rank')), { result: true });
  await assert.rejects(call('GetMetrics', { scaledObjectRef: ref('missing'), metricName: 'x' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /no PredictiveScaler ml\/missing/.test(e.details));
  await assert.rejects(call('GetMetricSpec', ref(undefined)), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
  await assert.rejects(call('IsActive', ref('new')), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
});

test('over gRPC: StreamIsActive sends the answer at once, then each change (scale from zero ahead of a surge)', async () => {
  const idle = scaler('burst', 'Keda', { externalMetric: served(1, 0) });
  scalers.splice(0, scalers.length, idle);
  const stream = client.StreamIsActive(ref('burst'));
  const seen: boolean[] = [];
  const two = new Promise<void>((resolve, reject) => {
    stream.on('data', (m: { result: boolean }) => {
      seen.push(m.result);
      if (seen.length === 1) idle.status = { externalMetric: served(4, 4) };
      if (seen.length === 2) resolve();
    });
    stream.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
  });
  await two;
  stream.cancel();
  assert.deepEqual(seen, [false, true]);
});
