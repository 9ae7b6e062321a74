// Starts external.metrics.k8s.io on its own HTTPS port: reads the front proxy's settings from
// kube-system/extension-apiserver-authentication (again every 5 minutes, and every 15 s until
// the first read works: the server answers 503 meanwhile and the rest of the controller runs on),
// and authorizes each caller with a SubjectAccessReview.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { AuthorizationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import type { MetricRegistry } from '../../common/metrics.ts';
import { errorMessage } from '../../common/errors.ts';
import type { PredictiveScaler } from '../crd/predictive-scaler.ts';
import { cachedAuthorizer, requestHeaderConfig, type RequestHeaderConfig } from './delegated-auth.ts';
import { createExternalMetricsServer } from './external-metrics-server.ts';

export interface ExternalMetricsSettings {
  readonly listen: { host: string; port: number };
  readonly certFile: string;
  readonly keyFile: string;
  readonly staleAfterMs: number;
}

export async function startExternalMetrics(
  kc: KubeConfig,
  settings: ExternalMetricsSettings,
  deps: { scalers: () => readonly PredictiveScaler[]; logger: Logger; metrics: MetricRegistry },
): Promise<{ address: string; close(): Promise<void> }> {
  const core = kc.makeApiClient(CoreV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  let requestHeader: RequestHeaderConfig | undefined;
  const reviews = deps.metrics.counter('surgeguard_external_metrics_access_reviews_total', 'SubjectAccessReviews sent for external metric requests, by answer.', ['allowed']);
  const authorize = cachedAuthorizer(async (c, a) => {
    const r = await authz.createSubjectAccessReview({
      body: { spec: { user: c.user, groups: [...c.groups], resourceAttributes: { group: 'external.metrics.k8s.io', version: 'v1beta1', resource: a.resource, namespace: a.namespace, verb: 'get' } } },
    });
    const allowed = r.status?.allowed === true;
    reviews.inc({ allowed: String(allowed) });
    return allowed;
  }, Date.now);
  const { server, refreshClientCA } = createExternalMetricsServer(
    { scalers: deps.scalers, requestHeader: () => requestHeader, authorize, now: Date.now, staleAfterMs: settings.staleAfterMs, logger: deps.logger, metrics: deps.metrics },
    { cert: readFileSync(settings.certFile), key: readFileSync(settings.keyFile) },
  );

  let timer: NodeJS.Timeout | undefined;
  const load = async (): Promise<void> => {
    try {
      const cm = await core.readNamespacedConfigMap({ name: 'extension-apiserver-authentication', namespace: 'kube-system' });
      const next = requestHeaderConfig(cm.data);
      if (!requestHeader) deps.logger.info({ allowedNames: next.allowedNames }, 'external metrics: front proxy settings read');
      requestHeader = next;
      refreshClientCA();
    } catch (err) {
      deps.logger.error({ err: errorMessage(err) }, 'external metrics: cannot read kube-system/extension-apiserver-authentication; answering 503 until it can be read');
    }
    timer = setTimeout(() => void load(), requestHeader ? 300_000 : 15_000);
    timer.unref();
  };
  await load();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.listen.port, settings.listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    async close() {
      if (timer) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
