// surgeguard replay --schedule: the controller's campaign windows on a recorded trace, and the file's errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { replayCommand } from '../../../cli/commands/replay.ts';
import { runCli } from '../../helpers/cli-run.ts';
import { onReplayClock, parseScheduleFile } from '../../../replay/schedule-file.ts';
import { ErrorCode, SurgeGuardError } from '../../../common/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-replay-schedule-'));
// 120 minutes of 100 requests, 300 from minute 60 to 89: a launch the history gives no hint of.
const T0 = Date.parse('2026-03-01T12:00:00Z') / 1000;
const trace = join(dir, 'launch.csv');
writeFileSync(trace, `timestamp,value\n${Array.from({ length: 120 }, (_, i) => `${new Date((T0 + 60 * i) * 1000).toISOString()},${i >= 60 && i < 90 ? 300 : 100}`).join('\n')}\n`);
const launchAt = new Date((T0 + 3600) * 1000).toISOString();

function replay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['replay', ...args], [replayCommand], dir);
}

/** Per-interval rows of the output CSV: ready replicas and the rule that bound the target. */
function rows(file: string): { ready: number; reason: string }[] {
  return readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => {
    const c = l.split(',');
    return { ready: Number(c[4]), reason: c[8] ?? '' };
  });
}

test('--schedule: pods ordered prescale + startup ahead serve the launch from its first minute; without it the launch is lost until pods start', async () => {
  const schedule = join(dir, 'scaler.yaml');
  // The scaler's own manifest, as an operator would keep it: replay reads spec.schedule.
  writeFileSync(schedule, `apiVersion: surgeguard.io/v1alpha1\nkind: PredictiveScaler\nmetadata: { name: ranker }\nspec:\n  schedule:\n    - { name: launch, start: "${launchAt}", durationSeconds: 1800, demandMultiplier: 3, prescaleSeconds: 120 }\n`);
  const base = ['--trace', trace, '--capacity', '10', '--startup-steps', '3', '--no-compare', '--cpu'];
  const on = join(dir, 'on.csv');
  const off = join(dir, 'off.csv');
  const a = await replay([...base, '--schedule', schedule, '--out', on]);
  assert.equal(a.code, 0, a.stderr);
  const b = await replay([...base, '--out', off]);
  assert.equal(b.code, 0, b.stderr);
  const withIt = rows(on);
  const without = rows(off);
  // 30 pods serve by minute 58 (the launch at 60 less 120 s of prescale): ordered by the end of minute 54.
  for (let i = 58; i < 90; i++) assert.ok((withIt[i]?.ready ?? 0) >= 30, `minute ${i}: ${withIt[i]?.ready} ready with the schedule`);
  assert.ok(withIt.slice(50, 58).some((r) => r.reason === 'Campaign' || r.reason === 'ScaleUpLimited'), JSON.stringify(withIt.slice(50, 58)));
  assert.ok(withIt.slice(0, 54).every((r) => r.reason !== 'Campaign'), 'no window before start - prescale - startup');
  assert.ok((without[60]?.ready ?? 99) < 30, `without the schedule the launch was served at once: ${without[60]?.ready}`);
  const meta = JSON.parse(readFileSync(`${on}.json`, 'utf8')) as { schedule?: string; decision_reasons: Record<string, number>; summary: { unserved_fraction: number } };
  const metaOff = JSON.parse(readFileSync(`${off}.json`, 'utf8')) as { summary: { unserved_fraction: number } };
  assert.equal(meta.schedule, schedule);
  assert.ok((meta.decision_reasons.Campaign ?? 0) > 0, JSON.stringify(meta.decision_reasons));
  assert.ok(meta.summary.unserved_fraction < metaOff.summary.unserved_fraction, `${meta.summary.unserved_fraction} vs ${metaOff.summary.unserved_fraction}`);
  assert.match(a.stdout, /campaign windows: 1 window from .*scaler\.yaml, 1 within the trace; a window set the target in \d+ intervals/);
  assert.match(a.stdout, /outside knowledge/);
});

