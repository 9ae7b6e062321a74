// The placeholders' config: off by default, checked as a whole at start, one coded error per bad key
// naming the path the user wrote, and frozen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../common/config.ts';
import { ErrorCode } from '../../../common/errors.ts';
import { controllerConfigSchema } from '../../../controller/config.ts';
import { controllerConfigError } from '../../helpers/thrown.ts';


const on = (pools: string): string => `capacity:\n  placeholders:\n    enabled: true\n    pools:\n${pools}`;

test('placeholders are off by default, with no pool, and the config is frozen', () => {
  const c = loadConfig(controllerConfigSchema, {});
  assert.equal(c.capacity.placeholders.enabled, false);
  assert.deepEqual(c.capacity.placeholders.pools, []);
  assert.equal(c.capacity.placeholders.priorityClassName, 'surgeguard-placeholder');
  assert.ok(Object.isFrozen(c.capacity.placeholders));
});

test('a pool gets its defaults: nvidia.com/gpu, one GPU per pod, no selector', () => {
  const c = loadConfig(controllerConfigSchema, { fileText: on('      - {name: a100, capGpus: 8}\n') });
  const p = c.capacity.placeholders.pools[0];
  assert.deepEqual({ resource: p?.resource, gpusPerPod: p?.gpusPerPod, nodeSelector: p?.nodeSelector, tolerations: p?.tolerations }, { resource: 'nvidia.com/gpu', gpusPerPod: 1, nodeSelector: {}, tolerations: [] });
  assert.ok(Object.isFrozen(p?.nodeSelector));
});

for (const [key, yaml, message] of [
  ['capacity.placeholders.pools', 'capacity:\n  placeholders:\n    enabled: true\n', /no pool is configured/],
  ['capacity.placeholders.pools.0.capGpus', on('      - {name: a100}\n'), /capGpus/],
  ['capacity.placeholders.pools.0.capGpus', on('      - {name: a100, capGpus: -1}\n'), /./],
  ['capacity.placeholders.pools.0.name', on('      - {name: A100_pool, capGpus: 8}\n'), /lowercase letters/],
  ['capacity.placeholders.pools.1.name', on('      - {name: a, capGpus: 8, scalers: [ns/x]}\n      - {name: a, capGpus: 8, scalers: [ns/y]}\n'), /configured twice/],
  ['capacity.placeholders.pools.0.gpusPerPod', on('      - {name: a, capGpus: 4, gpusPerPod: 8}\n'), /exceeds the pool's capGpus/],
  ['capacity.placeholders.pools.1.scalers', on('      - {name: a, capGpus: 4}\n      - {name: b, capGpus: 4}\n'), /list the scalers of each/],
  ['capacity.placeholders.pools.1.scalers.0', on('      - {name: a, capGpus: 4, scalers: [ns/x]}\n      - {name: b, capGpus: 4, scalers: [ns/x]}\n'), /listed in pool a too/],
  ['capacity.placeholders.pools.0.resource', on('      - {name: a, capGpus: 4, resource: "nvidia.com/"}\n'), /resource name/],
  ['capacity.placeholders.pools.0.tolerations.0.effect', on('      - {name: a, capGpus: 4, tolerations: [{key: gpu, effect: Never}]}\n'), /./],
  ['capacity.placeholders.pools.0.speed', on('      - {name: a, capGpus: 4, speed: 3}\n'), /./],
  ['capacity.placeholders.pools.0.pricePerGpuHour', on('      - {name: a, capGpus: 4, capCostPerHour: 20}\n'), /capCostPerHour needs the price of a GPU-hour/],
  ['capacity.placeholders.pools.0.pricePerGpuHour', on('      - {name: a, capGpus: 4, pricePerGpuHour: 0}\n'), /a price above 0/],
  ['capacity.placeholders.pools.0.pricePerGpuHour', on('      - {name: a, capGpus: 4, pricePerGpuHour: cheap}\n'), /./],
  ['capacity.placeholders.pools.0.capCostPerHour', on('      - {name: a, capGpus: 4, pricePerGpuHour: 2, capCostPerHour: -5}\n'), /./],
  ['capacity.placeholders.pools.0.capCostPerHour', on('      - {name: a, capGpus: 8, gpusPerPod: 4, pricePerGpuHour: 2.5, capCostPerHour: 9}\n'), /one placeholder pod \(4 GPUs at 2.5 per GPU-hour = 10 an hour\) exceeds the pool's capCostPerHour \(9\)/],
] as const) {
  test(`placeholders config: a coded error naming ${key}`, () => {
    const err = controllerConfigError(yaml);
    assert.equal(err.code, ErrorCode.ConfigInvalid);
    assert.match(err.message, new RegExp(`${key.replace(/\./g, '\\.')}\\b`));
    assert.match(err.message, message);
  });
}

test('a cost cap with its price is accepted; a price alone only prices the placeholders', () => {
  const c = loadConfig(controllerConfigSchema, { fileText: on('      - {name: a, capGpus: 8, pricePerGpuHour: 2.5, capCostPerHour: 12}\n      - {name: b, capGpus: 8, pricePerGpuHour: 1, scalers: [ns/y]}\n').replace('{name: a,', '{name: a, scalers: [ns/x],') });
  assert.deepEqual(c.capacity.placeholders.pools.map((p) => [p.pricePerGpuHour, p.capCostPerHour]), [[2.5, 12], [1, undefined]]);
});

test('two pools of one resource are fine when each lists its scalers', () => {
  const c = loadConfig(controllerConfigSchema, { fileText: on('      - {name: a, capGpus: 4, scalers: [ns/x]}\n      - {name: b, capGpus: 4, scalers: [ns/y]}\n') });
  assert.deepEqual(c.capacity.placeholders.pools.map((p) => p.name), ['a', 'b']);
});
