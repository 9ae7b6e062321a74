// surgeguard replay --panic: the flag reaches the engine and the JSON beside the output says so.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { runCli } from '../../helpers/cli-run.ts';

const trace = fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sg-replay-panic-'));

function replay(args: string[]): Promise<{ code: number; stderr: string }> {
  return runCli(['replay', ...args], [replayCommand], dir);
}

interface Meta {
  panic: boolean;
  decision_reasons: Record<string, number>;
}

test('--panic: bursts past twice the fleet are met at once (reason Panic), the JSON says panic; without it no Panic decision', async () => {
  const base = ['--trace', trace, '--capacity', '5', '--startup-steps', '1', '--no-compare', '--cpu'];
  const on = join(dir, 'on.csv');
  const off = join(dir, 'off.csv');
  const a = await replay([...base, '--panic', '--out', on]);
  assert.equal(a.code, 0, a.stderr);
  const b = await replay([...base, '--out', off]);
  assert.equal(b.code, 0, b.stderr);
  const metaOn = JSON.parse(readFileSync(`${on}.json`, 'utf8')) as Meta;
  const metaOff = JSON.parse(readFileSync(`${off}.json`, 'utf8')) as Meta;
  assert.equal(metaOn.panic, true);
  assert.equal(metaOff.panic, false);
  assert.ok((metaOn.decision_reasons.Panic ?? 0) > 0, JSON.stringify(metaOn.decision_reasons));
  assert.equal(metaOff.decision_reasons.Panic, undefined);
});
