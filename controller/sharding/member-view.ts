/** What the membership view reads from a Lease. */
export interface MemberLease {
  name: string;
  holderIdentity?: string;
  renewTime?: string;
  leaseDurationSeconds?: number;
  /** The object's version and uid as listed: the preconditions of a delete (never one renewed since). */
  resourceVersion?: string;
  uid?: string;
}

export interface MemberView {
  /**
   * Takes the member Leases listed now and returns the identities alive, sorted: a Lease is alive
   * while it has a holder and changed (holder or renew time) within its duration as measured on
   * this process's clock since this process saw the change, the rule leader election uses, so
   * clocks of different nodes are never compared.
   */
  update(leases: readonly MemberLease[]): string[];
  /**
   * The Leases of the last update that have not changed (holder or renew time) for at least
   * `afterMs` on this process's clock: garbage, whoever held them. Seen first counts as just
   * changed, so a replica that just started deletes nothing for `afterMs`.
   */
  stale(afterMs: number): MemberLease[];
}

/** The live members seen through their Leases (pure apart from the injected clock). */
export function createMemberView(now: () => number, defaultDurationSeconds: number): MemberView {
  const seen = new Map<string, { holder?: string; renewTime?: string; at: number; lease: MemberLease }>();
  let lastAt = 0;
  return {
    update(leases) {
      const t = now();
      lastAt = t;
      const live = new Set<string>();
      const names = new Set<string>();
      for (const l of leases) {
        names.add(l.name);
        const prev = seen.get(l.name);
        if (!prev || prev.holder !== l.holderIdentity || prev.renewTime !== l.renewTime) seen.set(l.name, { holder: l.holderIdentity, renewTime: l.renewTime, at: t, lease: l });
        // The latest listing's version: a delete's precondition must name the object as it is now.
        else prev.lease = l;
        const s = seen.get(l.name) as { at: number };
        if (l.holderIdentity && t - s.at < (l.leaseDurationSeconds ?? defaultDurationSeconds) * 1000) live.add(l.holderIdentity);
      }
      for (const n of [...seen.keys()]) if (!names.has(n)) seen.delete(n);
      return [...live].sort();
    },
    stale(afterMs) {
      return [...seen.values()].filter((s) => lastAt - s.at >= afterMs).map((s) => s.lease);
    },
  };
}

/** A Lease name for an identity under a prefix: lowercase, DNS characters only, at most 253. */
export function memberLeaseName(prefix: string, identity: string): string {
  const safe = identity.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/[^a-z0-9]+$/, '');
  return `${prefix}${safe || 'x'}`.slice(0, 253);
}
