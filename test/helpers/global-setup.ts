// Loaded by `node --test --test-global-setup`: one run folder for the whole test run, so
// that each component starts once and test files share it (see infra/run.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopPid } from './infra/process.ts';

let dir: string | undefined;

export function globalSetup(): void {
  dir = mkdtempSync(join(tmpdir(), 'sg-run-'));
  process.env.SG_TEST_RUN_DIR = dir;
  process.env.SG_TEST_OWNER_PID = String(process.pid);
}

export async function globalTeardown(): Promise<void> {
  if (!dir) return;
  const pids = pidFiles(dir).map((f) => Number(readFileSync(f, 'utf8').trim())).filter((p) => p > 0);
  await Promise.all(pids.map((p) => stopPid(p, 15_000)));
  if (process.env.SG_KEEP_TEST_RUN) process.stderr.write(`test run folder kept: ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}

function pidFiles(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) out.push(...pidFiles(p));
    else if (name === 'pid' || name.endsWith('.pid')) out.push(p);
  }
  return out;
}
