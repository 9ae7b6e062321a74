// Item 12 of issue 15: every command ends with one coded line and the same exit code for the same
// kind of failure, as its help says.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Command } from '../../../cli/command.ts';
import { demoCommand } from '../../../cli/commands/demo.ts';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { ErrorCode, SurgeGuardError } from '../../../common/errors.ts';
import { runCli, type CliRun } from '../../helpers/cli-run.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-cli-'));

function run(commands: readonly Command[], argv: string[]): Promise<CliRun> {
  return runCli(argv, commands, dir);
}

const throwing = (err: unknown): Command => ({ name: 'x', summary: 'throws', run: async () => Promise.reject(err) });

test('the same bad trace exits 2 in demo and in replay, with the same coded line', async () => {
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'timestamp,value\n2015-01-01 00:00:00,1\n2015-01-01 00:05:00,2\n2015-01-01 00:01:00,3\n');
  const line = `SG_INPUT_INVALID: ${bad}:4: row is earlier than the row before it (line 3); rows must be in time order\n`;
  const demo = await run([demoCommand], ['demo', '--trace', bad, '--no-agent']);
  const replay = await run([replayCommand], ['replay', '--trace', bad, '--capacity', '1']);
  assert.deepEqual([demo.code, demo.stderr], [2, `surgeguard demo: ${line}`]);
  assert.deepEqual([replay.code, replay.stderr], [2, `surgeguard replay: ${line}`]);
});

test('exit codes by error code: bad input 2, failures while running 1; an error without a code gets SG_INTERNAL, never a bare message', async () => {
  const cases: [unknown, number, RegExp][] = [
    [new SurgeGuardError(ErrorCode.UsageInvalid, 'u'), 2, /^surgeguard x: SG_USAGE_INVALID: u\n$/],
    [new SurgeGuardError(ErrorCode.ConfigInvalid, 'c'), 2, /^surgeguard x: SG_CONFIG_INVALID: c\n$/],
    [new SurgeGuardError(ErrorCode.ConfigUnreadable, 'k'), 2, /^surgeguard x: SG_CONFIG_UNREADABLE: k\n$/],
    [new SurgeGuardError(ErrorCode.InputInvalid, 'i'), 2, /^surgeguard x: SG_INPUT_INVALID: i\n$/],
    [new SurgeGuardError(ErrorCode.PrometheusRequestFailed, 'p'), 2, /^surgeguard x: SG_PROMETHEUS_REQUEST_FAILED: p\n$/],
    [new SurgeGuardError(ErrorCode.ListenFailed, 'l'), 1, /^surgeguard x: SG_LISTEN_FAILED: l\n$/],
    [new RangeError('Invalid array length'), 1, /^surgeguard x: SG_INTERNAL: Invalid array length\n$/],
  ];
  for (const [err, code, line] of cases) {
    const r = await run([throwing(err)], ['x']);
    assert.equal(r.code, code, String(err));
    assert.match(r.stderr, line);
  }
});

test('the exit codes are in the top-level help and in each command\'s', async () => {
  const top = await run([replayCommand], ['--help']);
  assert.match(top.stdout, /Exit codes:\n {2}0 .*\n {2}1 +failed while running.*\n {2}2 +bad usage, configuration or input/);
  for (const [command, name] of [[demoCommand, 'demo'], [replayCommand, 'replay']] as const) {
    assert.match((await run([command], [name, '--help'])).stdout, /Exit codes:\n {2}0 /, name);
  }
  const { agentCommand } = await import('../../../cli/commands/agent.ts');
  const { controllerCommand } = await import('../../../cli/commands/controller.ts');
  assert.match((await run([agentCommand], ['agent', '--help'])).stdout, /Exit codes:/);
  assert.match((await run([controllerCommand], ['controller', '--help'])).stdout, /Exit codes:/);
});
