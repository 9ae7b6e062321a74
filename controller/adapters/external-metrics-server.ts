// external.metrics.k8s.io/v1beta1, served to the kube-apiserver's aggregation layer for the `Hpa`
// actuator: GET .../namespaces/NS/surgeguard_desired_replicas?labelSelector=scaler=NAME answers
// the value the scaler's last decision serves (its status.externalMetric). Every replica serves it
// from its scaler cache, so the Service may route to any of them and a leader change loses nothing.
// What the HPA must read as "no change" is an error, never zero (KEP-117: a failed metric never
// lets the HPA scale down).
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import type { PredictiveScaler } from '../crd/predictive-scaler.ts';
import { callerOf, type AccessRequest, type Caller, type RequestHeaderConfig } from './delegated-auth.ts';
import { EXTERNAL_METRIC, EXTERNAL_METRICS_GROUP_VERSION, toQuantity } from './hpa.ts';

export interface ExternalMetricsDeps {
  readonly scalers: () => readonly PredictiveScaler[];
  /** The front proxy's settings; undefined until read (every request then answers 503). */
  readonly requestHeader: () => RequestHeaderConfig | undefined;
  readonly authorize: (c: Caller, a: AccessRequest) => Promise<boolean>;
  readonly now: () => number;
  /** A served value older than this is not served: the controller that decided it has stopped. */
  readonly staleAfterMs: number;
  readonly logger: Logger;
  readonly metrics: MetricRegistry;
}

type Answer = { code: number; body: unknown };

const BASE = `/apis/${EXTERNAL_METRICS_GROUP_VERSION}`;

function status(code: number, reason: string, message: string): Answer {
  return { code, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code } };
}

