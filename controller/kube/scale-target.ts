import { CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1ManagedFieldsEntry } from '@kubernetes/client-node';

/** The field manager SurgeGuard writes as; another manager on spec.replicas is another writer. */
export const FIELD_MANAGER = 'surgeguard-controller';

export interface TargetRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export interface ScaleState {
  /** spec.replicas of the target: what its owner asked for. */
  replicas: number;
  /** status.replicas of the scale subresource: pods that exist. */
  currentReplicas: number;
  /** The label selector of the target's pods, from the scale subresource. */
  selector: string;
  resourceVersion: string;
  /** The field manager that last set spec.replicas, and when. */
  replicasManager?: { manager: string; time?: string; operation?: string };
}

/** Reads and sets the scale subresource of any kind that has one (not core-group kinds). */
export interface ScaleClient {
  /** One request: the scale subresource. `replicasManager` is left out (see writerOf). */
  read(ref: TargetRef): Promise<ScaleState>;
  /** Who last set spec.replicas, from the target's managedFields; read only when a conflict is suspected. */
  writerOf(ref: TargetRef): Promise<ScaleState['replicasManager']>;
  /**
   * Sets spec.replicas with a JSON merge patch carrying the resourceVersion that was read, so
   * a write by someone else in between fails with 409 instead of being overwritten.
   */
  setReplicas(ref: TargetRef, replicas: number, resourceVersion: string): Promise<ScaleState>;
}

// Discovery (kind → plural) is protected in the client; this exposes it.
class Discovery extends KubernetesObjectApi {
  async plural(apiVersion: string, kind: string): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    if (!r) throw new Error(`the API server knows no kind ${kind} in ${apiVersion}`);
    return r.name;
  }
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!group) throw new Error(`core-group kinds (${apiVersion}) are not supported as scale targets; use apps/v1 or a custom resource`);
  return { group, version: version ?? '' };
}

/** The ScaleClient on a real API server. */
export function kubeScaleClient(kc: KubeConfig): ScaleClient {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const discovery = kc.makeApiClient(Discovery);
  const objects = KubernetesObjectApi.makeApiClient(kc);

  const read = async (ref: TargetRef): Promise<ScaleState> => {
    const { group, version } = splitApiVersion(ref.apiVersion);
    const plural = await discovery.plural(ref.apiVersion, ref.kind);
    const scale = (await custom.getNamespacedCustomObjectScale({ group, version, namespace: ref.namespace, plural, name: ref.name })) as ScaleObject;
    return toState(scale, undefined);
  };

  return {
    read,
    async writerOf(ref) {
      const target = await objects.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } });
      return replicasManager(target.metadata?.managedFields);
    },
    async setReplicas(ref, replicas, resourceVersion) {
      const { group, version } = splitApiVersion(ref.apiVersion);
      const plural = await discovery.plural(ref.apiVersion, ref.kind);
      // The patch answers with the Scale as written: reading it again would be one more request per
      // changed target per tick for the same object (docs/scale.md, run 7).
      const written = (await custom.patchNamespacedCustomObjectScale(
        { group, version, namespace: ref.namespace, plural, name: ref.name, body: { metadata: { resourceVersion }, spec: { replicas } }, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as ScaleObject;
      return toState(written, undefined);
    },
  };
}

interface ScaleObject {
  metadata?: { resourceVersion?: string };
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

function toState(scale: ScaleObject, managed: V1ManagedFieldsEntry[] | undefined): ScaleState {
  return {
    replicas: scale.spec?.replicas ?? 0,
    currentReplicas: scale.status?.replicas ?? 0,
    selector: scale.status?.selector ?? '',
    resourceVersion: scale.metadata?.resourceVersion ?? '',
    replicasManager: replicasManager(managed),
  };
}

/** The manager whose managedFields entry owns spec.replicas (server-side field ownership). */
export function replicasManager(managed: readonly V1ManagedFieldsEntry[] | undefined): ScaleState['replicasManager'] {
  const owners = (managed ?? []).filter((m) => {
    const spec = (m.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.['f:spec'];
    return !!spec && 'f:replicas' in spec;
  });
  owners.sort((a, b) => String(a.time ?? '').localeCompare(String(b.time ?? '')));
  const last = owners[owners.length - 1];
  return last?.manager ? { manager: last.manager, time: last.time ? new Date(last.time).toISOString() : undefined, operation: last.operation } : undefined;
}
