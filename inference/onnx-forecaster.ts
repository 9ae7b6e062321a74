import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { Logger } from '../common/logger.ts';
import { ErrorCode, SurgeGuardError, errorMessage } from '../common/errors.ts';
import { checkModelContract, type ModelContract } from './model-contract.ts';
import { orderedForecast, seasonSteps, type ForecastBatch, type ForecastRequest, type Forecaster, type SeriesForecast } from './forecaster.ts';

/** Why a series cannot be forecast by the model and goes to the fallback. */
export type FallbackReason = 'missing' | 'corrupt' | 'contract' | 'error' | 'history' | 'horizon' | 'interval';

/** The parts of onnxruntime-node the forecaster uses, injected so tests can hand in a fake session. */
export interface OrtRuntime {
  readonly InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;
}

export interface OnnxForecasterDeps {
  readonly ort: OrtRuntime;
  readonly logger: Logger;
  readonly readFile: (path: string) => Promise<Uint8Array>;
}

export interface OnnxForecasterConfig {
  readonly modelPath: string;
  /** Execution providers to try, in order; CPU is always the last resort. */
  readonly providers: readonly ('cuda' | 'cpu')[];
  /** Fewest intervals (at the model's interval) of history a series needs before the model is trusted. */
  readonly minHistorySteps: number;
}

/** The ONNX forecaster, plus what the resilient wrapper needs to decide per series. */
export interface OnnxForecaster extends Forecaster {
  readonly contract: ModelContract;
  /** Execution provider that runs the model (`cuda` or `cpu`). */
  readonly provider: string;
  /** Why one series should go to the fallback instead, or undefined when the model can forecast it. */
  fallbackReason(historyLength: number, intervalSeconds: number, horizonSteps: number): FallbackReason | undefined;
}

/**
 * Loads the forecasting model, checks its contract, and opens an ONNX Runtime session on CUDA when
 * present, else CPU. Throws SG_MODEL_INVALID (with `details.reason`) for a missing, corrupt or
 * wrong-contract model.
 */
export async function createOnnxForecaster(deps: OnnxForecasterDeps, config: OnnxForecasterConfig): Promise<OnnxForecaster> {
  let bytes: Uint8Array;
  try {
    bytes = await deps.readFile(config.modelPath);
  } catch (cause) {
    throw new SurgeGuardError(ErrorCode.ModelInvalid, `cannot read model ${config.modelPath}: ${errorMessage(cause)}`, { cause, details: { file: config.modelPath, reason: 'missing' } });
  }
  const contract = checkModelContract(bytes, config.modelPath);
  const { session, provider } = await openSession(deps, bytes, config);
  const missing = ['recent', 'seasonal', 'season_available'].filter((n) => !session.inputNames.includes(n));
  if (missing.length > 0 || !session.outputNames.includes('quantiles')) {
    await session.release();
    throw new SurgeGuardError(ErrorCode.ModelInvalid, `${config.modelPath}: graph inputs/outputs do not match the contract (missing ${missing.join(', ') || 'output quantiles'})`, {
      details: { file: config.modelPath, reason: 'contract' },
    });
  }
  deps.logger.info({ model: config.modelPath, version: contract.version, provider }, 'forecasting model loaded');
  return new OnnxModel(deps.ort, session, contract, { provider, minHistorySteps: config.minHistorySteps });
}

