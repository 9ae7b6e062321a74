import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { loadConfig } from '../../../common/config.ts';
import { thrownError } from '../../helpers/thrown.ts';

// A schema shaped like a component's: nested objects, units in names, bounds and enums.
const schema = z.strictObject({
  listen: z.string().default('127.0.0.1:9400'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  intervalSeconds: z.number().positive().max(3600).default(15),
  kafka: z
    .strictObject({
      brokers: z.array(z.string().min(1)).min(1),
      scope: z.enum(['node', 'cluster']).default('node'),
    })
    .optional(),
});

function loadYaml(text: string, extra: Parameters<typeof loadConfig>[1] = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sg-config-'));
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, text);
  return loadConfig(schema, { file, ...extra });
}


const cases: { name: string; yaml: string; env?: Record<string, string>; flags?: Record<string, unknown>; expect: RegExp[] }[] = [
  {
    name: 'unknown key names the key, its line and the allowed keys',
    yaml: 'listen: 0.0.0.0:9400\nintervalSecond: 5\n',
    expect: [/agent\.yaml line 2: intervalSecond: unknown key; allowed keys here: intervalSeconds, kafka, listen, logLevel/],
  },
  {
    name: 'unknown nested key',
    yaml: 'kafka:\n  brokers: [a:9092]\n  groups: [x]\n',
    expect: [/line 3: kafka\.groups: unknown key; allowed keys here: brokers, scope/],
  },
  {
    name: 'wrong type names expected and got',
    yaml: 'intervalSeconds: fast\n',
    expect: [/line 1: intervalSeconds: .*expected number.*\(got string "fast"\)/],
  },
  {
    name: 'out of range names the bound',
    yaml: 'intervalSeconds: 7200\n',
    expect: [/intervalSeconds: .*<=3600.*\(got number 7200\)/],
  },
  {
    name: 'negative where positive is required',
    yaml: 'intervalSeconds: -1\n',
    expect: [/intervalSeconds: .*>0.*\(got number -1\)/],
  },
  {
    name: 'enum lists allowed values',
    yaml: 'logLevel: loud\n',
    expect: [/logLevel: .*"debug"\|"info"\|"warn"\|"error".*\(got string "loud"\)/],
  },
  {
    name: 'missing required nested key',
    yaml: 'kafka:\n  scope: node\n',
    expect: [/line 1: kafka\.brokers: .*\(it is missing\)/],
  },
  {
    name: 'bad list element points at its line',
    yaml: 'kafka:\n  brokers:\n    - a:9092\n    - ""\n',
    expect: [/line 4: kafka\.brokers\.1: /],
  },
  {
    name: 'bad YAML gives line and column',
    yaml: 'listen: 127.0.0.1:1\nkafka:\n  brokers: [a, b\n  scope: node\n',
    expect: [/agent\.yaml line \d+ column \d+: invalid YAML/],
  },
  {
    name: 'duplicate key is bad YAML',
    yaml: 'listen: a\nlisten: b\n',
    expect: [/line 2 column 1: invalid YAML/],
  },
  {
    name: 'a file that is not a mapping',
    yaml: '- a\n- b\n',
    expect: [/must hold a mapping of keys, got a list/],
  },
  {
    name: 'several problems are all reported',
    yaml: 'logLevel: loud\nintervalSeconds: 0\n',
    expect: [/logLevel/, /intervalSeconds/],
  },
  {
    name: 'environment value names the variable',
    yaml: '',
    env: { SURGEGUARD_INTERVAL_SECONDS: 'abc' },
    expect: [/environment SURGEGUARD_INTERVAL_SECONDS: intervalSeconds: .*expected number/],
  },
  {
    name: 'unknown environment variable is an unknown key',
    yaml: '',
    env: { SURGEGUARD_LISTN: '1' },
    expect: [/environment SURGEGUARD_LISTN: listn: unknown key/],
  },
  {
    name: 'flag value names the flag',
    yaml: '',
    flags: { logLevel: 'verbose' },
    expect: [/flag --log-level: logLevel: /],
  },
];

for (const c of cases) {
  test(`config error: ${c.name}`, () => {
    const err = thrownError(() => loadYaml(c.yaml, { env: c.env, flags: c.flags }));
    assert.match(err.code, /^SG_CONFIG_INVALID$/);
    for (const re of c.expect) assert.match(err.message, re);
  });
}

test('config: defaults, then file, then environment, then flags; result is frozen', () => {
  const cfg = loadYaml('listen: 127.0.0.1:1\nintervalSeconds: 5\nkafka:\n  brokers: [a:9092]\n', {
    env: { SURGEGUARD_INTERVAL_SECONDS: '30', SURGEGUARD_KAFKA__SCOPE: 'cluster', SURGEGUARD_CONFIG: '/ignored', PATH: '/bin' },
    flags: { listen: '127.0.0.1:2' },
  });
  assert.deepEqual(cfg, { listen: '127.0.0.1:2', logLevel: 'info', intervalSeconds: 30, kafka: { brokers: ['a:9092'], scope: 'cluster' } });
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.kafka) && Object.isFrozen(cfg.kafka?.brokers));
  assert.throws(() => {
    (cfg as { listen: string }).listen = 'x';
  }, TypeError);
});

test('config: an unreadable file is its own error naming the path', () => {
  const err = thrownError(() => loadConfig(schema, { file: '/nonexistent/sg.yaml' }));
  assert.equal(err.code, 'SG_CONFIG_UNREADABLE');
  assert.match(err.message, /\/nonexistent\/sg\.yaml/);
});

test('config: an empty file means all defaults', () => {
  assert.deepEqual(loadYaml(''), { listen: '127.0.0.1:9400', logLevel: 'info', intervalSeconds: 15 });
});
