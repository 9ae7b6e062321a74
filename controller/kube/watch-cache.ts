import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';

/** Objects of one kind kept current by a list-watch, read without a request. */
export interface WatchCache<T> {
  /** Every object, or those of one namespace (the cache indexes by namespace). */
  list(namespace?: string): readonly T[];
  /** One object by name (and namespace for a namespaced kind), from the cache's index. */
  get(name: string, namespace?: string): T | undefined;
  /** True once the first list has arrived; until then readers list from the API server. */
  synced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Restart delays of a watch cache; the defaults suit a real API server. */
export interface WatchBackoff {
  /** First delay after a failure. */
  initialMs: number;
  /** The delay doubles up to this cap. */
  maxMs: number;
  /** Uniform in [0, 1); each delay is drawn from [delay/2, delay) so replicas do not retry in step. */
  random: () => number;
}

export const DEFAULT_WATCH_BACKOFF: WatchBackoff = Object.freeze({ initialMs: 1000, maxMs: 30_000, random: Math.random });

/** One page of a list: the API server answers at most `limit` objects and a continue token for the rest. */
export interface ListPage {
  limit: number;
  _continue?: string;
}

/** Objects per page of the first list, as client-go's pager: a 30,000-pod list never sits in memory whole. */
export const LIST_PAGE_SIZE = 500;

export interface WatchCacheOptions {
  what: string;
  path: string;
  /** Lists one page (pass both fields to the API's list call). */
  list: (page: ListPage) => Promise<KubernetesListObject<KubernetesObject>>;
  labelSelector?: string;
  /**
   * What the cache keeps of each object, listed or watched (controller/kube/slim.ts): the
   * objects are kept for as long as the process runs, so only the fields some reader reads.
   */
  transform?: (o: KubernetesObject) => KubernetesObject;
  backoff?: WatchBackoff;
}

/**
 * A list-watch informer on `path` (the collection's URL path). The client's informer stops for
 * good on any error other than 410, so this restarts it with exponential backoff and jitter
 * (1 s doubling to 30 s). `what` names the kind in the log line.
 *
 * Synced means a list succeeded, not that the informer connected: client-node emits `connect`
 * before it lists, so an unreachable API server used to read as synced (and /readyz said ready)
 * and reset the backoff to 1 s on every attempt. The backoff resets only after a quiet spell
 * (twice the cap without a failure, as client-go's reflector does after a stable period), so a
 * dead API server, or one that lists but refuses the watch, is retried at 30 s, not every second.
 *
 * The first list goes in pages of LIST_PAGE_SIZE, each passed through `transform` before the next
 * is asked for, and watched objects pass through it too: what the cache holds, and the most it
 * holds while listing, is the projection, not whole objects (issue 21: 30,000 pods).
 */
export function watchCache<T>(
  kc: KubeConfig,
  logger: Logger,
  opts: WatchCacheOptions,
): WatchCache<T> {
  const backoff = opts.backoff ?? DEFAULT_WATCH_BACKOFF;
  let synced = false;
  let stopped = false;
  let delayMs = backoff.initialMs;
  let lastFailureAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const keep = opts.transform ?? ((o: KubernetesObject) => o);
  const listed = async (): Promise<KubernetesListObject<KubernetesObject>> => {
    const items: KubernetesObject[] = [];
    let page: KubernetesListObject<KubernetesObject>;
    let next: string | undefined;
    do {
      page = await opts.list({ limit: LIST_PAGE_SIZE, ...(next ? { _continue: next } : {}) });
      for (const o of page.items) items.push(keep(o));
      // Typed lists name it `_continue`; a custom resource's list comes as the JSON was (`continue`).
      next = page.metadata?._continue || (page.metadata as { continue?: string } | undefined)?.continue || undefined;
    } while (next);
    synced = true;
    // Every page carries the list's resourceVersion, which the watch starts from.
    return { ...page, items };
  };
  const watch = new Watch(kc);
  const transformed = {
    watch: (path: string, query: Record<string, string | number | boolean | undefined>, callback: (phase: string, obj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void) =>
      // An ERROR event carries a Status, not an object of the kind: passed on as it came.
      watch.watch(path, query, (phase, obj, watchObj) => callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : keep(obj as KubernetesObject), watchObj), done),
  } as Watch;
  const informer = new ListWatch<KubernetesObject>(opts.path, transformed, listed, false, opts.labelSelector || undefined);
  const restartLater = (err: unknown): void => {
    if (stopped) return;
    // A watch that ran for a while before failing starts over at the first delay; failures in
    // a row keep doubling.
    const at = Date.now();
    if (at - lastFailureAt > 2 * backoff.maxMs) delayMs = backoff.initialMs;
    lastFailureAt = at;
    const wait = Math.round(delayMs / 2 + (delayMs / 2) * backoff.random());
    logger.warn({ err: errorMessage(err), retryInMs: wait, synced }, `${opts.what} watch failed; restarting`);
    clearTimeout(timer);
    timer = setTimeout(() => {
      informer.start().catch(restartLater);
    }, wait);
    delayMs = Math.min(backoff.maxMs, delayMs * 2);
  };
  informer.on('error', restartLater);
  return {
    list: (namespace) => informer.list(namespace) as unknown as T[],
    get: (name, namespace) => informer.get(name, namespace) as T | undefined,
    synced: () => synced,
    async start() {
      stopped = false;
      // A first list that fails (API server not up yet) is reported through 'error' and
      // retried like any later error; start() itself resolves either way.
      await informer.start().catch(restartLater);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
}

/**
 * Objects this process wrote, laid over a watch cache's copies while the cache still holds the
 * version the write replaced. A loop that writes an object and reads it again on its next tick
 * must not see the version from before its own write: it would decide the same step again and
 * fail its resourceVersion-guarded write. A cache holding any other version has seen the write
 * (or a later one, such as a person's repair), so it wins and the entry is dropped; `keepMs`
 * bounds an entry whose watch never moves.
 */
export function ownWrites<T extends KubernetesObject>(keepMs: number): { wrote(replacedResourceVersion: string | undefined, obj: T, nowMs: number): void; over(cached: readonly T[], nowMs: number): T[] } {
  // `older`: the versions our latest write supersedes (two writes in one tick supersede two).
  const written = new Map<string, { obj: T; older: Set<string | undefined>; atMs: number }>();
  const keyOf = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  return {
    wrote(replaced, obj, nowMs) {
      const before = written.get(keyOf(obj));
      const older = before && before.obj.metadata?.resourceVersion === replaced ? new Set([...before.older, replaced]) : new Set([replaced]);
      written.set(keyOf(obj), { obj, older, atMs: nowMs });
    },
    over(cached, nowMs) {
      // Nodes come and go (autoscaling): an entry for one that left must not stay for ever.
      for (const [key, w] of written) if (nowMs - w.atMs > keepMs) written.delete(key);
      return cached.map((o) => {
        const key = keyOf(o);
        const w = written.get(key);
        if (!w) return o;
        if (!w.older.has(o.metadata?.resourceVersion)) {
          written.delete(key);
          return o;
        }
        return w.obj;
      });
    },
  };
}
