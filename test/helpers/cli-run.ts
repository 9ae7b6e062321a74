// Runs a CLI command in process, as `surgeguard` would, with its output captured: the tests of a
// command's flags read its exit code, what it printed and the files it wrote, never a child process.
import { Writable } from 'node:stream';
import { main } from '../../cli/main.ts';
import type { Command } from '../../cli/command.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `surgeguard <argv...>` with only `commands` known, run in `cwd`; logs at warn so stderr holds what matters. */
export async function runCli(argv: readonly string[], commands: readonly Command[], cwd: string): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void): Writable => new Writable({ write: (chunk: Buffer, _e, cb) => (add(chunk.toString()), cb()) });
  const io = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: { SURGEGUARD_LOG_LEVEL: 'warn' }, cwd, stopSignal: new AbortController().signal };
  const code = await main(argv, io, commands);
  return { code, stdout, stderr };
}
