// The `Keda` actuator: KEDA's external scaler (externalscaler.proto), so a ScaledObject trigger
//   - type: external
//     metadata: { scalerAddress: <this server>, scaler: <PredictiveScaler name> }
// pre-scales from the forecast. KEDA builds an HPA whose External metric (AverageValue 1) is what
// GetMetrics answers: the count SurgeGuard decided, served past the HPA's tolerance band as for the
// Hpa actuator; IsActive says whether SurgeGuard wants any replica at all, which is how KEDA
// scales from zero ahead of a forecast surge. Like external.metrics.k8s.io, every controller
// replica answers from its scaler cache (the leader's decisions in the PredictiveScaler status).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import type { PredictiveScaler } from '../crd/predictive-scaler.ts';
import { EXTERNAL_METRIC } from './hpa.ts';

/** The proto beside this module in the sources, and in the package's controller/adapters/ from dist/. */
export const EXTERNAL_SCALER_PROTO = [new URL('./externalscaler.proto', import.meta.url), new URL('../../../controller/adapters/externalscaler.proto', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((f) => existsSync(f)) ?? fileURLToPath(new URL('./externalscaler.proto', import.meta.url));

export interface ScaledObjectRef {
  name: string;
  namespace: string;
  scalerMetadata: Record<string, string>;
}

/** gRPC status codes used here (grpc.status, without loading gRPC to name them). */
export const CODE = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

export type KedaAnswer = { ok: true; value: number; active: boolean } | { ok: false; code: number; message: string };

/** What a ScaledObject's trigger gets for its scaler (pure but for the scaler list and the clock). */
export function kedaAnswer(deps: { scalers: () => readonly PredictiveScaler[]; now: () => number; staleAfterMs: number }, ref: ScaledObjectRef): KedaAnswer {
  const name = ref.scalerMetadata?.scaler;
  const where = `ScaledObject ${ref.namespace}/${ref.name}`;
  if (!name) return { ok: false, code: CODE.INVALID_ARGUMENT, message: `${where}: the trigger's metadata has no scaler (the PredictiveScaler's name, in the ScaledObject's namespace)` };
  const s = deps.scalers().find((x) => x.metadata.namespace === ref.namespace && x.metadata.name === name);
  if (!s) return { ok: false, code: CODE.NOT_FOUND, message: `${where}: no PredictiveScaler ${ref.namespace}/${name} (or this controller's scalerSelector excludes it)` };
  if (s.spec.actuator !== 'Keda') return { ok: false, code: CODE.NOT_FOUND, message: `${where}: PredictiveScaler ${ref.namespace}/${name} has actuator ${s.spec.actuator}; set actuator: Keda` };
  const served = s.status?.externalMetric;
  if (!served) return { ok: false, code: CODE.UNAVAILABLE, message: `${where}: PredictiveScaler ${ref.namespace}/${name} has not decided yet` };
  const age = deps.now() - Date.parse(served.time);
  if (!(age <= deps.staleAfterMs)) return { ok: false, code: CODE.UNAVAILABLE, message: `${where}: the value for ${ref.namespace}/${name} was decided ${Math.round(age / 1000)} s ago; the controller has stopped deciding` };
  return { ok: true, value: Math.max(1, served.value), active: served.desiredReplicas > 0 };
}

export interface KedaScalerDeps {
  readonly scalers: () => readonly PredictiveScaler[];
  readonly now: () => number;
  readonly staleAfterMs: number;
  readonly logger: Logger;
  readonly metrics: MetricRegistry;
  /** How often an open StreamIsActive looks for a change. */
  readonly streamPollMs?: number;
}

/** Starts the gRPC server; `tls` absent serves plaintext (inside the cluster network only). */
export async function startKedaScaler(deps: KedaScalerDeps, listen: { host: string; port: number }, tls?: { certFile: string; keyFile: string; clientCAFile?: string }): Promise<{ address: string; close(): Promise<void> }> {
  const [g, protoLoader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  const def = protoLoader.loadSync(EXTERNAL_SCALER_PROTO, { keepCase: true, longs: Number, defaults: true, arrays: true });
  const pkg = g.loadPackageDefinition(def) as unknown as { externalscaler: { ExternalScaler: { service: grpc.ServiceDefinition } } };
  const calls = deps.metrics.counter('surgeguard_keda_scaler_requests_total', 'Calls to the KEDA external scaler, by method and gRPC status code.', ['method', 'code']);
  const answer = (method: string, ref: ScaledObjectRef): KedaAnswer => {
    const a = kedaAnswer(deps, ref);
    calls.inc({ method, code: String(a.ok ? 0 : a.code) });
    if (!a.ok) deps.logger.info({ method, scaledObject: `${ref.namespace}/${ref.name}`, code: a.code, message: a.message }, 'KEDA external scaler: not served');
    return a;
  };
  const fail = (a: Extract<KedaAnswer, { ok: false }>): Partial<grpc.StatusObject> => ({ code: a.code, details: a.message });
  const streams = new Set<NodeJS.Timeout>();

  const server = new g.Server();
  server.addService(pkg.externalscaler.ExternalScaler.service, {
    IsActive: (call: grpc.ServerUnaryCall<ScaledObjectRef, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const a = answer('IsActive', call.request);
      if (a.ok) cb(null, { result: a.active });
      else cb(fail(a));
    },
    StreamIsActive: (call: grpc.ServerWritableStream<ScaledObjectRef, unknown>) => {
      // The current answer at once, then each change (external-push); an error ends the stream,
      // and KEDA opens it again.
      let last: boolean | undefined;
      const tick = (): void => {
        const a = answer('StreamIsActive', call.request);
        if (!a.ok) {
          stop();
          call.destroy(Object.assign(new Error(a.message), { code: a.code, details: a.message }));
          return;
        }
        if (a.active !== last) call.write({ result: a.active });
        last = a.active;
      };
      const timer = setInterval(tick, deps.streamPollMs ?? 1000);
      streams.add(timer);
      const stop = (): void => {
        clearInterval(timer);
        streams.delete(timer);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      tick();
    },
    GetMetricSpec: (call: grpc.ServerUnaryCall<ScaledObjectRef, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      // A count with a target of 1 per replica: the HPA KEDA builds lands on the value served.
      // A scaler that is only not decided yet still gets its (constant) spec, so KEDA can build
      // its HPA; a trigger naming no scaler, or the wrong one, fails where the ScaledObject shows it.
      const a = answer('GetMetricSpec', call.request);
      if (!a.ok && a.code !== CODE.UNAVAILABLE) return cb(fail(a));
      cb(null, { metricSpecs: [{ metricName: EXTERNAL_METRIC, targetSize: 1, targetSizeFloat: 1 }] });
    },
    GetMetrics: (call: grpc.ServerUnaryCall<{ scaledObjectRef: ScaledObjectRef; metricName: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const a = answer('GetMetrics', call.request.scaledObjectRef);
      if (!a.ok) return cb(fail(a));
      cb(null, { metricValues: [{ metricName: call.request.metricName || EXTERNAL_METRIC, metricValue: Math.round(a.value), metricValueFloat: a.value }] });
    },
    // Optional in the proto: KEDA falls back to GetMetricSpec, whose answer never changes here.
    StreamMetricSpec: (call: grpc.ServerWritableStream<ScaledObjectRef, unknown>) => {
      call.destroy(Object.assign(new Error('not implemented: the metric spec is constant'), { code: g.status.UNIMPLEMENTED }));
    },
  });
  const creds = tls
    ? g.ServerCredentials.createSsl(tls.clientCAFile ? readFileSync(tls.clientCAFile) : null, [{ private_key: readFileSync(tls.keyFile), cert_chain: readFileSync(tls.certFile) }], !!tls.clientCAFile)
    : g.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`, creds, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    address: `${listen.host}:${port}`,
    async close() {
      for (const t of streams) clearInterval(t);
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
    },
  };
}
