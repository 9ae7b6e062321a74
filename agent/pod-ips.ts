/**
 * The IPs of the pods running on this node, which `scope: node` uses to attribute a
 * partition to this node (its owning member's client host is one of them).
 */
export interface PodIpSource {
  /** The current set; undefined while the source has not synced yet (attribution waits). */
  ips(): ReadonlySet<string> | undefined;
  close?(): Promise<void>;
}

/** A fixed set, for tests and for hosts outside Kubernetes. */
export function staticPodIps(ips: Iterable<string>): PodIpSource {
  const set = new Set(ips);
  return { ips: () => set };
}
