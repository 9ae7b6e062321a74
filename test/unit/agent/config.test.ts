import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentConfigSchema, splitListen } from '../../../agent/config.ts';
import { loadConfig } from '../../../common/config.ts';

test('defaults', () => {
  const c = loadConfig(agentConfigSchema, {});
  assert.equal(c.listen, '0.0.0.0:9402');
  assert.equal(c.collectors.gpu.nvidiaSmiPath, 'nvidia-smi');
  assert.equal(c.collectors.gpu.intervalSeconds, 5);
  assert.equal(c.collectors.xid.source, 'file');
  assert.equal(c.collectors.kafka.enabled, false);
  assert.ok(Object.isFrozen(c.collectors.gpu));
});

test('flags, environment and file, in that order of precedence', () => {
  const c = loadConfig(agentConfigSchema, {
    fileText: 'listen: 127.0.0.1:1\ncollectors:\n  gpu: { intervalSeconds: 2 }\n',
    env: { SURGEGUARD_LISTEN: '127.0.0.1:2', SURGEGUARD_COLLECTORS__KAFKA__BROKERS: '[a:9092, b:9092]', SURGEGUARD_COLLECTORS__KAFKA__ENABLED: 'true' },
    flags: { listen: '127.0.0.1:3', 'collectors.gpu.nvidiaSmiPath': '/opt/nvidia-smi' },
  });
  assert.equal(c.listen, '127.0.0.1:3');
  assert.deepEqual(c.collectors.kafka.brokers, ['a:9092', 'b:9092']);
  assert.equal(c.collectors.gpu.intervalSeconds, 2);
  assert.equal(c.collectors.gpu.nvidiaSmiPath, '/opt/nvidia-smi');
});

// One row per missing or malformed key: the error names the key and where it was written.
const BAD: Array<[string, RegExp]> = [
  ['listen: nope', /agent\.yaml line 1: listen: must be HOST:PORT/],
  ['collectors:\n  gpu:\n    intervalSecond: 5', /line 3: collectors\.gpu\.intervalSecond: unknown key; allowed keys here: .*intervalSeconds/],
  ['collectors:\n  gpu: { timeoutSeconds: -1 }', /collectors\.gpu\.timeoutSeconds/],
  ['collectors:\n  xid: { source: journald }', /collectors\.xid\.source: .*"file"|collectors\.xid\.source/],
  ['collectors:\n  kafka: { enabled: true }', /collectors\.kafka\.brokers: kafka\.enabled needs at least one broker/],
  ['collectors:\n  kafka: { brokers: [nohost] }', /collectors\.kafka\.brokers\.0: must be host:port/],
  ['collectors:\n  kafka: { brokers: ["k:1"], scope: everywhere }', /collectors\.kafka\.scope/],
  ['collectors:\n  kafka: { brokers: ["k:1"], sasl: { mechanism: plain, username: u } }', /collectors\.kafka\.sasl\.passwordFile/],
  ['logLevel: loud', /logLevel/],
  // Issue 15 item 12: a bad pattern threw a raw SyntaxError from the collector after start.
  ['collectors:\n  kafka:\n    groupPattern: "infer(ence"', /line 3: collectors\.kafka\.groupPattern: not a valid regular expression: .*Unterminated group/],
  ['collectors:\n  network: { excludeInterfacePattern: "[veth" }', /collectors\.network\.excludeInterfacePattern: not a valid regular expression/],
];
for (const [yaml, want] of BAD) {
  test(`rejects ${JSON.stringify(yaml)}`, () => {
    assert.throws(() => loadConfig(agentConfigSchema, { file: 'agent.yaml', fileText: yaml }), (err: Error) => want.test(err.message) || assert.fail(err.message));
  });
}

test('an environment variable is named in the error', () => {
  assert.throws(() => loadConfig(agentConfigSchema, { env: { SURGEGUARD_COLLECTORS__GPU__INTERVAL_SECONDS: 'often' } }), /environment SURGEGUARD_COLLECTORS__GPU__INTERVAL_SECONDS: collectors\.gpu\.intervalSeconds/);
});

test('splitListen', () => {
  assert.deepEqual(splitListen('127.0.0.1:9402'), { host: '127.0.0.1', port: 9402 });
  assert.deepEqual(splitListen(':9402'), { host: '0.0.0.0', port: 9402 });
  assert.deepEqual(splitListen('[::1]:9402'), { host: '::1', port: 9402 });
});

test('the test runner\'s variables are not configuration: an agent started under `SURGEGUARD_TEST_GROUPS=integration make test` starts', () => {
  const c = loadConfig(agentConfigSchema, { env: { SURGEGUARD_TEST_GROUPS: 'integration', SURGEGUARD_TEST_TIMEOUT_MS: '1', SURGEGUARD_FAILURE_HEADS: '/tmp/x', SURGEGUARD_CACHE_DIR: '/tmp/c' } });
  assert.equal(c.listen, '0.0.0.0:9402');
  assert.throws(() => loadConfig(agentConfigSchema, { env: { SURGEGUARD_TESTGROUPS: 'x' } }), /SURGEGUARD_TESTGROUPS: testgroups: unknown key|unknown key/);
});