test('--schedule: a bad window is an input error naming the file, the line and the window; nothing runs', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, `schedule:\n  - { name: a, start: "${launchAt}", durationSeconds: 600, demandMultiplier: 2 }\n  - { name: b, start: "tomorrow", durationSeconds: 600, demandMultiplier: 2 }\n`);
  const r = await replay(['--trace', trace, '--capacity', '10', '--no-compare', '--cpu', '--schedule', bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bad\.yaml line 3: schedule\[1\] \(b\): start must be an RFC 3339 date-time/);
  assert.match(r.stderr, /SG_INPUT_INVALID/);
  const missing = await replay(['--trace', trace, '--capacity', '10', '--no-compare', '--schedule', join(dir, 'nope.yaml')]);
  assert.match(missing.stderr, /--schedule .*nope\.yaml: cannot read it/);
});

test('parseScheduleFile reads the three shapes and refuses what the CRD refuses, with the line', () => {
  const w = `- { name: x, start: "2026-03-01T13:00:00Z", durationSeconds: 600, demandMultiplier: 2 }`;
  const want = [{ name: 'x', startSeconds: T0 + 3600, durationSeconds: 600, demandMultiplier: 2, prescaleSeconds: 600 }];
  assert.deepEqual(parseScheduleFile(w, 'f'), want);
  assert.deepEqual(parseScheduleFile(`schedule:\n  ${w}`, 'f'), want);
  assert.deepEqual(parseScheduleFile(JSON.stringify({ spec: { schedule: [{ name: 'x', start: '2026-03-01T13:00:00Z', durationSeconds: 600, demandMultiplier: 2 }] } }), 'f'), want);
  const refuse = (text: string, re: RegExp): void => {
    assert.throws(() => parseScheduleFile(text, 'cal.yaml'), (e: unknown) => e instanceof SurgeGuardError && e.code === ErrorCode.InputInvalid && re.test(e.message));
  };
  refuse('name: x', /cal\.yaml line 1: expected a list of schedule windows/);
  refuse(`${w}\n${w}`, /cal\.yaml line 2: schedule\[1\] \(x\): name x is used by an earlier window/);
  refuse(`- { name: y, start: "2026-03-01T13:00:00Z", durationSeconds: 30, demandMultiplier: 2 }`, /durationSeconds must be an integer >= 60, got 30/);
  refuse(`- { name: y, start: "2026-03-01T13:00:00Z", durationSeconds: 600, demandMultiplier: 200 }`, /demandMultiplier must be a number in \(0, 100\], got 200/);
  refuse(`- { name: y, start: "2026-03-01", durationSeconds: 600, demandMultiplier: 2 }`, /start must be an RFC 3339 date-time/);
  refuse(`- { name: y, start: "2026-03-01T13:00:00Z", durationSeconds: 600, demandMultiplier: 2, multiplier: 3 }`, /unknown key multiplier/);
  refuse(`- [a, b]`, /line 1: schedule\[0\] must be a mapping/);
  refuse(`- { name: y, start: "2026-03-01T13:00:00Z"\n`, /cal\.yaml line \d+: invalid YAML/);
  refuse(Array.from({ length: 51 }, (_, i) => `- { name: n${i}, start: "2026-03-01T13:00:00Z", durationSeconds: 600, demandMultiplier: 2 }`).join('\n'), /at most 50 windows/);
});

test('onReplayClock: the step at interval t decides at the end of that interval on the wall clock', () => {
  // Replay tells the policy step t x 60 at interval t, which ends at T0 + (t + 1) x 60.
  const [w] = onReplayClock([{ name: 'x', startSeconds: T0 + 3600, durationSeconds: 600, demandMultiplier: 2, prescaleSeconds: 0 }], { traceStartSeconds: T0, intervalSeconds: 60 });
  assert.equal(w?.startSeconds, 3540);
});
