import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../common/logger.ts';
import type { MetricRegistry } from '../common/metrics.ts';
import { SurgeGuardError, errorMessage } from '../common/errors.ts';
import type { Forecaster, PolicyForecaster } from './forecaster.ts';
import { createHoltWintersForecaster } from './holt-winters.ts';
import { createOnnxForecaster, type FallbackReason, type OnnxForecaster, type OrtRuntime } from './onnx-forecaster.ts';
import { createResilientForecaster } from './resilient-forecaster.ts';

/** The model file shipped with the package (inference/models/ beside the sources, or above dist/). */
export function defaultModelPath(): string {
  const candidates = ['./models/surgeguard-forecaster.onnx', '../../inference/models/surgeguard-forecaster.onnx'];
  for (const rel of candidates) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL(candidates[0] as string, import.meta.url));
}

/**
 * True when onnxruntime-node has its CUDA provider library beside the binding. Without it, asking for
 * CUDA only prints a native error before the CPU retry, so the attempt is skipped.
 */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(join(pkg, 'bin/napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    // Not resolvable (bundled elsewhere): let the session attempt decide.
    return true;
  }
}

export interface LoadForecasterDeps {
  readonly logger: Logger;
  readonly metrics: MetricRegistry;
  readonly readFile: (path: string) => Promise<Uint8Array>;
  /** onnxruntime-node, or a stand-in; loaded lazily when absent so a broken native addon is a fallback too. */
  readonly ort?: OrtRuntime;
  /** Whether the CUDA provider library is installed; `cudaProviderInstalled` by default. */
  readonly hasCudaProvider?: () => boolean;
}

export interface LoadForecasterConfig {
  readonly modelPath: string;
  readonly providers: readonly ('cuda' | 'cpu')[];
  readonly minHistorySteps: number;
}

/**
 * Loads the model and wraps it with the Holt-Winters fallback. Never throws for a bad model: the
 * failure is logged and counted, and the fallback forecasts every series.
 */
export async function loadForecaster(deps: LoadForecasterDeps, config: LoadForecasterConfig): Promise<Forecaster> {
  const fallback = createHoltWintersForecaster();
  let primary: OnnxForecaster | undefined;
  let loadFailure: { reason: FallbackReason; message: string } | undefined;
  try {
    const ort = deps.ort ?? ((await import('onnxruntime-node')) as unknown as OrtRuntime);
    const cuda = config.providers.includes('cuda') && (deps.hasCudaProvider ?? cudaProviderInstalled)();
    if (config.providers.includes('cuda') && !cuda) deps.logger.info('CUDA execution provider not installed; the model runs on CPU');
    primary = await createOnnxForecaster({ ort, logger: deps.logger, readFile: deps.readFile }, { ...config, providers: cuda ? config.providers : ['cpu'] });
  } catch (err) {
    const reason = err instanceof SurgeGuardError ? ((err.details.reason as FallbackReason | undefined) ?? 'error') : 'error';
    loadFailure = { reason, message: errorMessage(err) };
    deps.logger.error({ reason, model: config.modelPath, err: errorMessage(err) }, 'forecasting model unavailable; the Holt-Winters fallback forecasts every series');
  }
  return createResilientForecaster({ logger: deps.logger, metrics: deps.metrics }, { primary, loadFailure, fallback });
}

/**
 * The forecaster a policy sizes fleets with: Holt-Winters (no model is loaded), or the model with
 * its fallback. Used by the controller, replay and the demo alike, so they agree on the default.
 */
export async function loadPolicyForecaster(deps: LoadForecasterDeps, config: LoadForecasterConfig & { readonly forecaster: PolicyForecaster }): Promise<Forecaster> {
  if (config.forecaster === 'holt-winters') return createHoltWintersForecaster();
  return loadForecaster(deps, config);
}
