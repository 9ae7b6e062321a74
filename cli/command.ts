/** What a subcommand gets from the process: injected so tests run commands in-process. */
export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Resolves when the user asks the command to stop (SIGINT or SIGTERM). */
  readonly stopSignal: AbortSignal;
}

/** One `surgeguard <name>` subcommand. */
export interface Command {
  readonly name: string;
  /** One line for `surgeguard --help`. */
  readonly summary: string;
  /** Runs the command and resolves to the process exit code. */
  run(argv: readonly string[], io: CommandIO): Promise<number>;
}
