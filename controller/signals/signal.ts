/** What one scaler asks to measure. */
export type SignalSpec = { kind: 'kafka'; topic: string; consumerGroup: string } | PrometheusSignalSpec;

/**
 * A PromQL read. Without `match` the query must return one value. With `match` the query is a
 * batch query shared by many scalers (run once per tick) and this scaler's value is the one series
 * whose labels equal `match`. `invalid` carries a spec error: the source reports it without querying.
 */
export interface PrometheusSignalSpec {
  readonly kind: 'prometheus';
  readonly query: string;
  readonly match?: Readonly<Record<string, string>>;
  readonly invalid?: string;
}

export interface SignalRequest {
  /** namespace/name of the scaler. */
  readonly key: string;
  readonly signal: SignalSpec;
  /** Used by the Kafka signal to drain the current lag within a pod's startup time. */
  readonly startupSeconds: number;
}

/** A reading for one scaler: demand in requests per second, or why there is none. */
export type SignalReading =
  | { readonly ok: true; readonly rate: number; readonly detail: Readonly<Record<string, number>>; readonly partitions?: number }
  | { readonly ok: false; readonly error: string };

/** Reads the demand of many scalers in one pass (one Kafka read, one query each). */
export interface SignalSource {
  read(requests: readonly SignalRequest[], nowMs: number): Promise<Map<string, SignalReading>>;
  close(): Promise<void>;
}
