// The XID policy users can change: today's table by default, overrides code by code, repeats that
// escalate, and configuration mistakes refused with the key path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../../../common/errors.ts';
import { healingConfigSchema } from '../../../../controller/healing/config.ts';
import { gpuXidCheck } from '../../../../controller/healing/checks/gpu-xid.ts';
import { compileXidPolicy, DEFAULT_XID_RULES } from '../../../../controller/healing/xid-policy.ts';
import type { VectorQuery } from '../../../../controller/healing/types.ts';
import { controllerConfigError } from '../../../helpers/thrown.ts';

type Series = Array<{ labels: Record<string, string>; value: number }>;

function checksWith(xidPolicy: object): ReturnType<typeof healingConfigSchema.parse>['checks'] {
  return healingConfigSchema.parse({ checks: { xidPolicy } }).checks;
}

/** A fake Prometheus (pure logic only): answers by a substring of the expression, and records what was asked. */
function prom(answers: Array<[string, Series]>, asked: string[] = []): VectorQuery {
  return async (expr) => {
    asked.push(expr);
    return answers.find(([k]) => expr.includes(k))?.[1] ?? [];
  };
}

const seen = (node: string, xid: string, uuid = 'GPU-1'): Series[number] => ({ labels: { node, gpu: '0', uuid, xid }, value: 999 });

async function classify(xidPolicy: object, answers: Array<[string, Series]>, asked?: string[]): Promise<Record<string, string>> {
  const f = await gpuXidCheck({}, checksWith(xidPolicy)).run({ nowMs: 1_000_000, nodes: [], pods: [], query: prom(answers, asked) });
  return Object.fromEntries(f.map((x) => [`${x.target.kind}/${x.target.name}`, `${x.fault}/${x.severity}`]));
}

test('the default policy is today\'s table', () => {
  const p = compileXidPolicy(checksWith({}).xidPolicy);
  for (const r of DEFAULT_XID_RULES) for (const x of r.xids) assert.equal(p.decide(x).action, r.action, `XID ${x}`);
  assert.equal(p.decide(79).action, 'drain-fatal');
  assert.equal(p.decide(13).action, 'restart-pod');
  assert.equal(p.decide(92).action, 'watch');
  assert.deepEqual(p.decide(63), { action: 'watch', from: 'otherXids' });
  assert.deepEqual(p.repeats, []);
});

test('a configured rule replaces the default for its codes only; otherXids covers the rest', async () => {
  const policy = { rules: [{ xids: [92], action: 'drain-degraded' }, { xids: [79], action: 'page' }, { xids: [43], action: 'ignore' }], otherXids: 'ignore' };
  const by = await classify(policy, [['last_timestamp', [seen('n1', '92'), seen('n2', '79'), seen('n3', '48'), seen('n4', '43'), seen('n5', '63')]]]);
  assert.deepEqual(by, { 'Node/n1': 'degraded/warning', 'Node/n2': 'notice/critical', 'Node/n3': 'fatal/critical' });
});

test('a repeat escalates the same code on the same GPU, counted over its window', async () => {
  const policy = { rules: [{ xids: [13, 31], action: 'restart-pod', repeat: { count: 3, windowSeconds: 3600, action: 'drain-degraded' } }] };
  const asked: string[] = [];
  const by = await classify(
    policy,
    [
      ['last_timestamp', [seen('n1', '13'), seen('n2', '13', 'GPU-2'), seen('n3', '31', 'GPU-3')]],
      ['xid_errors_total', [{ labels: { node: 'n1', uuid: 'GPU-1', xid: '13' }, value: 4 }, { labels: { node: 'n3', uuid: 'GPU-9', xid: '31' }, value: 3 }]],
    ],
    asked,
  );
  // n1 repeated on its GPU: drained. n2 once: no pod holds its GPU, so told. n3 repeated on another GPU: not escalated.
  assert.deepEqual(by, { 'Node/n1': 'degraded/warning', 'Node/n2': 'notice/warning', 'Node/n3': 'notice/warning' });
  assert.ok(asked.includes('round(increase(surgeguard_gpu_xid_errors_total{xid=~"13|31"}[3600s])) >= 3'), asked.join('\n'));
});

test('the driver\'s recovery action still wins over an ignored code', async () => {
  const by = await classify({ rules: [{ xids: [79], action: 'ignore' }] }, [
    ['last_timestamp', [seen('n1', '79')]],
    ['recovery_action', [{ labels: { node: 'n1', uuid: 'GPU-1', action: 'reboot' }, value: 1 }]],
  ]);
  assert.deepEqual(by, { 'Node/n1': 'fatal/critical' });
});

test('a page and a watch on one node: the node\'s finding is the page', async () => {
  const by = await classify({ rules: [{ xids: [63], action: 'page' }] }, [['last_timestamp', [seen('n1', '92'), seen('n1', '63', 'GPU-2')]]]);
  assert.deepEqual(by, { 'Node/n1': 'notice/critical' });
});


const head = 'healing:\n  checks:\n    xidPolicy:\n';
for (const [what, body, key, why] of [
  ['a code in two rules', '      rules:\n        - {xids: [79, 48], action: drain-fatal}\n        - {xids: [13, 79], action: page}\n', 'healing.checks.xidPolicy.rules.1.xids.1', /XID 79 is already in rules\.0/],
  ['an unknown action', '      rules:\n        - {xids: [79], action: reboot}\n', 'healing.checks.xidPolicy.rules.0.action', /ignore.*drain-fatal/],
  ['a code that is not one', '      rules:\n        - {xids: [0], action: watch}\n', 'healing.checks.xidPolicy.rules.0.xids.0', /XID codes start at 1/],
  ['a code out of range', '      rules:\n        - {xids: [4242], action: watch}\n', 'healing.checks.xidPolicy.rules.0.xids.0', /not an XID code/],
  ['a code as text', '      rules:\n        - {xids: ["79a"], action: watch}\n', 'healing.checks.xidPolicy.rules.0.xids.0', /number/],
  ['a repeat that does not escalate', '      rules:\n        - {xids: [13], action: restart-pod, repeat: {count: 3, windowSeconds: 600, action: watch}}\n', 'healing.checks.xidPolicy.rules.0.repeat.action', /a repeat must escalate: watch is not stronger than restart-pod/],
  ['a repeat of one', '      rules:\n        - {xids: [13], action: watch, repeat: {count: 1, windowSeconds: 600, action: page}}\n', 'healing.checks.xidPolicy.rules.0.repeat.count', /at least 2/],
  ['an unknown key', '      rules:\n        - {xids: [13], action: watch, severity: critical}\n', 'healing.checks.xidPolicy.rules.0', /severity/],
  ['a bad otherXids', '      otherXids: drain\n', 'healing.checks.xidPolicy.otherXids', /ignore/],
] as const) {
  test(`xidPolicy: ${what} is refused with its key path`, () => {
    const err = controllerConfigError(head + body);
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.match(err.message, new RegExp(`controller\\.yaml line \\d+: ${key.replace(/\./g, '\\.')}`), err.message);
    assert.match(err.message, why, err.message);
  });
}
