import type { HealingConfig } from '../config.ts';
import type { HealthCheck } from '../types.ts';
import { consumerStalledCheck } from './consumer-stalled.ts';
import { gpuEccCheck } from './gpu-ecc.ts';
import { gpuMissingCheck } from './gpu-missing.ts';
import type { GpuSource } from './gpu-source.ts';
import { gpuThermalCheck } from './gpu-thermal.ts';
import { gpuXidCheck } from './gpu-xid.ts';
import { podCrashLoopCheck } from './pod-crashloop.ts';
import { podNeverReadyCheck } from './pod-never-ready.ts';

/** Every built-in health check, one line each, alphabetical. */
export function builtinChecks(config: HealingConfig['checks'], gpuSource: GpuSource = 'auto'): HealthCheck[] {
  return [
    consumerStalledCheck({}, config),
    gpuEccCheck({}, config, gpuSource),
    gpuMissingCheck(),
    gpuThermalCheck({}, config, gpuSource),
    gpuXidCheck({}, config),
    podCrashLoopCheck({}, config),
    podNeverReadyCheck({}, config),
  ];
}
