import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { LeaseConflict, type LeaseRecord, type LeaseStore } from './elector.ts';

/** A LeaseStore on a coordination.k8s.io/v1 Lease object. */
export function kubeLeaseStore(kc: KubeConfig, namespace: string, name: string): LeaseStore {
  const api = kc.makeApiClient(CoordinationV1Api);
  const toRecord = (l: V1Lease): LeaseRecord => ({
    holderIdentity: l.spec?.holderIdentity ?? undefined,
    leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? undefined,
    // The client parses MicroTime into Date; keep the six-digit form the server wants back.
    acquireTime: l.spec?.acquireTime ? asMicro(l.spec.acquireTime) : undefined,
    renewTime: l.spec?.renewTime ? asMicro(l.spec.renewTime) : undefined,
    leaseTransitions: l.spec?.leaseTransitions ?? undefined,
    resourceVersion: l.metadata?.resourceVersion,
  });
  const toLease = (r: LeaseRecord): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}) },
    spec: {
      holderIdentity: r.holderIdentity,
      leaseDurationSeconds: r.leaseDurationSeconds,
      leaseTransitions: r.leaseTransitions,
      // Strings pass the client's serializer untouched, where a Date would lose 3 digits
      // and be refused by the API server (MicroTime needs exactly six).
      acquireTime: r.acquireTime as unknown as Date,
      renewTime: r.renewTime as unknown as Date,
    },
  });
  return {
    async get() {
      try {
        return toRecord(await api.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    async create(record) {
      try {
        return toRecord(await api.createNamespacedLease({ namespace, body: toLease(record) }));
      } catch (err) {
        if ((err as { code?: number }).code === 409) throw new LeaseConflict();
        throw err;
      }
    },
    async update(record) {
      try {
        return toRecord(await api.replaceNamespacedLease({ name, namespace, body: toLease(record) }));
      } catch (err) {
        if ((err as { code?: number }).code === 409) throw new LeaseConflict();
        throw err;
      }
    },
  };
}

function asMicro(t: Date | string): string {
  if (typeof t === 'string') return t;
  return t.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
