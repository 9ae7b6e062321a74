// Loaded by `node --test --test-global-setup`: one run folder for the whole test run, so
// that each component starts once and test files share it (see infra/run.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
  // Node can call this twice (after the run, and again as the process exits); the second finds nothing to do.
  const run = dir;
  dir = undefined;
  if (!run) return;
  try {
    const pids = pidFiles(run)
      .map(readPid)
      .filter((p) => p > 0);
    await Promise.all(pids.map((p) => stopPid(p, 15_000)));
    if (process.env.SG_KEEP_TEST_RUN) process.stderr.write(`test run folder kept: ${run}\n`);
    else rmSync(run, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    // Node's runner exits 1 on a teardown error and prints nothing (Node 24), so a run whose
    // every test passed would look failed with no cause: name it here.
    process.stderr.write(`test run teardown failed in ${run}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    throw e;
  }
}

// The walk runs while Kafka and Prometheus still write and delete their data files, so an entry
// gone between listing and reading is skipped, not an error (one made a green local run read "1 failed").
function pidFiles(root: string): string[] {
  const out: string[] = [];
  for (const entry of ifPresent(() => readdirSync(root, { withFileTypes: true }), [])) {
    const p = join(root, entry.name);
    if (entry.isDirectory()) out.push(...pidFiles(p));
    else if (entry.name === 'pid' || entry.name.endsWith('.pid')) out.push(p);
  }
  return out;
}

function readPid(file: string): number {
  return Number(ifPresent(() => readFileSync(file, 'utf8'), '').trim());
}

function ifPresent<T>(read: () => T, otherwise: T): T {
  try {
    return read();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return otherwise;
    throw e;
  }
}
