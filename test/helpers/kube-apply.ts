import { KubernetesObjectApi, loadYaml, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

/** Parses a multi-document YAML manifest into objects (empty documents dropped). */
export function parseManifests(text: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`bad YAML: ${d.errors[0]?.message}`);
      return d.toJS() as KubernetesObject | null;
    })
    .filter((o): o is KubernetesObject => !!o && typeof o === 'object');
}

/**
 * Creates each object on the API server (or only validates it with a server-side dry run),
 * replacing objects that exist. Returns what the server answered, in order.
 */
export async function applyManifests(kc: KubeConfig, objects: readonly KubernetesObject[], opts: { dryRun?: boolean } = {}): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const dryRun = opts.dryRun ? 'All' : undefined;
  const out: KubernetesObject[] = [];
  for (const plain of objects) {
    // The client serializes known kinds through its generated models, which drop keys they do
    // not know by their TypeScript names (x-kubernetes-validations, enum, default): turn the
    // plain manifest into the model first.
    const obj = loadYaml<KubernetesObject>(JSON.stringify(plain));
    try {
      out.push(await api.create(obj, undefined, dryRun));
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw new Error(`${obj.kind}/${obj.metadata?.name}: ${(err as { body?: string }).body ?? (err as Error).message}`, { cause: err });
      out.push(await replaceCurrent(api, obj, dryRun));
    }
  }
  return out;
}

/**
 * Replaces an existing object at its current resourceVersion. Test files that share a control plane
 * apply the same manifests at the same moment (the CRD), so a replace can lose to another file's
 * replace of the same content: read again and retry (409 Conflict), a few times.
 */
async function replaceCurrent(api: KubernetesObjectApi, obj: KubernetesObject, dryRun: string | undefined): Promise<KubernetesObject> {
  const ref = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace } } as KubernetesObject & { metadata: { name: string } };
  for (let attempt = 1; ; attempt++) {
    const current = await api.read(ref);
    try {
      return await api.replace({ ...obj, metadata: { ...obj.metadata, resourceVersion: current.metadata?.resourceVersion } }, undefined, dryRun);
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt >= 5) throw err;
    }
  }
}
