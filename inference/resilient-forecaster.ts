import type { Logger } from '../common/logger.ts';
import type { MetricRegistry } from '../common/metrics.ts';
import { errorMessage } from '../common/errors.ts';
import type { FallbackReason, OnnxForecaster } from './onnx-forecaster.ts';
import type { ForecastBatch, ForecastRequest, Forecaster, SeriesForecast } from './forecaster.ts';

export interface ResilientForecasterDeps {
  readonly logger: Logger;
  readonly metrics: MetricRegistry;
}

export interface ResilientForecasterConfig {
  /** The model, or undefined when it could not be loaded (then `loadFailure` says why). */
  readonly primary: OnnxForecaster | undefined;
  readonly loadFailure?: { readonly reason: FallbackReason; readonly message: string };
  readonly fallback: Forecaster;
}

/**
 * The source a fallback forecast carries: the fallback's name and why the model did not answer
 * (`holt-winters (fallback: horizon)`). It reaches the replay summary's sources, the decision log
 * and the scaling Event's message, beside the counter below, so a silent fallback shows where an
 * SRE looks.
 */
export function fallbackSource(name: string, reason: FallbackReason): string {
  return `${name} (fallback: ${reason})`;
}

/** The metric counting series forecast by the fallback, by reason. */
export const FALLBACK_METRIC = 'surgeguard_forecast_fallbacks_total';

/**
 * Creates the forecaster the controller and replay use: the model for every series it can take, the
 * statistical fallback for the rest (model missing, corrupt, wrong contract, throwing, too little
 * history, horizon or interval it cannot serve). Each fallback is counted per series and reason, and
 * logged once per reason so a long replay does not flood the log.
 */
export function createResilientForecaster(deps: ResilientForecasterDeps, config: ResilientForecasterConfig): Forecaster {
  const counter = deps.metrics.counter(FALLBACK_METRIC, 'Series forecast by the statistical fallback instead of the model, by reason.', ['reason']);
  const logged = new Set<FallbackReason>();
  const note = (reason: FallbackReason, count: number, message: string): void => {
    counter.inc({ reason }, count);
    if (logged.has(reason)) return;
    logged.add(reason);
    deps.logger.warn({ reason, fallback: config.fallback.name, series: count }, `forecast fallback: ${message}`);
  };
  const { primary, fallback } = config;
  return {
    name: primary ? `${primary.name}+${fallback.name}` : fallback.name,
    runsOn: primary ? primary.runsOn : fallback.runsOn,
    version: primary ? primary.version : `${fallback.version} (model unavailable)`,
    async forecast(request: ForecastRequest): Promise<ForecastBatch> {
      if (!primary) {
        const reason = config.loadFailure?.reason ?? 'missing';
        note(reason, request.histories.length, config.loadFailure?.message ?? 'no model');
        const out = await fallback.forecast(request);
        // One source per forecast, as on the path with a model below, whatever the fallback names.
        return { forecasts: out.forecasts, sources: out.forecasts.map((_, j) => fallbackSource(out.sources[j] ?? fallback.name, reason)) };
      }
      const modelIdx: number[] = [];
      const fallbackIdx = new Map<FallbackReason, number[]>();
      request.histories.forEach((h, i) => {
        const reason = primary.fallbackReason(h.length, request.intervalSeconds, request.horizonSteps);
        if (reason === undefined) modelIdx.push(i);
        else fallbackIdx.set(reason, [...(fallbackIdx.get(reason) ?? []), i]);
      });
      const forecasts = new Array<SeriesForecast>(request.histories.length);
      const sources = new Array<string>(request.histories.length);
      if (modelIdx.length > 0) {
        try {
          const out = await primary.forecast({ ...request, histories: modelIdx.map((i) => request.histories[i] as ArrayLike<number>) });
          modelIdx.forEach((i, j) => {
            forecasts[i] = out.forecasts[j] as SeriesForecast;
            sources[i] = out.sources[j] ?? primary.name;
          });
        } catch (err) {
          fallbackIdx.set('error', [...(fallbackIdx.get('error') ?? []), ...modelIdx]);
          note('error', 0, `model run failed: ${errorMessage(err)}`);
        }
      }
      for (const [reason, idx] of fallbackIdx) {
        note(reason, idx.length, describe(reason, request));
        const out = await fallback.forecast({ ...request, histories: idx.map((i) => request.histories[i] as ArrayLike<number>) });
        idx.forEach((i, j) => {
          forecasts[i] = out.forecasts[j] as SeriesForecast;
          sources[i] = fallbackSource(out.sources[j] ?? fallback.name, reason);
        });
      }
      return { forecasts, sources };
    },
    async close(): Promise<void> {
      await primary?.close();
      await fallback.close();
    },
  };
}

function describe(reason: FallbackReason, request: ForecastRequest): string {
  switch (reason) {
    case 'history':
      return 'too little history for the model';
    case 'horizon':
      return `the model's horizon does not reach ${request.horizonSteps} intervals (pod startup)`;
    case 'interval':
      return `the model has no interval that ${request.intervalSeconds}s divides`;
    default:
      return `model ${reason}`;
  }
}
