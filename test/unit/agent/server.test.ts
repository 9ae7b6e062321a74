// The agent's HTTP surface: 405 with Allow for a wrong method, the optional bearer token on
// /metrics (health endpoints stay open for probes), and a token file checked at start.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createAgent } from '../../../agent/agent.ts';
import { agentConfigSchema } from '../../../agent/config.ts';
import { bearerCheck } from '../../../agent/metrics-auth.ts';
import { loadConfig } from '../../../common/config.ts';
import { hasCode } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { fixtureAgent } from './agent-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'sg-agent-server-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a wrong method on a known path is 405 with Allow; an unknown path is 404', async () => {
  const agent = await fixtureAgent();
  try {
    for (const [method, url] of [['POST', '/metrics'], ['DELETE', '/healthz'], ['PUT', '/readyz'], ['POST', '/metrics?x=1']] as const) {
      const res = await agent.server.inject({ method, url });
      assert.equal(res.statusCode, 405, `${method} ${url}`);
      assert.equal(res.headers.allow, 'GET, HEAD');
    }
    assert.equal((await agent.server.inject({ method: 'HEAD', url: '/healthz' })).statusCode, 200);
    const missing = await agent.server.inject({ method: 'GET', url: '/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers.allow, undefined);
  } finally {
    await agent.stop();
  }
});

function agentWith(yaml: string): ReturnType<typeof createAgent> {
  const config = loadConfig(agentConfigSchema, { fileText: `nodeName: n1\ncollectors: { gpu: { enabled: false }, xid: { enabled: false }, network: { enabled: false }, podResources: { enabled: false } }\n${yaml}` });
  return createAgent(config, silentLogger(), { processMetrics: false, nodeFacts: () => Promise.resolve({ os: 'x', kernel: 'y', arch: 'x64', cpuModel: 'z', cpus: 1, memoryBytes: 1 }) });
}

test('with metricsAuth.bearerTokenFile, /metrics needs the token; /healthz and /readyz do not', async () => {
  const file = join(dir, 'token');
  writeFileSync(file, 's3cr3t-token-value\n');
  const agent = await agentWith(`metricsAuth: { bearerTokenFile: ${file} }\n`);
  try {
    await agent.runner.runOnce();
    const get = async (authorization?: string): Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }> => await agent.server.inject({ method: 'GET', url: '/metrics', ...(authorization ? { headers: { authorization } } : {}) });
    for (const bad of [undefined, 'Bearer wrong', 'Bearer s3cr3t-token-valu', 'Bearer s3cr3t-token-value2', 'Basic czNjcjN0', 's3cr3t-token-value']) {
      const res = await get(bad);
      assert.equal(res.statusCode, 401, String(bad));
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      assert.doesNotMatch(res.body, /surgeguard_/);
    }
    const ok = await get('Bearer s3cr3t-token-value');
    assert.equal(ok.statusCode, 200);
    assert.match(ok.body, /surgeguard_node_info/);
    assert.equal((await agent.server.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await agent.server.inject({ url: '/readyz' })).statusCode, 200);
  } finally {
    await agent.stop();
  }
});

test('a missing or empty token file stops the start with a coded error naming the key and the path', async () => {
  await assert.rejects(agentWith(`metricsAuth: { bearerTokenFile: ${join(dir, 'absent')} }\n`), (err) => hasCode(err, 'SG_CONFIG_UNREADABLE') && /^metricsAuth\.bearerTokenFile: cannot read .*absent \(ENOENT\)$/.test((err as Error).message));
  writeFileSync(join(dir, 'empty'), '\n');
  await assert.rejects(agentWith(`metricsAuth: { bearerTokenFile: ${join(dir, 'empty')} }\n`), (err) => hasCode(err, 'SG_CONFIG_INVALID') && /empty/.test((err as Error).message));
});

test('the bearer check accepts only the exact token', () => {
  const check = bearerCheck('abc');
  assert.equal(check('Bearer abc'), true);
  assert.equal(check('bearer abc'), true);
  for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Bearer ab', 'Bearer abcd', 'Bearer abc def', 'Token abc']) assert.equal(check(h), false, String(h));
});

test('pod lookups for Kafka attribution are made only when kafka is on with scope node', async () => {
  for (const [yaml, want] of [
    ['', 0],
    ['  kafka: { enabled: true, brokers: ["k:9092"], scope: cluster }\n', 0],
    ['  kafka: { enabled: true, brokers: ["k:9092"], scope: node }\n', 1],
  ] as const) {
    let calls = 0;
    const config = loadConfig(agentConfigSchema, { fileText: `nodeName: n1\ncollectors:\n  gpu: { enabled: false }\n  xid: { enabled: false }\n${yaml}` });
    const agent = await createAgent(config, silentLogger(), {
      processMetrics: false,
      podIps: () => {
        calls++;
        return undefined;
      },
      kafkaLagReader: () => ({ read: () => Promise.reject(new Error('no broker')), close: () => Promise.resolve() }),
    });
    await agent.stop();
    assert.equal(calls, want, yaml || 'kafka off');
  }
});
