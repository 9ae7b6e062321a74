/**
 * The contract every collector implements. A collector samples on its own interval and
 * returns plain samples; the runner owns the metric objects, so a scrape only serializes
 * what the last cycle left and never waits on a device or a broker.
 */

/** One metric a collector may emit, declared up front so the registry knows it before the first cycle. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly labelNames: readonly string[];
}

/** One value of one series. Labels must be the family's label names, all of them. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Returned by `collect` when the collector cannot apply on this node (no nvidia-smi): not an error. */
export const DISABLED = Symbol('collector disabled');

export interface CollectContext {
  /** Aborts when the cycle's timeout passes; a collector passes it to whatever it waits on. */
  readonly signal: AbortSignal;
  /** Wall-clock milliseconds at the start of the cycle (injected clock). */
  readonly nowMs: number;
}

/** A collector: one per file under `agent/collectors/`, built by a factory taking `(deps, config)`. */
export interface Collector {
  readonly name: string;
  readonly intervalMs: number;
  /** How long one cycle may take before it is aborted and reported as failed. */
  readonly timeoutMs: number;
  readonly families: readonly MetricFamily[];
  /** Samples once. Throws on failure; returns DISABLED when the collector does not apply here. */
  collect(ctx: CollectContext): Promise<readonly Sample[] | typeof DISABLED>;
  /** Releases what the collector holds (connections, file handles). */
  close?(): Promise<void>;
}

/** Builds a family declaration; a small helper so collector files read as a table. */
export function family(name: string, type: MetricFamily['type'], help: string, labelNames: readonly string[]): MetricFamily {
  return { name, type, help, labelNames };
}
