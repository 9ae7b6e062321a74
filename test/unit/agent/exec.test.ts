// The process runner against real processes: a hung nvidia-smi wrapper with children of its
// own, killed with its whole process group at the timeout.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { execProcess } from '../../../agent/exec.ts';
import { hasCode } from '../../../common/errors.ts';
import { alive, REPO_ROOT } from '../../helpers/infra/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-exec-'));
const HUNG = join(REPO_ROOT, 'test/fakes/nvidia-smi-hung-wrapper');
after(() => {
  // Whatever a failing run left behind is killed here, by the PIDs the fake wrote.
  for (const f of ['a.pids', 'b.pids']) {
    for (const pid of pidsIn(join(dir, f))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function pidsIn(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function survivors(pids: readonly number[], waitMs = 3000): Promise<number[]> {
  const deadline = Date.now() + waitMs;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(alive);
  }
  return left;
}

test('a hung wrapper and all its children are killed at the timeout: no orphan survives', async () => {
  const pidFile = join(dir, 'a.pids');
  process.env.FAKE_NVIDIA_SMI_PIDS = pidFile;
  const started = Date.now();
  await assert.rejects(execProcess(HUNG, ['--query-gpu=index'], { timeoutMs: 700 }), (err) => hasCode(err, 'SG_COLLECTOR_TIMEOUT') && /did not answer within 700 ms and was killed/.test((err as Error).message));
  assert.ok(Date.now() - started < 3000, 'the call returns soon after the timeout');
  const pids = pidsIn(pidFile);
  assert.equal(pids.length, 9, 'the fake started 8 children and itself');
  assert.deepEqual(await survivors(pids), [], 'processes of the hung call still running after its timeout');
});

test('an aborted call (the cycle timed out) kills the group too', async () => {
  const pidFile = join(dir, 'b.pids');
  process.env.FAKE_NVIDIA_SMI_PIDS = pidFile;
  const ac = new AbortController();
  const call = execProcess(HUNG, [], { timeoutMs: 60_000, signal: ac.signal });
  while (pidsIn(pidFile).length < 9) await sleep(20);
  ac.abort();
  await assert.rejects(call, (err) => hasCode(err, 'SG_COLLECTOR_TIMEOUT'));
  assert.deepEqual(await survivors(pidsIn(pidFile)), []);
});

test('output, exit codes and a missing program are reported as before', async () => {
  assert.deepEqual(await execProcess('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 5000 }), { stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
  assert.deepEqual(await execProcess('/bin/sh', ['-c', 'printf "%s" "$0"', 'a b'], { timeoutMs: 5000 }), { stdout: 'a b', stderr: '', exitCode: 0 });
  await assert.rejects(execProcess(join(dir, 'no-such-nvidia-smi'), [], { timeoutMs: 5000 }), (err) => (err as NodeJS.ErrnoException).code === 'ENOENT');
});
