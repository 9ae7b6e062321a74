/**
 * Stable error codes. Operators grep for these and alerts may key on them, so a code
 * never changes meaning once released; add new ones instead.
 */
export const ErrorCode = {
  ConfigInvalid: 'SG_CONFIG_INVALID',
  ConfigUnreadable: 'SG_CONFIG_UNREADABLE',
  UsageInvalid: 'SG_USAGE_INVALID',
  InputInvalid: 'SG_INPUT_INVALID',
  CollectorFailed: 'SG_COLLECTOR_FAILED',
  CollectorTimeout: 'SG_COLLECTOR_TIMEOUT',
  ModelInvalid: 'SG_MODEL_INVALID',
  ForecastFailed: 'SG_FORECAST_FAILED',
  KubeRequestFailed: 'SG_KUBE_REQUEST_FAILED',
  KafkaRequestFailed: 'SG_KAFKA_REQUEST_FAILED',
  PrometheusRequestFailed: 'SG_PROMETHEUS_REQUEST_FAILED',
  /** A Prometheus answer that is not the JSON it should be: malformed, truncated, or of another shape (controller/signals/matrix-stream.ts). */
  PrometheusResponseInvalid: 'SG_PROMETHEUS_RESPONSE_INVALID',
  WebhookInvalid: 'SG_WEBHOOK_INVALID',
  Unauthorized: 'SG_UNAUTHORIZED',
  /** A server could not listen on the address it was given (in use, not local, not permitted). */
  ListenFailed: 'SG_LISTEN_FAILED',
  /** A write refused because this replica no longer holds the controller Lease (controller/leader/fence.ts). */
  NotLeader: 'SG_NOT_LEADER',
  Internal: 'SG_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error with a stable code, the context it happened in, and the original cause. */
export class SurgeGuardError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SurgeGuardError';
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

/** True when `err` is a SurgeGuardError with the given code. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof SurgeGuardError && err.code === code;
}

/** The message of anything thrown, for log lines. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
