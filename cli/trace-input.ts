import { ErrorCode, SurgeGuardError } from '../common/errors.ts';
import { DEFAULT_MAX_TRACE_MIB } from '../replay/trace-file.ts';
import { DEFAULT_MAX_GAP_INTERVALS } from '../replay/trace.ts';

/** The flags that bound what a trace file may cost, shared by `replay` and `demo`. */
export const TRACE_LIMIT_OPTIONS = {
  'max-trace-mib': { type: 'string' },
  'max-gap-intervals': { type: 'string' },
} as const;

/** Their lines in a command's help. */
export const TRACE_LIMITS_HELP = `  --max-trace-mib N       refuse a trace file larger than N MiB (default ${DEFAULT_MAX_TRACE_MIB})
  --max-gap-intervals N   refuse a gap (missing rows or empty values) longer than N intervals
                          instead of filling it with invented demand (default ${DEFAULT_MAX_GAP_INTERVALS})`;

/** The trace limits a user asked for, checked. */
export interface TraceLimits {
  readonly maxBytes: number;
  readonly maxTraceMib: number;
  readonly maxGapIntervals: number;
}

/** Reads `--max-trace-mib` and `--max-gap-intervals`; a bad value is a usage error naming the flag. */
export function traceLimits(v: { 'max-trace-mib'?: string | undefined; 'max-gap-intervals'?: string | undefined }): TraceLimits {
  const mib = v['max-trace-mib'] === undefined ? DEFAULT_MAX_TRACE_MIB : Number(v['max-trace-mib']);
  if (!(Number.isFinite(mib) && mib > 0) || v['max-trace-mib']?.trim() === '') throw bad('--max-trace-mib', 'a positive number of MiB', v['max-trace-mib']);
  const gap = v['max-gap-intervals'] === undefined ? DEFAULT_MAX_GAP_INTERVALS : Number(v['max-gap-intervals']);
  if (!(Number.isInteger(gap) && gap >= 0) || v['max-gap-intervals']?.trim() === '') throw bad('--max-gap-intervals', 'a whole number of intervals >= 0', v['max-gap-intervals']);
  return { maxBytes: Math.floor(mib * 1024 * 1024), maxTraceMib: mib, maxGapIntervals: gap };
}

function bad(flag: string, what: string, got: string | undefined): SurgeGuardError {
  return new SurgeGuardError(ErrorCode.UsageInvalid, `${flag} must be ${what}, got "${got ?? ''}"`, { details: { flag } });
}