/** The scaler a label selector names: `scaler=NAME`, `scaler==NAME` or `scaler in (NAME)`. */
export function scalerOfSelector(selector: string | null): string | undefined {
  const s = (selector ?? '').trim();
  const m = /^scaler\s*(?:==?\s*([a-z0-9]([-a-z0-9.]*[a-z0-9])?)|\s+in\s*\(\s*([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\s*\))$/.exec(s);
  return m ? (m[1] ?? m[3]) : undefined;
}

/**
 * Answers one request for the metric (pure but for the scaler list and the clock; authentication
 * and authorization are done before it).
 */
export function metricAnswer(deps: Pick<ExternalMetricsDeps, 'scalers' | 'now' | 'staleAfterMs'>, namespace: string, metric: string, selector: string | null): Answer {
  if (metric !== EXTERNAL_METRIC) return status(404, 'NotFound', `no external metric ${metric}: SurgeGuard serves only ${EXTERNAL_METRIC}`);
  const name = scalerOfSelector(selector);
  if (!name) return status(400, 'BadRequest', `labelSelector ${JSON.stringify(selector ?? '')} must name one scaler: scaler=<PredictiveScaler name>`);
  const s = deps.scalers().find((x) => x.metadata.namespace === namespace && x.metadata.name === name);
  if (!s) return status(404, 'NotFound', `no PredictiveScaler ${namespace}/${name} (or this controller's scalerSelector excludes it)`);
  if (s.spec.actuator !== 'Hpa') return status(404, 'NotFound', `PredictiveScaler ${namespace}/${name} has actuator ${s.spec.actuator}; set actuator: Hpa to serve its HPA${s.spec.actuator === 'Keda' ? ' (Keda is served over KEDA\'s external scaler)' : ''}`);
  const served = s.status?.externalMetric;
  if (!served) return status(503, 'ServiceUnavailable', `PredictiveScaler ${namespace}/${name} has not decided yet`);
  const age = deps.now() - Date.parse(served.time);
  if (!(age <= deps.staleAfterMs)) return status(503, 'ServiceUnavailable', `the value for ${namespace}/${name} was decided ${Math.round(age / 1000)} s ago; the controller has stopped deciding, so the HPA is left to its other metrics`);
  return {
    code: 200,
    body: {
      kind: 'ExternalMetricValueList',
      apiVersion: EXTERNAL_METRICS_GROUP_VERSION,
      metadata: {},
      items: [{ metricName: EXTERNAL_METRIC, metricLabels: { scaler: name }, timestamp: served.time, value: toQuantity(served.value) }],
    },
  };
}

const DISCOVERY = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: EXTERNAL_METRICS_GROUP_VERSION,
  resources: [{ name: EXTERNAL_METRIC, singularName: '', namespaced: true, kind: 'ExternalMetricValueList', verbs: ['get'] }],
};

/** The HTTPS server; `tls` is its serving certificate, the client CA comes from `requestHeader`. */
export function createExternalMetricsServer(deps: ExternalMetricsDeps, tls: { cert: Buffer; key: Buffer }): { server: Server; refreshClientCA(): void } {
  const requests = deps.metrics.counter('surgeguard_external_metrics_requests_total', 'Requests to external.metrics.k8s.io, by answer code.', ['code']);
  let caInUse: string | undefined;
  const server = createServer({ cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: false });
  const refreshClientCA = (): void => {
    const ca = deps.requestHeader()?.clientCA;
    if (!ca || ca === caInUse) return;
    server.setSecureContext({ cert: tls.cert, key: tls.key, ca });
    caInUse = ca;
  };
  refreshClientCA();

  const handle = async (req: IncomingMessage): Promise<Answer> => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (req.method !== 'GET') return status(405, 'MethodNotAllowed', `${req.method} is not served; only GET`);
    if (url.pathname === '/healthz' || url.pathname === '/livez') return { code: 200, body: 'ok' };
    if (url.pathname === '/readyz') return deps.requestHeader() ? { code: 200, body: 'ok' } : status(503, 'ServiceUnavailable', 'request-header settings not read yet');
    const cfg = deps.requestHeader();
    if (!cfg) return status(503, 'ServiceUnavailable', 'the request-header settings (kube-system/extension-apiserver-authentication) are not read yet');
    const socket = req.socket as TLSSocket;
    const cn = socket.authorized ? (socket.getPeerCertificate()?.subject?.CN as string | undefined) : undefined;
    const who = callerOf(cfg, { authorized: socket.authorized, commonName: cn }, req.headersDistinct);
    if (!who.ok) return status(401, 'Unauthorized', who.reason);
    // Discovery is public to anyone the front proxy vouches for, its availability probe included.
    if (url.pathname === BASE || url.pathname === `${BASE}/`) return { code: 200, body: DISCOVERY };
    const m = new RegExp(`^${BASE}/namespaces/([a-z0-9-]{1,63})/([A-Za-z0-9_.:-]{1,253})$`).exec(url.pathname);
    if (!m) return status(404, 'NotFound', `${url.pathname} is not served; GET ${BASE}/namespaces/NS/${EXTERNAL_METRIC}?labelSelector=scaler=NAME`);
    const [, namespace = '', metric = ''] = m;
    if (!who.caller) return status(403, 'Forbidden', 'the request names no user');
    if (!(await deps.authorize(who.caller, { namespace, resource: metric }))) return status(403, 'Forbidden', `${who.caller.user} may not get ${metric} in ${namespace} (external.metrics.k8s.io)`);
    return metricAnswer(deps, namespace, metric, url.searchParams.get('labelSelector'));
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    refreshClientCA();
    void handle(req)
      .catch((err: unknown): Answer => {
        deps.logger.warn({ err: String(err), url: req.url }, 'external metrics request failed');
        return status(500, 'InternalError', `could not answer: ${String(err)}`);
      })
      .then((a) => {
        requests.inc({ code: String(a.code) });
        if (a.code >= 400 && a.code !== 401) deps.logger.info({ url: req.url, code: a.code, message: (a.body as { message?: string }).message }, 'external metric not served');
        res.writeHead(a.code, { 'content-type': typeof a.body === 'string' ? 'text/plain' : 'application/json' });
        res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      });
  });
  return { server, refreshClientCA };
}
