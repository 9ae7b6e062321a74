import { ErrorCode, SurgeGuardError } from '../common/errors.ts';

/**
 * Exit codes, the same for every command (and printed in each command's help):
 * 0 done; 1 failed while running; 2 bad usage, configuration or input.
 */
export const ExitCode = { Ok: 0, Failed: 1, BadInput: 2 } as const;

/** The help text's paragraph on exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0  done (agent, controller, demo: stopped by Ctrl-C or SIGTERM)
  1  failed while running: cannot listen (SG_LISTEN_FAILED), model or internal errors
  2  bad usage, configuration or input: flags (SG_USAGE_INVALID), config (SG_CONFIG_*),
     a trace or Prometheus source that cannot be used (SG_INPUT_INVALID, SG_PROMETHEUS_REQUEST_FAILED)
`;

/** Codes that mean "what you gave cannot be used": fixing the input fixes the run. */
const BAD_INPUT: ReadonlySet<string> = new Set([ErrorCode.UsageInvalid, ErrorCode.ConfigInvalid, ErrorCode.ConfigUnreadable, ErrorCode.InputInvalid, ErrorCode.PrometheusRequestFailed]);

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  return err instanceof SurgeGuardError && BAD_INPUT.has(err.code) ? ExitCode.BadInput : ExitCode.Failed;
}
