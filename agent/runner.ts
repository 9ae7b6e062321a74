import type client from '@prometheus-io/client';
import type { Logger } from '../common/logger.ts';
import type { MetricRegistry } from '../common/metrics.ts';
import { ErrorCode, SurgeGuardError, errorMessage } from '../common/errors.ts';
import type { BridgeFamily } from '../common/otlp/families.ts';
import { BlindError, DISABLED, isUnavailable, sampleLabels, type Collector, type Sample, type Unavailable } from './collector.ts';
import { checkFamily, renderFamilies } from './exposition.ts';
import { createRepeatLimiter, type RepeatLimiter } from './repeat-limiter.ts';

/** One collector's last good samples and their serializations, made on first use. */
interface Cached {
  samples: readonly Sample[];
  text?: Buffer;
  openMetrics?: Buffer;
}

/** Called around every cycle; the tracing hook uses it to make one span per cycle. */
export interface CycleObserver {
  cycle<T>(collector: string, run: () => Promise<T>): Promise<T>;
}

export interface RunnerDeps {
  readonly registry: MetricRegistry;
  readonly logger: Logger;
  /** Wall clock in milliseconds; injected so tests control timestamps. */
  readonly now?: () => number;
  readonly observer?: CycleObserver;
  /**
   * A failure that repeats (same collector, same code) is logged once, then at most once per
   * this many milliseconds with the count left out; 5 minutes by default.
   */
  readonly repeatLogIntervalMillis?: number;
}

/** What the runner knows about one collector, for /readyz and tests. */
export interface CollectorState {
  readonly name: string;
  enabled: boolean;
  cycles: number;
  lastSuccess: boolean | undefined;
  lastError: string | undefined;
}

/**
 * Runs each collector on its own interval, isolated from the others, with a timeout, and
 * swaps each cycle's samples in one synchronous step, so that a scrape (which only serializes
 * what is cached) never sees half a cycle and never waits on a device. The serialized text of
 * a collector is kept until its next cycle: scrapes between cycles cost a concatenation.
 */
export class CollectorRunner {
  readonly states = new Map<string, CollectorState>();
  private readonly cache = new Map<string, Cached>();
  /** All collectors' series as one buffer per format, rebuilt after any collector's cycle. */
  private joined: { text?: Buffer; openMetrics?: Buffer } = {};
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly generation = new Map<string, number>();
  private readonly deps: RunnerDeps;
  private readonly collectors: readonly Collector[];
  private readonly success: client.Gauge<'collector'>;
  private readonly duration: client.Gauge<'collector'>;
  private readonly lastSuccessTs: client.Gauge<'collector'>;
  private readonly enabled: client.Gauge<'collector'>;
  private readonly repeats: RepeatLimiter;
  /** Collectors that answered DISABLED: never run again. */
  private readonly retired = new Set<string>();
  private stopped = false;

  constructor(deps: RunnerDeps, collectors: readonly Collector[]) {
    this.deps = deps;
    this.collectors = collectors;
    this.repeats = createRepeatLimiter(deps.repeatLogIntervalMillis ?? 300_000);
    const r = deps.registry;
    this.success = r.gauge('surgeguard_collector_success', 'Whether the last cycle of the collector succeeded (1) or failed (0).', ['collector']);
    this.duration = r.gauge('surgeguard_collector_duration_seconds', 'How long the last cycle of the collector took.', ['collector']);
    this.lastSuccessTs = r.gauge('surgeguard_collector_last_success_timestamp_seconds', 'Unix time of the last successful cycle of the collector.', ['collector']);
    this.enabled = r.gauge('surgeguard_collector_enabled', 'Whether the collector runs on this node (0 when it does not apply, such as gpu without nvidia-smi).', ['collector']);
    for (const c of collectors) {
      this.states.set(c.name, { name: c.name, enabled: true, cycles: 0, lastSuccess: undefined, lastError: undefined });
      this.enabled.set({ collector: c.name }, 1);
      c.families.forEach(checkFamily);
    }
  }

