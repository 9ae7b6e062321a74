import { createHash } from 'node:crypto';

/** 48 bits of SHA-256: spread well enough that rendezvous scores never favour a name's shape. */
function score(text: string): number {
  return createHash('sha256').update(text).digest().readUIntBE(0, 6);
}

/**
 * The shard of a shard key (shard-key.ts: a scaler's `namespace/name`, or `gpu:<resource>` for the
 * scalers of a GPU pool): fixed for a given shard count, whoever the replicas are.
 */
export function shardOf(key: string, shards: number): number {
  return shards <= 1 ? 0 : score(`scaler/${key}`) % shards;
}

/** The members in the order shard `shard` prefers them: highest rendezvous score first, ties by name. */
export function preferenceOf(shard: number, members: readonly string[]): string[] {
  const scored = members.map((m) => ({ m, s: score(`shard/${shard}/${m}`) }));
  scored.sort((a, b) => b.s - a.s || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0));
  return scored.map((x) => x.m);
}

/**
 * Owner of every shard `0..shards-1` over `members` (all undefined with no members): rendezvous
 * (highest random weight) hashing with bounded loads. Each shard, in index order, goes to the
 * member it scores highest among those holding fewer than ceil(shards / members). Every replica
 * computes the same answer from the same member set with nothing shared but the set; plain
 * rendezvous moves only the shards of a member that leaves (or that a joining member now wins)
 * but on 32 shards over 3 members leaves one with 30% more scalers than another; the bound keeps
 * loads within one shard of each other for a few more moves (docs/sharding.md, "Why rendezvous").
 */
export function assignShards(shards: number, members: readonly string[]): Array<string | undefined> {
  const sorted = [...new Set(members)].sort();
  if (sorted.length === 0) return Array.from({ length: shards }, () => undefined);
  const cap = Math.ceil(shards / sorted.length);
  const load = new Map<string, number>(sorted.map((m) => [m, 0]));
  return Array.from({ length: shards }, (_, shard) => {
    const m = preferenceOf(shard, sorted).find((x) => (load.get(x) ?? 0) < cap) as string;
    load.set(m, (load.get(m) ?? 0) + 1);
    return m;
  });
}
