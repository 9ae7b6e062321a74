import { execFile } from 'node:child_process';
import { ErrorCode, SurgeGuardError } from '../common/errors.ts';

/** What a finished process said. A non-zero exit is a result, not an exception. */
export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface ExecOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Runs a program without a shell. Rejects with an error whose `code` is `ENOENT` when the
 * program does not exist, and with SG_COLLECTOR_TIMEOUT when it was killed at the timeout.
 */
export type ExecFn = (file: string, args: readonly string[], opts: ExecOptions) => Promise<ExecResult>;

/** The real process runner: `execFile` with a timeout and SIGKILL, so a hung driver call cannot pile up. */
export const execProcess: ExecFn = (file, args, opts) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, signal: opts.signal, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr, exitCode: 0 });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number; signal?: string };
        if (e.code === 'ENOENT' || e.code === 'EACCES') return reject(e);
        if (e.killed || e.name === 'AbortError' || e.signal === 'SIGKILL') {
          return reject(new SurgeGuardError(ErrorCode.CollectorTimeout, `${file} did not answer within ${opts.timeoutMs} ms and was killed`, { cause: err, details: { file } }));
        }
        if (typeof e.code === 'number') return resolve({ stdout, stderr, exitCode: e.code });
        reject(err);
      },
    );
  });
