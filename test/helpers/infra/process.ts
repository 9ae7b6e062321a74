import { spawn } from 'node:child_process';
import { readFileSync, existsSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { settlesWithin } from '../../../common/deadline.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SUPERVISOR = `${REPO_ROOT}scripts/infra/supervise.sh`;

/** A process started for tests, stopped by its PID. */
export interface Started {
  readonly pid: number;
  readonly log: string;
}

/**
 * Starts `cmd` under the supervisor, which stops it when `ownerPid` exits. The supervisor
 * gets its own session, so a Ctrl-C aimed at the test runner reaches the runner (whose exit
 * the supervisor notices) rather than killing the component half-way through a write.
 */
export async function startSupervised(opts: { cmd: string; args: readonly string[]; log: string; pidFile: string; ownerPid: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<Started> {
  closeSync(openSync(opts.log, 'a'));
  const child = spawn(SUPERVISOR, [String(opts.ownerPid), opts.pidFile, opts.log, '--', opts.cmd, ...opts.args], {
    detached: true,
    stdio: 'ignore',
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  child.unref();
  for (let i = 0; i < 100; i++) {
    const file = [opts.pidFile, `${opts.pidFile}.exited`].find((f) => existsSync(f));
    if (file) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return { pid, log: opts.log };
    }
    await sleep(20);
  }
  throw new Error(`supervisor did not start ${opts.cmd} (see ${opts.log})`);
}

/**
 * True while a process with this PID runs. A zombie counts as gone: in a container whose PID 1
 * does not reap, a component orphaned by its supervisor stays a zombie for ever, and waiting
 * for it to vanish would hang the run (it did, once, in CI).
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/PID/stat is "pid (comm) state ...": the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Sends SIGTERM, waits up to `graceMs`, then SIGKILL and waits up to 10 s more. Never hangs:
 * a process that outlives SIGKILL (stuck in the kernel) is reported on stderr and left.
 */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // exited between the check and the kill
  }
  const killDeadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < killDeadline) await sleep(50);
  if (alive(pid)) process.stderr.write(`stopPid: process ${pid} still there 10 s after SIGKILL; leaving it\n`);
}

/**
 * Runs test cleanups newest first, each bounded by `eachMs`, so one stuck step cannot hold a
 * test file until the runner's timeout; a slow step is named on stderr.
 */
export async function runCleanups(cleanups: Array<{ what: string; run: () => Promise<unknown> }>, eachMs = 60_000): Promise<void> {
  for (const c of [...cleanups].reverse()) {
    const t0 = Date.now();
    const finished = await settlesWithin(c.run(), eachMs);
    if (!finished) process.stderr.write(`cleanup "${c.what}" did not finish within ${eachMs} ms; moving on\n`);
    else if (Date.now() - t0 > 15_000) process.stderr.write(`cleanup "${c.what}" took ${Date.now() - t0} ms\n`);
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Polls `check` until it returns a value, the process dies, or the timeout passes. The
 * error names the component and includes the end of its log, since that is what an
 * engineer needs when CI fails at 3 a.m.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, opts: { timeoutMs: number; pid?: number; log?: string; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (opts.pid !== undefined && !alive(opts.pid)) break;
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(opts.intervalMs ?? 200);
  }
  const died = opts.pid !== undefined && !alive(opts.pid) ? ' (the process exited)' : '';
  const tail = opts.log ? `\n--- last lines of ${opts.log}:\n${tailOf(opts.log, 30)}` : '';
  const cause = lastError instanceof Error ? ` last error: ${lastError.message}` : '';
  throw new Error(`${what} did not become ready within ${opts.timeoutMs} ms${died}.${cause}${tail}`);
}

export function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a command to completion and returns stdout; rejects with stderr on failure. */
export async function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`))));
    // A command that exits without reading its input closes the pipe: ignore that EPIPE rather
    // than let it surface later as an uncaught exception in whichever test is running.
    child.stdin.on('error', () => undefined);
    if (opts.input) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
