import { spawn } from 'node:child_process';
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

/** Output beyond this is a broken program, not an answer: it is killed. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Kills the child's whole process group. nvidia-smi is often a wrapper script (containers,
 * MIG tooling) whose own children hold the output pipes: killing only the wrapper left them
 * running for ever, one set per timed-out cycle.
 */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

/**
 * The real process runner: the program runs in its own process group (`detached`), and at the
 * timeout or on abort the whole group gets SIGKILL, so a hung driver call cannot pile up
 * processes. The group is not killed after a normal exit: its id may then name another group.
 */
export const execProcess: ExecFn = (file, args, opts) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let failure: Error | undefined;
    const stop = (why: Error): void => {
      failure ??= why;
      killGroup(child.pid);
      // A grandchild that left the group could still hold the pipes; 'close' must not wait on it.
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timedOut = (): void => stop(new SurgeGuardError(ErrorCode.CollectorTimeout, `${file} did not answer within ${opts.timeoutMs} ms and was killed`, { details: { file } }));
    const timer = setTimeout(timedOut, opts.timeoutMs);
    opts.signal?.addEventListener('abort', timedOut, { once: true });
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) return stop(new SurgeGuardError(ErrorCode.CollectorFailed, `${file} wrote more than ${MAX_OUTPUT_BYTES} bytes and was killed`, { details: { file } }));
      into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    const done = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', timedOut);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      // ENOENT and EACCES come here, before any process exists: passed on as they are.
      done();
      reject(e);
    });
    // 'close', not 'exit': the output is complete only when every holder of the pipes is gone.
    child.on('close', (code, signal) => {
      done();
      if (failure) return reject(failure);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== null) return resolve({ stdout, stderr, exitCode: code });
      reject(new SurgeGuardError(ErrorCode.CollectorFailed, `${file} was killed by ${signal ?? 'a signal'}`, { details: { file, signal } }));
    });
    if (opts.signal?.aborted) timedOut();
  });
