import { ErrorCode, SurgeGuardError } from '../common/errors.ts';
import { DEFAULT_POLICY_FORECASTER, POLICY_FORECASTERS, type PolicyForecaster } from '../inference/forecaster.ts';

/** The `--forecaster` line of `replay` and `demo` help. */
export const FORECASTER_HELP = `  --forecaster NAME      what sizes the fleet: ${POLICY_FORECASTERS.join(' or ')} (default ${DEFAULT_POLICY_FORECASTER};
                         it measured better than the model on traces neither saw, bench/RESULTS.md)`;

/** Reads `--forecaster`; an unknown name is a usage error naming the choices. */
export function parseForecaster(value: string | undefined): PolicyForecaster {
  if (value === undefined) return DEFAULT_POLICY_FORECASTER;
  if ((POLICY_FORECASTERS as readonly string[]).includes(value)) return value as PolicyForecaster;
  throw new SurgeGuardError(ErrorCode.UsageInvalid, `--forecaster must be one of ${POLICY_FORECASTERS.join(', ')}, got "${value}"`);
}