async function openSession(deps: OnnxForecasterDeps, bytes: Uint8Array, config: OnnxForecasterConfig): Promise<{ session: InferenceSession; provider: string }> {
  const wanted = config.providers.includes('cuda') ? ['cuda', 'cpu'] : ['cpu'];
  try {
    // Severity 4 (fatal only): a missing CUDA library is expected on CPU machines and is reported below.
    const session = await deps.ort.InferenceSession.create(bytes, { executionProviders: wanted, graphOptimizationLevel: 'all', logSeverityLevel: wanted[0] === 'cuda' ? 4 : 2 });
    return { session, provider: wanted[0] ?? 'cpu' };
  } catch (cause) {
    if (wanted[0] !== 'cuda') throw cannotLoad(config.modelPath, cause);
    // Creating a session with CUDA throws when its libraries are missing; CPU is the documented fallback.
    deps.logger.info({ err: errorMessage(cause) }, 'CUDA execution provider unavailable; using CPU');
    try {
      return { session: await deps.ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' }), provider: 'cpu' };
    } catch (cpuCause) {
      throw cannotLoad(config.modelPath, cpuCause);
    }
  }
}

function cannotLoad(file: string, cause: unknown): SurgeGuardError {
  return new SurgeGuardError(ErrorCode.ModelInvalid, `${file}: ONNX Runtime cannot load the model: ${errorMessage(cause)}`, { cause, details: { file, reason: 'corrupt' } });
}

class OnnxModel implements OnnxForecaster {
  readonly name = 'onnx';
  readonly runsOn: string;
  readonly version: string;
  readonly contract: ModelContract;
  readonly provider: string;
  private readonly ort: OrtRuntime;
  private readonly session: InferenceSession;
  private readonly minHistorySteps: number;
  private readonly qIndex: { p10: number; p50: number; p90: number };

  constructor(ort: OrtRuntime, session: InferenceSession, contract: ModelContract, opts: { provider: string; minHistorySteps: number }) {
    this.ort = ort;
    this.session = session;
    this.contract = contract;
    this.provider = opts.provider;
    this.runsOn = `onnxruntime ${opts.provider}`;
    this.version = `${contract.name}@${contract.version}`;
    this.minHistorySteps = opts.minHistorySteps;
    const q = contract.quantiles;
    this.qIndex = { p10: q.indexOf(0.1), p50: q.indexOf(0.5), p90: q.indexOf(0.9) };
  }

  /**
   * How many of the caller's intervals make one model interval for a forecast `horizonSteps` ahead, or
   * undefined when no model interval fits. The finest model interval whose horizon reaches the lead is
   * chosen: a 180 s startup at a 15 s tick needs 13 steps, past the model's 12, so it reads 60 s sums.
   */
  aggregation(intervalSeconds: number, horizonSteps = 1): { factor: number } | { reason: 'interval' | 'horizon' } {
    const factors = wholeMultiples(this.contract.intervalSeconds, intervalSeconds);
    if (factors.length === 0) return { reason: 'interval' };
    const factor = factors.find((f) => Math.ceil(horizonSteps / f) <= this.contract.horizon);
    return factor === undefined ? { reason: 'horizon' } : { factor };
  }

  fallbackReason(historyLength: number, intervalSeconds: number, horizonSteps: number): FallbackReason | undefined {
    const a = this.aggregation(intervalSeconds, horizonSteps);
    if ('reason' in a) return a.reason;
    if (Math.floor(historyLength / a.factor) < this.minHistorySteps) return 'history';
    return undefined;
  }

  async forecast(request: ForecastRequest): Promise<ForecastBatch> {
    const n = request.histories.length;
    const a = this.aggregation(request.intervalSeconds, request.horizonSteps);
    if ('reason' in a) throw new SurgeGuardError(ErrorCode.ForecastFailed, `model cannot forecast ${request.horizonSteps} steps of ${request.intervalSeconds}s`);
    if (n === 0) return { forecasts: [], sources: [] };
    const f = a.factor;
    const { inputLength: L, seasonalContext: C, horizon: H } = this.contract;
    const inputs = modelInputs(request.histories, { contract: this.contract, intervalSeconds: request.intervalSeconds, factor: f });
    const out = await this.session.run({
      recent: new this.ort.Tensor('float32', inputs.recent, [n, L]),
      seasonal: new this.ort.Tensor('float32', inputs.seasonal, [n, C + H]),
      season_available: new this.ort.Tensor('float32', inputs.seasonAvailable, [n, 1]),
    });
    const q = out.quantiles?.data as Float32Array | undefined;
    if (!q || q.length !== n * H * this.contract.quantiles.length) throw new SurgeGuardError(ErrorCode.ForecastFailed, 'model output has the wrong shape');
    const forecasts: SeriesForecast[] = [];
    for (let i = 0; i < n; i++) forecasts.push(this.unpack(q, i, f, request.horizonSteps));
    const source = f === 1 ? this.name : `${this.name}@${request.intervalSeconds * f}s`;
    return { forecasts, sources: new Array<string>(n).fill(source) };
  }

  private unpack(q: Float32Array, i: number, f: number, steps: number): SeriesForecast {
    const Q = this.contract.quantiles.length;
    const base = i * this.contract.horizon * Q;
    const p10 = new Float64Array(steps);
    const p50 = new Float64Array(steps);
    const p90 = new Float64Array(steps);
    for (let s = 0; s < steps; s++) {
      // A model step of f caller intervals spreads its count evenly over them.
      const o = base + Math.floor(s / f) * Q;
      const mid = (q[o + this.qIndex.p50] ?? 0) / f;
      p50[s] = mid;
      p90[s] = (q[o + this.qIndex.p90] ?? 0) / f;
      p10[s] = this.qIndex.p10 >= 0 ? (q[o + this.qIndex.p10] ?? 0) / f : Math.max(0, 2 * mid - (p90[s] ?? 0));
    }
    return orderedForecast(p10, p50, p90);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** The factors f (ascending) for which f caller intervals make exactly one of the model's intervals. */
function wholeMultiples(modelIntervals: readonly number[], intervalSeconds: number): number[] {
  const out: number[] = [];
  for (const m of modelIntervals) {
    const f = m / intervalSeconds;
    // Only whole multiples: a model interval made of several caller intervals (sums of counts).
    if (Math.abs(f - Math.round(f)) < 1e-9 && f >= 1) out.push(Math.round(f));
  }
  return out.sort((x, y) => x - y);
}

/** The model's input tensors for a batch, flattened row by row (what `session.run` is fed). */
export interface ModelInputs {
  readonly recent: Float32Array;
  readonly seasonal: Float32Array;
  readonly seasonAvailable: Float32Array;
}

/**
 * Builds the model's inputs for each history: summed into model intervals of `factor` caller
 * intervals (ending at the current one), then the window that `window()` in
 * inference/training/train.py builds. Exported so a test can hold it to train.py's golden inputs.
 */
export function modelInputs(histories: readonly ArrayLike<number>[], at: { contract: ModelContract; intervalSeconds: number; factor: number }): ModelInputs {
  const { inputLength: L, seasonalContext: C, horizon: H } = at.contract;
  const period = seasonSteps(at.intervalSeconds * at.factor);
  const lag = period * Math.ceil(H / period);
  const n = histories.length;
  const x: Inputs = { recent: new Float32Array(n * L), seasonal: new Float32Array(n * (C + H)), avail: new Float32Array(n), i: 0, L, C, H, lag };
  histories.forEach((h, i) => {
    x.i = i;
    // At the model's own interval the history is read in place; otherwise it is summed into model intervals first.
    fillInputs(at.factor === 1 ? h : aggregate(h, at.factor, L + lag + C), x);
  });
  return { recent: x.recent, seasonal: x.seasonal, seasonAvailable: x.avail };
}

/** The last `keep` model intervals of a history, each the sum of f caller intervals ending at the current one. */
function aggregate(h: ArrayLike<number>, f: number, keep: number): Float64Array {
  const total = Math.floor(h.length / f);
  const n = Math.min(total, keep);
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    const end = h.length - (n - 1 - j) * f;
    for (let k = end - f; k < end; k++) s += h[k] ?? 0;
    out[j] = s;
  }
  return out;
}

interface Inputs {
  recent: Float32Array;
  seasonal: Float32Array;
  avail: Float32Array;
  i: number;
  L: number;
  C: number;
  H: number;
  lag: number;
}

/** Writes one series' model inputs; mirrors `window()` in inference/training/train.py. */
function fillInputs(h: ArrayLike<number>, x: Inputs): void {
  const n = h.length;
  const t = n - 1;
  const first = h[Math.max(0, n - x.L)] ?? 0;
  for (let j = 0; j < x.L; j++) {
    const idx = n - x.L + j;
    x.recent[x.i * x.L + j] = idx >= 0 ? (h[idx] ?? 0) : first;
  }
  const start = t - x.lag - x.C + 1;
  const width = x.C + x.H;
  const ok = start >= 0;
  x.avail[x.i] = ok ? 1 : 0;
  for (let j = 0; j < width; j++) x.seasonal[x.i * width + j] = ok ? (h[start + j] ?? 0) : (h[t] ?? 0);
}
