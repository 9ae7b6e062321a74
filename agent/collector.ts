/**
 * The contract every collector implements. A collector samples on its own interval and
 * returns plain samples; the runner owns the metric objects, so a scrape only serializes
 * what the last cycle left and never waits on a device or a broker.
 */

import { ErrorCode, SurgeGuardError } from '../common/errors.ts';

/** One metric a collector may emit, declared up front so the registry knows it before the first cycle. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly labelNames: readonly string[];
  /**
   * Labels a sample may leave out (the holder of a GPU no pod holds): written only when the sample
   * has a non-empty value, as dcgm-exporter leaves them out, so a series without them costs nothing.
   */
  readonly optionalLabels?: readonly string[];
}

/** One value of one series. Labels must be the family's label names, all of them. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Returned by `collect` when the collector cannot apply on this node at all: not an error, and never asked again. */
export const DISABLED = Symbol('collector disabled');

/**
 * Returned by `collect` when what the collector reads is absent now but may appear later (a
 * driver installed after the agent started): the collector counts as disabled, not failing,
 * its `samples` say why, and the runner asks again after `retryAfterMs`.
 */
export interface Unavailable {
  readonly unavailable: true;
  readonly retryAfterMs: number;
  readonly samples: readonly Sample[];
}

/** Builds an {@link Unavailable} result. */
export function unavailable(retryAfterMs: number, samples: readonly Sample[] = []): Unavailable {
  return { unavailable: true, retryAfterMs, samples };
}

/** True for an {@link Unavailable} result. */
export function isUnavailable(r: unknown): r is Unavailable {
  return typeof r === 'object' && r !== null && (r as Partial<Unavailable>).unavailable === true;
}

/**
 * Thrown by a collector that could not read its source but has series saying why (the kernel
 * log is unreadable): the runner reports the cycle as failed and still serves these samples,
 * so a blind collector looks blind on /metrics instead of merely absent.
 */
export class BlindError extends SurgeGuardError {
  readonly samples: readonly Sample[];

  constructor(message: string, samples: readonly Sample[], options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(ErrorCode.CollectorFailed, message, options);
    this.name = 'BlindError';
    this.samples = samples;
  }
}

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
  /** Samples once. Throws on failure (a BlindError keeps its samples); DISABLED or Unavailable when it does not apply here. */
  collect(ctx: CollectContext): Promise<readonly Sample[] | typeof DISABLED | Unavailable>;
  /** Releases what the collector holds (connections, file handles). */
  close?(): Promise<void>;
}

/** Builds a family declaration; a small helper so collector files read as a table. */
export function family(name: string, type: MetricFamily['type'], help: string, labelNames: readonly string[]): MetricFamily {
  return { name, type, help, labelNames };
}

/** The family with labels its samples may leave out (see {@link MetricFamily.optionalLabels}). */
export function withOptionalLabels(f: MetricFamily, optionalLabels: readonly string[]): MetricFamily {
  return { ...f, optionalLabels };
}

/** A sample's labels as the family declares them: every required one (empty when missing), then the optional ones it has. */
export function sampleLabels(f: MetricFamily, s: Sample): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of f.labelNames) out[l] = s.labels[l] ?? '';
  for (const l of f.optionalLabels ?? []) {
    const v = s.labels[l];
    if (v) out[l] = v;
  }
  return out;
}
