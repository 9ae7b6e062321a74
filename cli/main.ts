import type { Command, CommandIO } from './command.ts';
import { commands as defaultCommands } from './commands/index.ts';
import { packageVersion } from './commands/version.ts';
import { ErrorCode, SurgeGuardError, errorMessage } from '../common/errors.ts';
import { EXIT_CODES_HELP, exitCodeOf } from './exit-codes.ts';

/** Top-level help, listing only the subcommands that exist. */
export function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: surgeguard <command> [options]',
    '',
    'Predictive autoscaling and self-healing for GPU inference fleets.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run "surgeguard <command> --help" for the options of one command.',
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}

/** Dispatches argv to a subcommand and returns the exit code; never calls process.exit. */
export async function main(argv: readonly string[], io: CommandIO, commands: readonly Command[] = defaultCommands): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(usage(commands));
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    io.stderr.write(`surgeguard: unknown command "${first}"\n\n${usage(commands)}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // Every error gets a code: one the user can look up, SG_INTERNAL for one nothing anticipated.
    const code = err instanceof SurgeGuardError ? err.code : ErrorCode.Internal;
    io.stderr.write(`surgeguard ${command.name}: ${code}: ${errorMessage(err)}\n`);
    return exitCodeOf(err);
  }
}
