// The controller's own schema: URLs it will call are checked at start, one coded line each.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../common/config.ts';
import { ErrorCode } from '../../../common/errors.ts';
import { controllerConfigSchema } from '../../../controller/config.ts';
import { controllerConfigError } from '../../helpers/thrown.ts';


for (const [key, yaml] of [
  ['prometheus.url', 'prometheus:\n  url: localhost:9090\n'],
  ['prometheus.url', 'prometheus:\n  url: prometheus.monitoring.svc:9090\n'],
  ['prometheus.url', 'prometheus:\n  url: ftp://prometheus:9090\n'],
  ['healing.oncall.receivers.0.url', 'healing:\n  oncall:\n    receivers:\n      - {name: pager, url: "hooks.example.com:443/services/T1/B2/secret"}\n'],
  ['healing.oncall.externalUrl', 'healing:\n  oncall:\n    externalUrl: surgeguard:9403\n'],
] as const) {
  test(`controller config: ${yaml.trim().split('\n').pop()?.trim()} is a coded error naming ${key}`, () => {
    const err = controllerConfigError(yaml);
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.match(err.message, new RegExp(`controller\\.yaml line \\d+: ${key.replace(/\./g, '\\.')}: must be an absolute http:// or https:// URL`));
    assert.ok(!err.message.includes('secret'), `the error echoes the URL's path: ${err.message}`);
  });
}

test('controller config: http and https URLs with a host, IPv6 too, are taken', () => {
  for (const url of ['http://prometheus.monitoring.svc:9090', 'https://[::1]:9090/prom', 'http://127.0.0.1:9090']) {
    assert.equal(loadConfig(controllerConfigSchema, { fileText: `prometheus:\n  url: "${url}"\n` }).prometheus?.url, url);
  }
});

test('forecaster: Holt-Winters by default (it measured better out of sample), the model on request, anything else named', () => {
  assert.equal(loadConfig(controllerConfigSchema, {}).forecaster, 'holt-winters');
  assert.equal(loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText: 'forecaster: model\n' }).forecaster, 'model');
  assert.match(controllerConfigError('forecaster: prophet\n').message, /controller\.yaml line 1: forecaster: .*"holt-winters".*"model"|forecaster/);
});

for (const [what, yaml, key, why] of [
  ['two credentials', 'prometheus:\n  url: https://p:9090\n  bearerTokenFile: /t\n  basicAuth: { username: u, passwordFile: /p }\n', 'prometheus.basicAuth', /use bearerTokenFile or basicAuth, not both/],
  ['an Authorization header beside a credential', 'prometheus:\n  url: https://p:9090\n  bearerTokenFile: /t\n  headers: { Authorization: "Bearer x" }\n', 'prometheus.headers', /would replace bearerTokenFile or basicAuth/],
  ['tls over http', 'prometheus:\n  url: http://p:9090\n  tls: { caFile: /ca.crt }\n', 'prometheus.tls', /tls needs an https:\/\/ url/],
  ['a client certificate without its key', 'prometheus:\n  url: https://p:9090\n  tls: { certFile: /c.crt }\n', 'prometheus.tls.certFile', /certFile and keyFile go together/],
  ['a header name with a space', 'prometheus:\n  url: https://p:9090\n  headers: { "X Tenant": a }\n', 'prometheus.headers.X Tenant', /"X Tenant" is not a header name/],
  ['an unknown auth key', 'prometheus:\n  url: https://p:9090\n  bearerToken: abc\n', 'prometheus.bearerToken', /unknown key/],
] as const) {
  test(`controller config: prometheus auth with ${what} is a coded error naming ${key}`, () => {
    const err = controllerConfigError(yaml);
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.match(err.message, new RegExp(`controller\\.yaml line \\d+: ${key.replace(/\./g, '\\.')}`), err.message);
    assert.match(err.message, why, err.message);
  });
}

test('controller config: gpu.source is agent, dcgm or auto (default auto), frozen; anything else is a coded error naming gpu.source', () => {
  assert.equal(loadConfig(controllerConfigSchema, {}).gpu.source, 'auto');
  const dcgm = loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText: 'gpu:\n  source: dcgm\n' });
  assert.equal(dcgm.gpu.source, 'dcgm');
  assert.ok(Object.isFrozen(dcgm.gpu), 'the gpu section is frozen');
  const err = controllerConfigError('gpu:\n  source: nvml\n');
  assert.equal(err.code, ErrorCode.ConfigInvalid);
  assert.match(err.message, /controller\.yaml line \d+: gpu\.source: /);
  assert.match(controllerConfigError('gpu:\n  sources: dcgm\n').message, /gpu/);
});

test('controller config: gpu.nodeSelector is a label selector (default empty: every node); one the parser cannot read is a coded error naming gpu.nodeSelector', () => {
  assert.equal(loadConfig(controllerConfigSchema, {}).gpu.nodeSelector, '');
  assert.equal(loadConfig(controllerConfigSchema, { fileText: 'gpu:\n  nodeSelector: "nvidia.com/gpu.present=true,pool in (a,b)"\n' }).gpu.nodeSelector, 'nvidia.com/gpu.present=true,pool in (a,b)');
  const err = controllerConfigError('gpu:\n  nodeSelector: "pool in (a"\n');
  assert.equal(err.code, ErrorCode.ConfigInvalid);
  assert.match(err.message, /controller\.yaml line \d+: gpu\.nodeSelector: not a label selector/);
});
