import assert from 'node:assert/strict';
import { loadConfig } from '../../common/config.ts';
import { SurgeGuardError } from '../../common/errors.ts';
import { controllerConfigSchema } from '../../controller/config.ts';

/** The SurgeGuardError that fn throws; fails the test when it throws nothing or something else. */
export function thrownError(fn: () => unknown): SurgeGuardError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SurgeGuardError, `expected a SurgeGuardError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

/** The error a controller config file is refused with (read as controller.yaml). */
export function controllerConfigError(fileText: string): SurgeGuardError {
  return thrownError(() => loadConfig(controllerConfigSchema, { file: 'controller.yaml', fileText }));
}
