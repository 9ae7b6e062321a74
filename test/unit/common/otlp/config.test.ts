// otlp.metrics in the agent's and the controller's configuration: off by default, the endpoint
// completed with /v1/metrics when it has no path, and every bad value a coded error naming its key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentConfigSchema } from '../../../../agent/config.ts';
import { loadConfig } from '../../../../common/config.ts';
import { SurgeGuardError } from '../../../../common/errors.ts';
import { controllerConfigSchema } from '../../../../controller/config.ts';

const SCHEMAS = [
  ['agent', agentConfigSchema],
  ['controller', controllerConfigSchema],
] as const;

for (const [name, schema] of SCHEMAS) {
  test(`${name}: off by default, frozen`, () => {
    const c = loadConfig(schema, {});
    assert.equal(c.otlp.metrics.endpoint, undefined);
    assert.equal(c.otlp.metrics.intervalSeconds, 60);
    assert.equal(c.otlp.metrics.timeoutSeconds, 10);
    assert.ok(Object.isFrozen(c.otlp.metrics));
  });

  test(`${name}: a bare collector URL gets /v1/metrics; a URL with a path is kept; the timeout follows a short interval`, () => {
    const bare = loadConfig(schema, { fileText: 'otlp:\n  metrics:\n    endpoint: http://otel-collector:4318\n    intervalSeconds: 5\n' });
    assert.equal(bare.otlp.metrics.endpoint, 'http://otel-collector:4318/v1/metrics');
    assert.equal(bare.otlp.metrics.timeoutSeconds, 5);
    const pathed = loadConfig(schema, { env: { SURGEGUARD_OTLP__METRICS__ENDPOINT: 'https://gw.example/otlp/v1/metrics', SURGEGUARD_OTLP__METRICS__INTERVAL_SECONDS: '15' } });
    assert.equal(pathed.otlp.metrics.endpoint, 'https://gw.example/otlp/v1/metrics');
    assert.equal(pathed.otlp.metrics.intervalSeconds, 15);
  });

  // One row per malformed key: the error is SG_CONFIG_INVALID and names the key and the line.
  const BAD: Array<[string, RegExp]> = [
    ['otlp:\n  metrics:\n    endpoint: otel-collector:4318', /line 3: otlp\.metrics\.endpoint: must be an absolute http:\/\/ or https:\/\/ URL/],
    ['otlp:\n  metrics:\n    endpoint: ftp://otel-collector/v1/metrics', /otlp\.metrics\.endpoint: must be an absolute http/],
    ['otlp:\n  metrics:\n    endpoint: "not a url"', /otlp\.metrics\.endpoint/],
    ['otlp:\n  metrics:\n    intervalSeconds: 0', /line 3: otlp\.metrics\.intervalSeconds: .*(>0|greater than 0|positive)/i],
    ['otlp:\n  metrics:\n    intervalSeconds: -5', /otlp\.metrics\.intervalSeconds/],
    ['otlp:\n  metrics:\n    intervalSeconds: 5\n    timeoutSeconds: 30', /otlp\.metrics\.timeoutSeconds: timeoutSeconds must not exceed intervalSeconds/],
    ['otlp:\n  metrics:\n    headers: { "bad header": x }', /otlp\.metrics\.headers/],
    ['otlp:\n  metrics:\n    endpont: http://c:4318', /otlp\.metrics\.endpont: unknown key; allowed keys here: .*endpoint/],
    ['otlp:\n  traces: {}', /otlp\.traces: unknown key/],
  ];
  for (const [yaml, want] of BAD) {
    test(`${name}: refuses ${JSON.stringify(yaml.split('\n').slice(1).join(' ').trim())}`, () => {
      assert.throws(
        () => loadConfig(schema, { file: `${name}.yaml`, fileText: `${yaml}\n` }),
        (err: unknown) => err instanceof SurgeGuardError && err.code === 'SG_CONFIG_INVALID' && want.test(err.message),
      );
    });
  }
}
