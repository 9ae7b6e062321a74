import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, PLURAL } from '../../controller/crd/predictive-scaler.ts';
import { REPO_ROOT, waitUntil } from './infra/process.ts';
import { applyManifests, parseManifests } from './kube-apply.ts';

/** Installs the shipped CRD file (deploy/controller/crd.yaml) and waits until it is served. */
export async function installCrd(kc: KubeConfig): Promise<void> {
  const objects = parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/crd.yaml'), 'utf8')) as KubernetesObject[];
  await applyManifests(kc, objects);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await waitUntil('PredictiveScaler CRD established', async () => {
    const crd = await api.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  }, { timeoutMs: 30_000 });
}
