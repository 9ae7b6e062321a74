import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { ErrorCode, SurgeGuardError } from '../common/errors.ts';

/**
 * Parses a subcommand's flags strictly (unknown flags are errors) and adds `-h/--help`. A
 * mistake becomes a usage error that carries the command's help text.
 */
export function parseFlags<O extends ParseArgsOptionsConfig>(argv: readonly string[], options: O, help: string): ReturnType<typeof parseArgs<{ options: O & { help: { type: 'boolean'; short: 'h' } }; strict: true }>>['values'] {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } } as O & { help: { type: 'boolean'; short: 'h' } }, strict: true }).values;
  } catch (cause) {
    throw new SurgeGuardError(ErrorCode.UsageInvalid, `${(cause as Error).message}\n\n${help}`, { cause });
  }
}
