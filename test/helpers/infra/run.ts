import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive } from './process.ts';

/**
 * The test run the current process belongs to. The global setup (test/helpers/global-setup.ts)
 * creates one per `node --test` run and passes it down in the environment, so every test file
 * shares the components it started; a test file run on its own gets a private run.
 */
export interface RunContext {
  readonly dir: string;
  /** Components stop when this process exits (see scripts/infra/supervise.sh). */
  readonly ownerPid: number;
}

let own: RunContext | undefined;

export function runContext(): RunContext {
  const dir = process.env.SG_TEST_RUN_DIR;
  const owner = Number(process.env.SG_TEST_OWNER_PID);
  if (dir && owner > 0) return { dir, ownerPid: owner };
  own ??= { dir: mkdtempSync(join(tmpdir(), 'sg-test-')), ownerPid: process.pid };
  return own;
}

/** A fresh folder inside the run, for one component or test. */
export function runSubdir(ctx: RunContext, name: string): string {
  const d = mkdtempSync(join(ctx.dir, `${name}-`));
  return d;
}

/** Holds a lock (an atomic mkdir) on `name` in the run while `fn` runs. */
export async function withLock<T>(ctx: RunContext, name: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(ctx.dir, `${name}.lock`);
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      // Held by another test file; break it only if its holder died mid-start.
      const holder = Number(safeRead(join(lock, 'pid')));
      if (holder > 0 && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lock}`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Starts a component once per run and returns its details to every caller. The details
 * are kept as JSON in the run folder; a component whose process died is started again.
 */
export async function shared<T extends { pid: number }>(name: string, start: (ctx: RunContext) => Promise<T>): Promise<T> {
  const ctx = runContext();
  return withLock(ctx, name, async () => {
    const file = join(ctx.dir, `${name}.json`);
    if (existsSync(file)) {
      const info = JSON.parse(readFileSync(file, 'utf8')) as T;
      if (alive(info.pid)) return info;
    }
    const info = await start(ctx);
    writeFileSync(file, JSON.stringify(info, null, 2));
    return info;
  });
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}
