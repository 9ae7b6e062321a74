// Whether a node repair may cordon now, from the replacement capacity: fatal never waits, a
// degraded drain with nowhere to go waits, and a wait past the timeout pages, then waits or goes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import { decideCapacityWait, type CapacityWaitInput } from '../../../../controller/healing/capacity-wait.ts';
import type { ReplacementVerdict } from '../../../../controller/capacity/replacement.ts';

const NOW = 1_800_000_000_000;
const config = healingConfigSchema.parse({}).drain.capacity;
const verdict = (enough: boolean): ReplacementVerdict => ({ enough, reason: enough ? 'ReplacementCapacity' : 'NoReplacementCapacity', pool: 'a100', resources: [], claim: { 'nvidia.com/gpu': 2 }, message: 'replacement capacity in pool a100: nvidia.com/gpu: needs 2, 0 available' });
const input = (x: Partial<CapacityWaitInput>): CapacityWaitInput => ({ node: 'gpu-07', fault: 'degraded', verdict: verdict(false), waitingSinceMs: undefined, nowMs: NOW, ...x });

test('defaults: on, 30 minutes, then keep waiting, a 10-minute horizon', () => {
  assert.deepEqual(config, { enabled: true, timeoutSeconds: 1800, onTimeout: 'wait', horizonSeconds: 600 });
});

test('one row per case: action, reason, page, and when the wait started', () => {
  const proceedAfter = { ...config, onTimeout: 'proceed' as const };
  const rows: Array<[string, CapacityWaitInput, typeof config, { action: string; reason: string; page: boolean; since: number | undefined }]> = [
    ['fatal never waits, even with no capacity', input({ fault: 'fatal' }), config, { action: 'proceed', reason: 'FatalFault', page: false, since: undefined }],
    ['the check off', input({ verdict: undefined }), { ...config, enabled: false }, { action: 'proceed', reason: 'CapacityCheckOff', page: false, since: undefined }],
    ['capacity there', input({ verdict: verdict(true) }), config, { action: 'proceed', reason: 'ReplacementCapacity', page: false, since: undefined }],
    ['none: the wait starts now', input({}), config, { action: 'wait', reason: 'NoReplacementCapacity', page: false, since: NOW }],
    ['none, still inside the timeout: the start is kept', input({ waitingSinceMs: NOW - 1_799_000 }), config, { action: 'wait', reason: 'NoReplacementCapacity', page: false, since: NOW - 1_799_000 }],
    ['past the timeout, onTimeout wait: page and keep waiting', input({ waitingSinceMs: NOW - 1_800_000 }), config, { action: 'wait', reason: 'CapacityWaitTimeout', page: true, since: NOW - 1_800_000 }],
    ['past the timeout, onTimeout proceed: page and drain', input({ waitingSinceMs: NOW - 3_600_000 }), proceedAfter, { action: 'proceed', reason: 'CapacityWaitTimeout', page: true, since: NOW - 3_600_000 }],
    ['capacity came after a long wait: proceed, no page', input({ waitingSinceMs: NOW - 3_600_000, verdict: verdict(true) }), config, { action: 'proceed', reason: 'ReplacementCapacity', page: false, since: undefined }],
  ];
  for (const [what, x, c, want] of rows) {
    const d = decideCapacityWait(x, c);
    assert.deepEqual({ action: d.action, reason: d.reason, page: d.page, since: d.waitingSinceMs }, want, what);
  }
});

test('the messages name the node, the numbers and what happens next', () => {
  assert.match(decideCapacityWait(input({}), config).message, /^not cordoning gpu-07 yet: replacement capacity in pool a100: nvidia.com\/gpu: needs 2, 0 available; .*on-call paged after 1800 s$/);
  assert.match(decideCapacityWait(input({ waitingSinceMs: NOW - 2_000_000 }), config).message, /^gpu-07 has waited 2000 s \(timeout 1800 s\) for replacement capacity: .*; still waiting \(onTimeout: wait\)/);
  assert.match(decideCapacityWait(input({ waitingSinceMs: NOW - 2_000_000 }), { ...config, onTimeout: 'proceed' }).message, /draining it anyway \(onTimeout: proceed\)$/);
});

test('config: bad values are refused naming the key', () => {
  const bad = (drain: unknown): string => {
    const r = healingConfigSchema.safeParse({ drain });
    assert.equal(r.success, false);
    return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '';
  };
  assert.match(bad({ capacity: { onTimeout: 'later' } }), /^drain\.capacity\.onTimeout: /);
  assert.match(bad({ capacity: { timeoutSeconds: -1 } }), /^drain\.capacity\.timeoutSeconds: /);
  assert.match(bad({ capacity: { horizonSeconds: 0 } }), /^drain\.capacity\.horizonSeconds: /);
  assert.match(bad({ capacity: { timeout: 60 } }), /^drain\.capacity: .*timeout/);
});
