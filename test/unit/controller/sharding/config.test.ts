// sharding in the controller's schema: off by default, bad values a coded error naming the key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../../common/config.ts';
import { ErrorCode } from '../../../../common/errors.ts';
import { controllerConfigSchema } from '../../../../controller/config.ts';
import { shardingActive } from '../../../../controller/sharding/config.ts';
import { controllerConfigError } from '../../../helpers/thrown.ts';


test('sharding is off by default, and with one shard changes nothing', () => {
  const c = loadConfig(controllerConfigSchema, {});
  assert.equal(c.sharding.enabled, false);
  assert.equal(shardingActive(c.sharding), false);
  assert.equal(shardingActive(loadConfig(controllerConfigSchema, { fileText: 'sharding: { enabled: true, shards: 1 }\n' }).sharding), false);
  const on = loadConfig(controllerConfigSchema, { fileText: 'sharding: { enabled: true }\n' }).sharding;
  assert.equal(shardingActive(on), true);
  assert.deepEqual([on.shards, on.leaseDurationSeconds, on.renewDeadlineSeconds, on.retryPeriodSeconds, on.memberLeaseDeleteAfterSeconds], [32, 30, 20, 5, 300]);
  // Dead membership Leases are deleted after ten lease durations unless set.
  assert.equal(loadConfig(controllerConfigSchema, { fileText: 'sharding: { enabled: true, leaseDurationSeconds: 6, renewDeadlineSeconds: 4 }\n' }).sharding.memberLeaseDeleteAfterSeconds, 60);
  assert.equal(loadConfig(controllerConfigSchema, { fileText: 'sharding: { enabled: true, memberLeaseDeleteAfterSeconds: 60 }\n' }).sharding.memberLeaseDeleteAfterSeconds, 60);
  assert.ok(Object.isFrozen(loadConfig(controllerConfigSchema, {})), 'the config is frozen');
});

for (const [key, yaml] of [
  ['sharding.shards', 'sharding: { enabled: true, shards: 0 }\n'],
  ['sharding.shards', 'sharding: { enabled: true, shards: 2.5 }\n'],
  ['sharding.renewDeadlineSeconds', 'sharding: { enabled: true, leaseDurationSeconds: 10, renewDeadlineSeconds: 10 }\n'],
  ['sharding.memberLeasePrefix', 'sharding: { memberLeasePrefix: "Members_" }\n'],
  ['sharding.replicas', 'sharding: { replicas: 3 }\n'],
  ['sharding.memberLeaseDeleteAfterSeconds', 'sharding: { enabled: true, memberLeaseDeleteAfterSeconds: 59 }\n'],
  ['sharding.memberLeaseDeleteAfterSeconds', 'sharding: { enabled: true, memberLeaseDeleteAfterSeconds: 0 }\n'],
  ['sharding.memberLeasePrefix', 'sharding: { memberLeasePrefix: "sg-", shardLeasePrefix: "sg-shard-" }\n'],
  ['sharding.enabled', 'sharding: { enabled: true }\ncapacity:\n  placeholders:\n    enabled: true\n    pools: [{ name: a100, capGpus: 8, nodeSelector: { pool: a100 } }]\n'],
] as const) {
  test(`sharding config: ${yaml.trim()} is a coded error naming ${key}`, () => {
    const err = controllerConfigError(yaml);
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.match(err.message, new RegExp(key.split('.')[1] as string));
  });
}
