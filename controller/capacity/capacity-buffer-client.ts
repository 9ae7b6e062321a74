import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1PodTemplate } from '@kubernetes/client-node';
import { BUFFER_GROUP, BUFFER_PLURAL, BUFFER_VERSIONS, pickVersion, type CapacityBufferObject } from './capacity-buffer.ts';

/** The API calls CapacityBuffer placeholders need, all in the controller's own namespace. */
export interface CapacityBufferClient {
  /** The version of autoscaling.x-k8s.io CapacityBuffer the API server serves that SurgeGuard writes, or undefined when none is served (discovery). */
  served(): Promise<string | undefined>;
  /** The buffers matching `selector`, read from the API server (a restart adopts what exists). */
  list(version: string, namespace: string, selector: string): Promise<CapacityBufferObject[]>;
  /** Creates or replaces a buffer; resolves the stored object (its uid owns the PodTemplate). */
  write(buffer: CapacityBufferObject): Promise<CapacityBufferObject>;
  /** Creates or replaces a PodTemplate. */
  writeTemplate(template: V1PodTemplate): Promise<void>;
  /** Deletes a pool's buffer and its PodTemplate; resolves false when the buffer was gone already. */
  delete(version: string, namespace: string, name: string): Promise<boolean>;
}

/** The client-node implementation. */
export function kubeCapacityBufferClient(kc: KubeConfig): CapacityBufferClient {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const versionOf = (b: CapacityBufferObject): string => b.apiVersion.split('/')[1] ?? '';
  return {
    async served() {
      // A version not served answers 404; any other failure is a failure, not "absent" (auto mode
      // must not fall back to pods because discovery was briefly unreachable).
      const found: string[] = [];
      for (const version of BUFFER_VERSIONS) {
        try {
          const list = await custom.getAPIResources({ group: BUFFER_GROUP, version });
          if (list.resources.some((r) => r.name === BUFFER_PLURAL)) found.push(version);
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      }
      return pickVersion(found);
    },
    async list(version, namespace, selector) {
      const out = (await custom.listNamespacedCustomObject({ group: BUFFER_GROUP, version, namespace, plural: BUFFER_PLURAL, labelSelector: selector })) as { items?: CapacityBufferObject[] };
      return out.items ?? [];
    },
    async write(buffer) {
      const at = { group: BUFFER_GROUP, version: versionOf(buffer), namespace: buffer.metadata.namespace, plural: BUFFER_PLURAL };
      try {
        return (await custom.createNamespacedCustomObject({ ...at, body: buffer })) as CapacityBufferObject;
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
      const current = (await custom.getNamespacedCustomObject({ ...at, name: buffer.metadata.name })) as CapacityBufferObject;
      // SurgeGuard owns the spec; the status is the autoscaler's and a replace leaves it alone.
      const body = { ...buffer, metadata: { ...buffer.metadata, resourceVersion: current.metadata.resourceVersion } };
      return (await custom.replaceNamespacedCustomObject({ ...at, name: buffer.metadata.name, body })) as CapacityBufferObject;
    },
    async writeTemplate(template) {
      const namespace = template.metadata?.namespace ?? '';
      const name = template.metadata?.name ?? '';
      try {
        await core.createNamespacedPodTemplate({ namespace, body: template });
        return;
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
      const current = await core.readNamespacedPodTemplate({ namespace, name });
      await core.replaceNamespacedPodTemplate({ namespace, name, body: { ...template, metadata: { ...template.metadata, resourceVersion: current.metadata?.resourceVersion } } });
    },
    async delete(version, namespace, name) {
      let existed = true;
      try {
        await custom.deleteNamespacedCustomObject({ group: BUFFER_GROUP, version, namespace, plural: BUFFER_PLURAL, name });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        existed = false;
      }
      // The template is owned by the buffer and would be garbage-collected; deleting it here keeps
      // a cluster without the garbage collector (or a template written before its owner) clean too.
      try {
        await core.deleteNamespacedPodTemplate({ namespace, name });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
      return existed;
    },
  };
}

function statusOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}
