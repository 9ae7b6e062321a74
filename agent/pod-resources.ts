import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';

/**
 * The kubelet's published pod-resources v1 API definition: beside this module in the sources,
 * and in the package's `agent/` folder when running from `dist/agent/` (tsc copies no .proto).
 */
export const POD_RESOURCES_PROTO = [new URL('./podresources-v1.proto', import.meta.url), new URL('../../agent/podresources-v1.proto', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((f) => existsSync(f)) ?? fileURLToPath(new URL('./podresources-v1.proto', import.meta.url));

/** One device allocation: which pod and container hold a device of a resource. */
export interface DeviceAllocation {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly resourceName: string;
  readonly deviceId: string;
}

/** Lists the devices the kubelet has allocated to containers on this node. */
export interface PodResourcesClient {
  /** Undefined when the socket is not mounted (the feature is off, not failing). */
  list(deadlineMs: number): Promise<DeviceAllocation[] | undefined>;
  close(): void;
}

interface ListResponse {
  pod_resources?: Array<{ name?: string; namespace?: string; containers?: Array<{ name?: string; devices?: Array<{ resource_name?: string; device_ids?: string[] }> }> }>;
}

type ListerClient = grpc.Client & { List(req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: ListResponse) => void): void };

/**
 * Loads gRPC and the service definition (shared with the test server, which serves the same
 * proto). Imported on first use: nodes without the kubelet socket never load gRPC.
 */
export async function loadPodResourcesService(): Promise<{ grpc: typeof grpc; Lister: grpc.ServiceClientConstructor }> {
  const [g, protoLoader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  const def = protoLoader.loadSync(POD_RESOURCES_PROTO, { keepCase: true, longs: Number, defaults: true, arrays: true });
  const pkg = g.loadPackageDefinition(def) as unknown as { v1: { PodResourcesLister: grpc.ServiceClientConstructor } };
  return { grpc: g, Lister: pkg.v1.PodResourcesLister };
}

/** A client of the kubelet's pod-resources socket (`unix:///var/lib/kubelet/pod-resources/kubelet.sock`). */
export function podResourcesClient(socketPath: string): PodResourcesClient {
  let client: ListerClient | undefined;
  return {
    async list(deadlineMs) {
      if (!existsSync(socketPath)) return undefined;
      if (!client) {
        const { grpc: g, Lister } = await loadPodResourcesService();
        client = new Lister(`unix://${socketPath}`, g.credentials.createInsecure()) as unknown as ListerClient;
      }
      const c = client;
      return new Promise((resolve, reject) => {
        c.List({}, { deadline: Date.now() + deadlineMs }, (err, res) => {
          if (err) return reject(err);
          const out = flatten(res);
          resolve(out);
        });
      });
    },
    close() {
      client?.close();
      client = undefined;
    },
  };
}

function flatten(res: ListResponse | undefined): DeviceAllocation[] {
  const out: DeviceAllocation[] = [];
  for (const p of res?.pod_resources ?? []) {
    for (const ctr of p.containers ?? []) {
      const devices = (ctr.devices ?? []).flatMap((d) => (d.device_ids ?? []).map((id) => ({ resourceName: d.resource_name ?? '', deviceId: id })));
      for (const d of devices) out.push({ namespace: p.namespace ?? '', pod: p.name ?? '', container: ctr.name ?? '', ...d });
    }
  }
  return out;
}
