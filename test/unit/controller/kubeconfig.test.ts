// The controller outside a pod with no kubeconfig used to build a config for an API server that
// is not there and retry it for ever; now it refuses at start, with a coded line naming why.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hasCode, ErrorCode, type SurgeGuardError } from '../../../common/errors.ts';
import { loadKubeConfig } from '../../../controller/controller.ts';

test('no kubeconfig outside a pod: a coded config error, at once', () => {
  assert.throws(
    () => loadKubeConfig(undefined, {}),
    (err: unknown) => hasCode(err, ErrorCode.ConfigInvalid) && /KUBERNETES_SERVICE_HOST is unset\): pass --kubeconfig FILE or set KUBECONFIG/.test((err as Error).message),
  );
});

test('a kubeconfig file that does not exist: a coded error naming the file', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-kc-')), 'missing.yaml');
  assert.throws(() => loadKubeConfig(file, {}), (err: unknown) => hasCode(err, ErrorCode.ConfigUnreadable) && (err as SurgeGuardError).message.includes(file));
});

test('a kubeconfig that is not one: a coded error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-kc-'));
  const garbage = join(dir, 'garbage.yaml');
  writeFileSync(garbage, '{ this is: [not yaml');
  assert.throws(() => loadKubeConfig(garbage, {}), (err: unknown) => hasCode(err, ErrorCode.ConfigInvalid) && (err as Error).message.includes(garbage));
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  assert.throws(() => loadKubeConfig(empty, {}), (err: unknown) => hasCode(err, ErrorCode.ConfigInvalid) && /names no current cluster/.test((err as Error).message));
});

test('in a pod (service host set), the ServiceAccount config is used', (t) => {
  // client-node reads the service address from process.env itself.
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  t.after(() => {
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  process.env.KUBERNETES_SERVICE_HOST = '10.0.0.1';
  process.env.KUBERNETES_SERVICE_PORT = '443';
  const kc = loadKubeConfig(undefined, { KUBERNETES_SERVICE_HOST: '10.0.0.1' });
  assert.equal(kc.getCurrentCluster()?.server, 'https://10.0.0.1:443');
});