  /** Starts every collector's loop; the first cycles start at once. */
  start(): void {
    for (const c of this.collectors) this.schedule(c, 0);
  }

  /**
   * Runs one cycle of every collector now, one after the other in registration order, so the
   * gpu inventory is filled before the collectors that label by it (tests, benchmarks). A
   * collector that answered DISABLED is skipped; one that is unavailable for now is asked again.
   */
  async runOnce(): Promise<void> {
    for (const c of this.collectors) if (!this.retired.has(c.name)) await this.cycle(c);
  }

  /** True once every enabled collector has finished one cycle, successful or not. */
  ready(): boolean {
    return [...this.states.values()].every((s) => !s.enabled || s.cycles > 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled(this.collectors.map((c) => c.close?.()));
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }

  /**
   * The collectors' series in the text format or OpenMetrics (without `# EOF`), from the cache:
   * one UTF-8 buffer per collector, encoded once per cycle (encoding 600 kB on every scrape was
   * the largest cost left in a profile).
   */
  expositionBuffers(openMetrics: boolean): Buffer[] {
    const out: Buffer[] = [];
    for (const c of this.collectors) {
      const entry = this.cache.get(c.name);
      if (!entry) continue;
      if (openMetrics) out.push((entry.openMetrics ??= Buffer.from(renderFamilies(c.families, entry.samples, true))));
      else out.push((entry.text ??= Buffer.from(renderFamilies(c.families, entry.samples, false))));
    }
    return out;
  }

  /** Every collector's series in one buffer, kept until the next cycle ends: scrapes allocate nothing large. */
  expositionBuffer(openMetrics: boolean): Buffer {
    if (openMetrics) return (this.joined.openMetrics ??= Buffer.concat(this.expositionBuffers(true)));
    return (this.joined.text ??= Buffer.concat(this.expositionBuffers(false)));
  }

  /**
   * The collectors' cached series as metric families, with exactly the labels and values that
   * /metrics renders from the same cache; the OTLP export reads these.
   */
  families(): BridgeFamily[] {
    const out: BridgeFamily[] = [];
    for (const c of this.collectors) {
      const entry = this.cache.get(c.name);
      if (!entry) continue;
      const byName = new Map<string, Sample[]>();
      for (const s of entry.samples) {
        const list = byName.get(s.name);
        if (list) list.push(s);
        else byName.set(s.name, [s]);
      }
      for (const f of c.families) {
        const samples = byName.get(f.name);
        if (samples) out.push({ name: f.name, help: f.help, type: f.type, points: samples.map((s) => ({ labels: sampleLabels(f, s), value: s.value })) });
      }
    }
    return out;
  }

  /** The same as text, for tests and tools. */
  exposition(openMetrics: boolean): string {
    return this.expositionBuffer(openMetrics).toString('utf8');
  }

  private schedule(c: Collector, delayMs: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      const started = this.now();
      void this.cycle(c).then((retryAfterMs) => {
        if (retryAfterMs !== undefined) this.schedule(c, retryAfterMs);
        else if (this.states.get(c.name)?.enabled) this.schedule(c, Math.max(0, c.intervalMs - (this.now() - started)));
      });
    }, delayMs);
    this.timers.set(c.name, t);
  }

  /** Runs one cycle; returns when to try again if the collector said it is unavailable for now. */
  private async cycle(c: Collector): Promise<number | undefined> {
    const state = this.states.get(c.name);
    if (!state) return undefined;
    const gen = (this.generation.get(c.name) ?? 0) + 1;
    this.generation.set(c.name, gen);
    const started = performance.now();
    const nowMs = this.now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new SurgeGuardError(ErrorCode.CollectorTimeout, `collector ${c.name} did not finish within ${c.timeoutMs} ms`, { details: { collector: c.name } }));
      }, c.timeoutMs);
    });
    const run = (): Promise<readonly Sample[] | typeof DISABLED | Unavailable> => Promise.race([c.collect({ signal: controller.signal, nowMs }), timeout]);
    try {
      const result = this.deps.observer ? await this.deps.observer.cycle(c.name, run) : await run();
      // A cycle that finished after a newer one started (it ignored its abort) is stale.
      if (gen !== this.generation.get(c.name)) return undefined;
      if (result === DISABLED) return this.disable(c, state);
      if (isUnavailable(result)) return this.unavailable(c, state, result);
      this.succeeded(c, state, result, nowMs);
    } catch (err) {
      this.failed(c, state, err, nowMs);
    } finally {
      clearTimeout(timer);
      state.cycles++;
      this.duration.set({ collector: c.name }, (performance.now() - started) / 1000);
    }
    return undefined;
  }

  private succeeded(c: Collector, state: CollectorState, samples: readonly Sample[], nowMs: number): void {
    if (!state.enabled) {
      state.enabled = true;
      this.enabled.set({ collector: c.name }, 1);
      this.deps.logger.info({ collector: c.name }, 'collector applies on this node now; enabled');
    }
    this.apply(c, samples);
    this.success.set({ collector: c.name }, 1);
    this.lastSuccessTs.set({ collector: c.name }, nowMs / 1000);
    if (state.lastSuccess === false) {
      const suppressed = this.repeats.reset(`${c.name}/`);
      this.deps.logger.info({ collector: c.name, suppressedRepeats: suppressed }, 'collector recovered');
    }
    state.lastSuccess = true;
    state.lastError = undefined;
  }

  /**
   * A failed cycle: the collector's series go (a BlindError's own series, which say why it is
   * blind, stay), success is 0, and the error is logged as one line without a stack, once per
   * collector and code, then at most once per repeat interval with the count left out.
   */
  private failed(c: Collector, state: CollectorState, err: unknown, nowMs: number): void {
    if (err instanceof BlindError) this.apply(c, err.samples);
    else this.clear(c);
    this.success.set({ collector: c.name }, 0);
    state.lastSuccess = false;
    state.lastError = errorMessage(err);
    const code = err instanceof SurgeGuardError ? err.code : ErrorCode.CollectorFailed;
    const logged = this.repeats.hit(`${c.name}/${code}`, nowMs);
    if (logged) {
      const cause = err instanceof Error && err.cause !== undefined ? errorMessage(err.cause) : undefined;
      this.deps.logger.warn({ collector: c.name, code, error: state.lastError, ...(cause && !state.lastError.includes(cause) ? { cause } : {}), suppressedRepeats: logged.suppressed }, 'collector cycle failed');
    }
    this.deps.logger.debug({ collector: c.name, code, err }, 'collector cycle failed (with stack)');
  }

  private unavailable(c: Collector, state: CollectorState, result: Unavailable): number {
    if (state.enabled) {
      state.enabled = false;
      this.enabled.set({ collector: c.name }, 0);
      this.success.remove({ collector: c.name });
    }
    this.apply(c, result.samples);
    return result.retryAfterMs;
  }

  private disable(c: Collector, state: CollectorState): undefined {
    state.enabled = false;
    this.retired.add(c.name);
    this.clear(c);
    this.enabled.set({ collector: c.name }, 0);
    this.success.remove({ collector: c.name });
    this.duration.remove({ collector: c.name });
    this.deps.logger.debug({ collector: c.name }, 'collector does not apply on this node; disabled');
    return undefined;
  }

  private clear(c: Collector): void {
    this.cache.delete(c.name);
    this.joined = {};
  }

  /** Replaces the collector's series with this cycle's samples; synchronous, so scrapes see all or nothing. */
  private apply(c: Collector, samples: readonly Sample[]): void {
    const known = new Set(c.families.map((f) => f.name));
    this.cache.set(c.name, { samples: samples.filter((s) => known.has(s.name) && Number.isFinite(s.value)) });
    this.joined = {};
  }
}
