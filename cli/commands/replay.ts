import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DestinationStream } from 'pino';
import type { Command, CommandIO } from '../command.ts';
import type { Forecaster } from '../../inference/forecaster.ts';
import { ErrorCode, SurgeGuardError, errorMessage } from '../../common/errors.ts';
import { authenticatedFetch } from '../../common/http-auth.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetricRegistry } from '../../common/metrics.ts';
import { FRONTIER_VERSION, type ReactivePoint } from '../../replay/baselines.ts';
import { conventionCapacity, conventionStartupSteps } from '../../replay/convention.ts';
import { parseDurationSeconds } from '../../replay/duration.ts';
import { outputCsv } from '../../replay/output.ts';
import { readPrometheusTrace } from '../../replay/prometheus-source.ts';
import { createProgressBar } from '../../replay/progress.ts';
import { replayDemand, type ReplayResult } from '../../replay/replay.ts';
import { htmlReport } from '../../replay/report.ts';
import type { NodeSettings } from '../../replay/nodes.ts';
import { DEFAULT_HPA_ACTUATOR, type HpaActuatorSettings } from '../../replay/hpa-actuator.ts';
import { summaryText } from '../../replay/summary-text.ts';
import { parseWeights, type RequestWeight, type Trace } from '../../replay/trace.ts';
import { readTraceFile } from '../../replay/trace-file.ts';
import { onReplayClock, parseScheduleFile } from '../../replay/schedule-file.ts';
import type { CampaignWindow } from '../../controller/scaling/campaign.ts';
import { EXIT_CODES_HELP } from '../exit-codes.ts';
import { TRACE_LIMIT_OPTIONS, TRACE_LIMITS_HELP, traceLimits, type TraceLimits } from '../trace-input.ts';
import { policySettingsSchema, type PolicySettings } from '../../controller/scaling/policy.ts';
import { defaultModelPath, loadForecaster, loadPolicyForecaster } from '../../inference/load.ts';
import { FORECASTER_HELP, parseForecaster } from '../forecaster-flag.ts';
import { createHoltWintersForecaster } from '../../inference/holt-winters.ts';
import { createSeasonalNaiveForecaster } from '../../inference/seasonal-naive.ts';

const USAGE = `Usage: surgeguard replay [--trace FILE] --capacity N [options]

Runs the controller's forecast and decide code on a recorded demand series against a simulated fleet
and compares it with reactive autoscaling. With no arguments it replays a bundled trace (NAB Twitter
mentions of AAPL, 5-minute intervals) with the benchmark convention's capacity and startup.

Input:
  --trace FILE            CSV with a header; one row per interval (value = requests in it)
  --per-request           one row per request instead; counted per --bucket (default 15s)
  --bucket DURATION       bucket length in per-request mode (15s, 1m, ...)
  --weight-columns LIST   per-request mode: each request counts as the sum of these columns
                          instead of 1, each with an optional factor: LLM demand in tokens is
                          ContextTokens,GeneratedTokens (then --capacity is tokens per interval)
  --time-column NAME      default "timestamp"; --value-column NAME default "value"
  --fill previous|zero    what fills a gap longer than one interval or an empty value
                          (no data recorded): the previous value (default) or zero
${TRACE_LIMITS_HELP}
  --prometheus-url URL --query Q [--range 7d] [--step 1m] [--query-unit rate|count]
  --prometheus-bearer-token-file F, --prometheus-ca-file F, --prometheus-header "Name: value"
                          for a Prometheus behind auth (the header flag may repeat)
                          replay your own history from Prometheus (query_range); a rate is
                          multiplied by the step to give requests per interval
Fleet:
  --capacity N|auto       requests one replica serves per interval (auto: p95/10, the benchmark rule)
  --startup-steps K       intervals from adding a pod to its first serving interval
  --startup-seconds S     the same in seconds, rounded up to whole intervals
  --min-replicas N        default 1; --max-replicas N default 10000
  --backlog               unserved work waits in a queue (Kafka-fed fleet) instead of being dropped
Policy:
${FORECASTER_HELP}
  --model FILE            ONNX model (default: the bundled one); --cpu to skip the CUDA provider
  --headroom X --quantile p50|p90 --stabilization-seconds S
  --learned-floor S       a reactive floor each target learns from its own past, for intervals of at
                          most S seconds (default 0: off; docs/forecasting.md, third round)
  --ramp-floor S          extrapolate a rising ramp over the pods' startup, for intervals of at most
                          S seconds (default 60; 0: off; docs/forecasting.md, ramp floor)
  --schedule FILE         campaign windows, as the PredictiveScaler's spec.schedule (the manifest
                          itself, a mapping with schedule:, or the list; YAML or JSON): the same
                          rule the controller runs, pre-scaled prescaleSeconds + startup ahead
  --panic                 the live panic window on demand per replica: at 2x a replica's capacity
                          scale at once (no scale-up limit); no scale-down while above it
Actuator:
  --actuator direct|hpa   direct (default): the decisions are the fleet's targets; hpa: they reach
                          the fleet through an HPA reading surgeguard_desired_replicas (its
                          tolerance, scale-down window, scale-up rate limit and sync lag)
  --hpa-tolerance X       the HPA's tolerance (default 0.1, the controller-manager's)
  --hpa-scale-down-window S   the HPA's scale-down stabilization (default 0, as docs/hpa.md sets it)
GPU nodes (issue 18; the summary adds Pending time, unserved demand and GPU-node-hours on nodes,
without and with SurgeGuard's forecast-sized placeholders; docs/capacity.md says the model):
  --node-lead-time D      time from a node requested to Ready (3m, 10m); turns the node model on
  --gpus-free N           GPUs free at the start besides the starting fleet's (default 0)
  --gpus-per-node N       default 8; --gpu-per-replica N default 1
  --placeholder-cap-gpus N   the most GPUs placeholders hold or ask for (default: max replicas' GPUs)
  --placeholder-stabilization D  how long a higher need holds placeholders (default 10m)
  --node-scale-down-delay D      how long a node stays empty before it is removed (default 10m)
Output:
  --out FILE              per-interval CSV, and FILE.json with the run's parameters
  --report FILE.html      a page to open offline: demand, forecast band, replicas, unserved
  --no-compare            skip the comparison runs (seasonal-naive, and the forecaster not chosen)

The summary says how many rows each input rule changed (rows with a repeated timestamp summed,
gaps and empty values filled); so does FILE.json (input_changes). Every fleet, the reactive
baselines' included, is capped at --max-replicas.

${EXIT_CODES_HELP}`;

const OPTIONS = {
  trace: { type: 'string' },
  'per-request': { type: 'boolean' },
  bucket: { type: 'string' },
  'time-column': { type: 'string' },
  'value-column': { type: 'string' },
  'weight-columns': { type: 'string' },
  fill: { type: 'string' },
  ...TRACE_LIMIT_OPTIONS,
  'prometheus-url': { type: 'string' },
  'prometheus-bearer-token-file': { type: 'string' },
  'prometheus-ca-file': { type: 'string' },
  'prometheus-header': { type: 'string', multiple: true },
  query: { type: 'string' },
  range: { type: 'string' },
  step: { type: 'string' },
  'query-unit': { type: 'string' },
  capacity: { type: 'string' },
  'startup-steps': { type: 'string' },
  'startup-seconds': { type: 'string' },
  'min-replicas': { type: 'string' },
  'max-replicas': { type: 'string' },
  backlog: { type: 'boolean' },
  panic: { type: 'boolean' },
  schedule: { type: 'string' },
  actuator: { type: 'string' },
  'hpa-tolerance': { type: 'string' },
  'hpa-scale-down-window': { type: 'string' },
  forecaster: { type: 'string' },
  model: { type: 'string' },
  cpu: { type: 'boolean' },
  headroom: { type: 'string' },
  quantile: { type: 'string' },
  'stabilization-seconds': { type: 'string' },
  'learned-floor': { type: 'string' },
  'ramp-floor': { type: 'string' },
  'node-lead-time': { type: 'string' },
  'gpus-free': { type: 'string' },
  'gpus-per-node': { type: 'string' },
  'gpu-per-replica': { type: 'string' },
  'placeholder-cap-gpus': { type: 'string' },
  'placeholder-stabilization': { type: 'string' },
  'node-scale-down-delay': { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  'no-compare': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>>['values'];

/** A bundled trace by file name: `surgeguard replay` runs the AAPL one without arguments, `surgeguard demo` DEMO_TRACE. */
export function sampleTracePath(name = 'Twitter_volume_AAPL.csv'): string {
  for (const rel of [`../../inference/models/sample-traces/${name}`, `../../../inference/models/sample-traces/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    try {
      readFileSync(p, { flag: 'r' }).subarray(0, 1);
      return p;
    } catch {
      // Sources and dist/ sit at different depths; try the next.
    }
  }
  return fileURLToPath(new URL(`../../inference/models/sample-traces/${name}`, import.meta.url));
}

function usageError(message: string): SurgeGuardError {
  return new SurgeGuardError(ErrorCode.UsageInvalid, `${message}\n\n${USAGE}`);
}

function numberOption(v: Values, name: keyof Values, check: (n: number) => boolean, what: string): number | undefined {
  const raw = v[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw usageError(`--${name} must be ${what}, got "${String(raw)}"`);
  return n;
}

async function readSource(v: Values, limits: TraceLimits): Promise<{ trace: Trace; label: string }> {
  return v['prometheus-url'] ? readPrometheus(v, v['prometheus-url'], limits) : readTrace(v, limits);
}

/** An http(s) URL, checked before any request: a typo is a usage error, not a failed fetch. */
function prometheusUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`--prometheus-url must be an http(s) URL such as http://prometheus:9090, got "${url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError(`--prometheus-url must be an http(s) URL such as http://prometheus:9090, got "${url}" (${u.protocol})`);
  return url;
}

async function readPrometheus(v: Values, rawUrl: string, limits: TraceLimits): Promise<{ trace: Trace; label: string }> {
  const url = prometheusUrl(rawUrl);
  if (!v.query) throw usageError('--prometheus-url needs --query');
  const rangeSeconds = parseDurationSeconds(v.range ?? '7d');
  const stepSeconds = parseDurationSeconds(v.step ?? '1m');
  if (!rangeSeconds || !stepSeconds) throw usageError('--range and --step must be durations such as 7d and 1m');
  const unit = v['query-unit'] ?? 'rate';
  if (unit !== 'rate' && unit !== 'count') throw usageError('--query-unit must be rate or count');
  const trace = await readPrometheusTrace({ fetch: prometheusAuthFetch(v, url), nowSeconds: () => Date.now() / 1000 }, { url, query: v.query, rangeSeconds, stepSeconds, unit, maxGapIntervals: limits.maxGapIntervals });
  return { trace, label: `${v.query} @ ${url}` };
}

/** The fetch for --prometheus-url: plain, or with the auth flags (common/http-auth.ts, as the controller's). */
function prometheusAuthFetch(v: Values, url: string): typeof fetch {
  const token = v['prometheus-bearer-token-file'];
  const ca = v['prometheus-ca-file'];
  const headers = headerFlags(v['prometheus-header'] ?? []);
  if (ca && !url.startsWith('https://')) throw usageError('--prometheus-ca-file needs an https:// --prometheus-url');
  if (!token && !ca && Object.keys(headers).length === 0) return fetch;
  for (const [flag, file] of [['--prometheus-bearer-token-file', token], ['--prometheus-ca-file', ca]] as const) {
    if (file && !existsSync(file)) throw usageError(`${flag}: no such file ${file}`);
  }
  return authenticatedFetch({ ...(token ? { bearerTokenFile: token } : {}), ...(ca ? { tls: { caFile: ca, insecureSkipVerify: false } } : {}), headers });
}

/** `--prometheus-header "Name: value"`, repeated, as headers; a malformed one is a usage error. */
function headerFlags(flags: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of flags) {
    const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+):\s*(.*)$/.exec(h);
    if (!m) throw usageError(`--prometheus-header must be "Name: value", got "${h}"`);
    headers[m[1] as string] = m[2] as string;
  }
  return headers;
}

/** Checks the input-mode flags; returns the fill rule and the bucket length (per-request mode only). */
function inputMode(v: Values): { fill: 'previous' | 'zero'; bucketSeconds?: number; weights?: RequestWeight[] } {
  const fill = v.fill ?? 'previous';
  if (fill !== 'previous' && fill !== 'zero') throw usageError('--fill must be previous or zero');
  if (!v['per-request']) {
    if (v.bucket !== undefined) throw usageError('--bucket needs --per-request');
    if (v['weight-columns'] !== undefined) throw usageError('--weight-columns needs --per-request (interval rows already carry their demand in --value-column)');
    return { fill };
  }
  const bucketSeconds = parseDurationSeconds(v.bucket ?? '15s');
  if (!bucketSeconds) throw usageError(`--bucket must be a duration such as 15s, got "${v.bucket ?? ''}"`);
  if (v['weight-columns'] === undefined) return { fill, bucketSeconds };
  const weights = parseWeights(v['weight-columns']);
  if (!weights) throw usageError(`--weight-columns must be column names separated by commas, each with an optional *FACTOR above 0 (ContextTokens*0.1,GeneratedTokens), got "${v['weight-columns']}"`);
  return { fill, bucketSeconds, weights };
}

/** What one unit of demand is, for the summary and the JSON: requests, or the weighted columns. */
function demandUnit(v: Values): string {
  return v['per-request'] && v['weight-columns'] !== undefined ? `weighted ${v['weight-columns']}` : 'requests';
}

async function readTrace(v: Values, limits: TraceLimits): Promise<{ trace: Trace; label: string }> {
  const file = v.trace ?? sampleTracePath();
  const { fill, bucketSeconds, weights } = inputMode(v);
  const trace = await readTraceFile({ file, timeColumn: v['time-column'] ?? 'timestamp', valueColumn: v['value-column'] ?? 'value', bucketSeconds, ...(weights ? { weights } : {}), fill, maxGapIntervals: limits.maxGapIntervals, maxBytes: limits.maxBytes });
  return { trace, label: file };
}

/**
 * Checks that an output file can be written before the run (which may take minutes): its directory
 * exists and is writable, and the path is not a directory. A failure names the flag and the path.
 */
function checkOutputPath(flag: string, file: string, cwd: string): string {
  const path = resolve(cwd, file);
  const dir = dirname(path);
  const fail = (why: string, cause?: unknown): SurgeGuardError =>
    new SurgeGuardError(ErrorCode.UsageInvalid, `--${flag} ${file}: ${why}; nothing was run`, { ...(cause === undefined ? {} : { cause }), details: { flag, file } });
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(dir, { throwIfNoEntry: false });
  } catch (cause) {
    throw fail(`cannot read the directory ${dir}: ${errorMessage(cause)}`, cause);
  }
  if (st === undefined) throw fail(`the directory ${dir} does not exist (create it first)`);
  if (!st.isDirectory()) throw fail(`${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch (cause) {
    throw fail(`the directory ${dir} is not writable`, cause);
  }
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw fail(`${path} is a directory`);
  return path;
}

function policySettings(v: Values): PolicySettings {
  const raw: Record<string, unknown> = {};
  if (v.headroom !== undefined) raw.headroom = Number(v.headroom);
  if (v.quantile !== undefined) raw.quantile = v.quantile;
  if (v['stabilization-seconds'] !== undefined) raw.scaleDownStabilizationSeconds = Number(v['stabilization-seconds']);
  if (v['learned-floor'] !== undefined) raw.learnedFloorMaxIntervalSeconds = Number(v['learned-floor']);
  if (v['ramp-floor'] !== undefined) raw.rampFloorMaxIntervalSeconds = Number(v['ramp-floor']);
  const parsed = policySettingsSchema.safeParse(raw);
  if (!parsed.success) throw usageError(`invalid policy option: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** --actuator and the HPA's settings; undefined for the direct actuator. */
function hpaActuatorOptions(v: Values): HpaActuatorSettings | undefined {
  const kind = v.actuator ?? 'direct';
  if (kind !== 'direct' && kind !== 'hpa') throw usageError(`--actuator must be direct or hpa, got "${kind}"`);
  if (kind === 'direct') {
    if (v['hpa-tolerance'] !== undefined || v['hpa-scale-down-window'] !== undefined) throw usageError('--hpa-tolerance and --hpa-scale-down-window need --actuator hpa');
    return undefined;
  }
  const tolerance = numberOption(v, 'hpa-tolerance', (n) => n >= 0 && n < 1, 'a number in [0, 1)') ?? DEFAULT_HPA_ACTUATOR.tolerance.up;
  const window = numberOption(v, 'hpa-scale-down-window', (n) => n >= 0 && n <= 3600, 'seconds in [0, 3600]') ?? DEFAULT_HPA_ACTUATOR.scaleDownWindowSeconds;
  return { ...DEFAULT_HPA_ACTUATOR, tolerance: { up: tolerance, down: tolerance }, scaleDownWindowSeconds: window };
}

function fleetOptions(v: Values, trace: Trace, defaultTrace: boolean): { capacity: number; startupSteps: number; minReplicas: number; maxReplicas: number } {
  const capRaw = v.capacity ?? (defaultTrace ? 'auto' : undefined);
  if (capRaw === undefined) throw usageError('--capacity is required (requests one replica serves per interval), or --capacity auto');
  const capacity = capRaw === 'auto' ? conventionCapacity(trace.demand) : numberOption(v, 'capacity', (n) => n > 0, 'a positive number or auto');
  const steps = numberOption(v, 'startup-steps', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0');
  const secs = numberOption(v, 'startup-seconds', (n) => n >= 0, 'a number of seconds >= 0');
  if (steps !== undefined && secs !== undefined) throw usageError('give --startup-steps or --startup-seconds, not both');
  const startupSteps = steps ?? (secs !== undefined ? Math.ceil(secs / trace.intervalSeconds - 1e-9) : conventionStartupSteps(trace.intervalSeconds));
  const minReplicas = numberOption(v, 'min-replicas', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0') ?? 1;
  const maxReplicas = numberOption(v, 'max-replicas', (n) => Number.isInteger(n) && n >= Math.max(1, minReplicas), 'an integer >= --min-replicas') ?? 10000;
  return { capacity: capacity as number, startupSteps, minReplicas, maxReplicas };
}

const NODE_FLAGS = ['gpus-free', 'gpus-per-node', 'gpu-per-replica', 'placeholder-cap-gpus', 'placeholder-stabilization', 'node-scale-down-delay'] as const;

/** A duration flag in whole intervals (rounded up); a bad one is a usage error naming the flag. */
function durationSteps(v: Values, name: 'node-lead-time' | 'placeholder-stabilization' | 'node-scale-down-delay', fallback: string, intervalSeconds: number): number {
  const raw = v[name] ?? fallback;
  const seconds = parseDurationSeconds(raw);
  if (seconds === undefined) throw usageError(`--${name} must be a duration above 0 such as 5m, got "${raw}"`);
  return Math.ceil(seconds / intervalSeconds - 1e-9);
}

/** The node model's flags (replay/nodes.ts); undefined without --node-lead-time. */
function nodeOptions(v: Values, intervalSeconds: number, maxReplicas: number): NodeSettings | undefined {
  if (v['node-lead-time'] === undefined) {
    const stray = NODE_FLAGS.find((f) => v[f] !== undefined);
    if (stray) throw usageError(`--${stray} needs --node-lead-time`);
    return undefined;
  }
  if (v.backlog) throw usageError('--node-lead-time runs without --backlog (the node model drops unserved work, as the contract fleet does)');
  const int = (min: number) => (n: number): boolean => Number.isInteger(n) && n >= min;
  const gpusPerReplica = numberOption(v, 'gpu-per-replica', int(1), 'an integer >= 1') ?? 1;
  const gpusPerNode = numberOption(v, 'gpus-per-node', int(gpusPerReplica), `an integer >= --gpu-per-replica (${gpusPerReplica})`) ?? 8;
  return {
    nodeLeadSteps: durationSteps(v, 'node-lead-time', '', intervalSeconds),
    gpusPerReplica,
    gpusPerNode,
    gpusFree: numberOption(v, 'gpus-free', int(0), 'an integer >= 0') ?? 0,
    scaleDownDelaySteps: durationSteps(v, 'node-scale-down-delay', '10m', intervalSeconds),
    placeholders: {
      capGpus: numberOption(v, 'placeholder-cap-gpus', int(0), 'an integer >= 0') ?? maxReplicas * gpusPerReplica,
      stabilizationSteps: durationSteps(v, 'placeholder-stabilization', '10m', intervalSeconds),
    },
  };
}

function printWarnings(io: CommandIO, warnings: readonly string[]): void {
  for (const w of warnings.slice(0, 10)) io.stderr.write(`warning: ${w}\n`);
  if (warnings.length > 10) io.stderr.write(`warning: ... and ${warnings.length - 10} more gaps filled\n`);
}

async function runReplay(argv: readonly string[], io: CommandIO): Promise<number> {
  let v: Values;
  try {
    v = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw usageError(errorMessage(err));
  }
  if (v.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const defaultTrace = !v.trace && !v['prometheus-url'];
  // Checked first: a run can take minutes, and only then would a bad path be found.
  const paths = outputPaths(v, io.cwd);
  const limits = traceLimits(v);
  const choice = parseForecaster(v.forecaster);
  const { trace, label } = await readSource(v, limits);
  printWarnings(io, trace.warnings);
  const fleet = fleetOptions(v, trace, defaultTrace);
  const settings = policySettings(v);
  const hpaActuator = hpaActuatorOptions(v);
  const nodes = nodeOptions(v, trace.intervalSeconds, fleet.maxReplicas);
  const schedule = v.schedule === undefined ? undefined : scheduleOption(v.schedule, trace);
  const logger = createLogger({ component: 'replay', level: io.env.SURGEGUARD_LOG_LEVEL ?? 'warn', destination: io.stderr as unknown as DestinationStream });
  const metrics = createMetricRegistry();
  const modelPath = v.model ?? defaultModelPath();
  const modelConfig = { modelPath, providers: v.cpu ? (['cpu'] as const) : (['cuda', 'cpu'] as const), minHistorySteps: 12 };
  const loadDeps = { logger, metrics, readFile: (p: string) => readFile(p) };
  const forecaster = await loadPolicyForecaster(loadDeps, { ...modelConfig, forecaster: choice });
  // The comparisons: seasonal-naive, and whichever of Holt-Winters and the model is not chosen.
  const compare = !(v.backlog || v['no-compare']);
  const comparisons: Forecaster[] = compare ? [createSeasonalNaiveForecaster(), choice === 'model' ? createHoltWintersForecaster() : await loadForecaster(loadDeps, modelConfig)] : [];
  const bar = createProgressBar(io.stderr, 'replay');
  const params = { intervalSeconds: trace.intervalSeconds, ...fleet, settings, ...(hpaActuator ? { hpaActuator } : {}), nodes, ...(v.panic ? { panic: true } : {}), ...(schedule ? { campaigns: schedule.campaigns } : {}) };
  let result: ReplayResult;
  try {
    result = await replayDemand({ forecaster, comparisons, onProgress: (d, t) => bar.update(d, t), signal: io.stopSignal }, trace.demand, params, v.backlog ?? false);
  } finally {
    bar.end();
    await forecaster.close();
    await Promise.all(comparisons.map((c) => c.close()));
  }
  if (defaultTrace) io.stdout.write(`bundled trace ${label} (capacity ${fleet.capacity}, startup ${fleet.startupSteps} interval${fleet.startupSteps === 1 ? '' : 's'} of ${trace.intervalSeconds}s)\n`);
  const totalDemand = trace.demand.reduce((a, b) => a + b, 0);
  io.stdout.write(summaryText(result, { forecaster: `${forecaster.version} on ${forecaster.runsOn}`, intervals: trace.demand.length, demand: totalDemand, unit: demandUnit(v), changes: trace.changes, maxReplicas: fleet.maxReplicas, ...(schedule ? { campaigns: { file: v.schedule as string, windows: schedule.windows.length, inTrace: schedule.inTrace } } : {}) }));
  writeOutputs(io, paths, { v, label, trace, fleet, settings, forecaster, result, limits });
  return 0;
}

/**
 * --schedule: the campaign windows on replay's clock, and how many of them touch the trace (a window
 * wholly outside it is kept, and the summary's count says so: a calendar for the wrong year is a
 * mistake worth seeing). A file that cannot be read or parsed is an input error naming it.
 */
function scheduleOption(file: string, trace: Trace): { windows: CampaignWindow[]; campaigns: CampaignWindow[]; inTrace: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SurgeGuardError(ErrorCode.InputInvalid, `--schedule ${file}: cannot read it: ${errorMessage(cause)}`, { cause, details: { file } });
  }
  const windows = parseScheduleFile(text, file);
  const first = trace.timestamps[0] ?? 0;
  const end = (trace.timestamps[trace.timestamps.length - 1] ?? first) + trace.intervalSeconds;
  const inTrace = windows.filter((w) => w.startSeconds - w.prescaleSeconds < end && w.startSeconds + w.durationSeconds > first).length;
  return { windows, campaigns: onReplayClock(windows, { traceStartSeconds: first, intervalSeconds: trace.intervalSeconds }), inTrace };
}

/** The output files asked for, each checked before the run. */
function outputPaths(v: Values, cwd: string): { out?: string; report?: string } {
  return {
    ...(v.out === undefined ? {} : { out: checkOutputPath('out', v.out, cwd) }),
    ...(v.report === undefined ? {} : { report: checkOutputPath('report', v.report, cwd) }),
  };
}

/** Writes the per-interval CSV with its JSON, and the report page, where asked. */
function writeOutputs(io: CommandIO, paths: { out?: string; report?: string }, m: MetaInput): void {
  const { trace, result } = m;
  if (paths.out) {
    writeFileSync(paths.out, outputCsv(trace.timestamps, trace.demand, result.run, result.fleet));
    writeFileSync(`${paths.out}.json`, `${JSON.stringify(runMetadata(m), null, 1)}\n`);
    io.stderr.write(`wrote ${m.v.out} and ${m.v.out}.json\n`);
  }
  if (paths.report) {
    writeFileSync(paths.report, htmlReport({ title: m.label, timestamps: trace.timestamps, demand: trace.demand, capacity: m.fleet.capacity, leadSteps: m.fleet.startupSteps + 1, result, forecaster: m.forecaster.version, minReplicas: m.fleet.minReplicas, maxReplicas: m.fleet.maxReplicas, unit: demandUnit(m.v) }));
    io.stderr.write(`wrote ${m.v.report}\n`);
  }
}

interface MetaInput {
  v: Values;
  label: string;
  trace: Trace;
  fleet: ReturnType<typeof fleetOptions>;
  settings: PolicySettings;
  forecaster: { version: string; runsOn: string; name: string };
  result: ReplayResult;
  limits: TraceLimits;
}

/** The input rules' counts for the JSON, in the contract's words. */
function inputChangesJson(trace: Trace, limits: TraceLimits): Record<string, unknown> | undefined {
  const c = trace.changes;
  if (!c) return undefined;
  return {
    duplicate_rows_summed: c.duplicateRowsSummed,
    gaps_filled: c.gapsFilled,
    gap_intervals_filled: c.gapIntervalsFilled,
    empty_values_filled: c.emptyValuesFilled,
    longest_gap_intervals: c.longestGapIntervals,
    empty_buckets: c.emptyBuckets,
    fill: c.fill,
    max_gap_intervals: limits.maxGapIntervals,
  };
}

/** The JSON beside the output file: everything needed to recompute the figures. */
function runMetadata(m: MetaInput): Record<string, unknown> {
  const s = m.result.score;
  return {
    trace: m.label,
    mode: m.v['per-request'] ? 'per-request' : m.v['prometheus-url'] ? 'prometheus' : 'interval',
    bucket_seconds: m.v['per-request'] ? m.trace.intervalSeconds : undefined,
    demand_unit: demandUnit(m.v),
    time_column: m.v['time-column'] ?? 'timestamp',
    value_column: m.v['value-column'] ?? 'value',
    fill: m.v.fill ?? 'previous',
    input_changes: inputChangesJson(m.trace, m.limits),
    max_trace_mib: m.v['prometheus-url'] ? undefined : m.limits.maxTraceMib,
    capacity: m.fleet.capacity,
    startup_steps: m.fleet.startupSteps,
    interval_seconds: m.trace.intervalSeconds,
    min_replicas: m.fleet.minReplicas,
    max_replicas: m.fleet.maxReplicas,
    // True: max replicas capped a fleet the contract leaves uncapped, so the reference scorer may differ.
    max_replicas_capped: m.result.maxReplicasCapped,
    backlog: m.v.backlog ?? false,
    panic: m.v.panic ?? false,
    schedule: m.v.schedule,
    actuator: m.v.actuator ?? 'direct',
    ...(m.v.actuator === 'hpa' ? { hpa: { tolerance: Number(m.v['hpa-tolerance'] ?? DEFAULT_HPA_ACTUATOR.tolerance.up), scale_down_window_seconds: Number(m.v['hpa-scale-down-window'] ?? DEFAULT_HPA_ACTUATOR.scaleDownWindowSeconds), sync_seconds: DEFAULT_HPA_ACTUATOR.syncSeconds } } : {}),
    policy: m.settings,
    model_version: m.forecaster.version,
    forecaster: m.forecaster.name,
    runs_on: m.forecaster.runsOn,
    forecast_sources: m.result.run.sources,
    decision_reasons: m.result.run.reasons,
    nodes: nodesJson(m.result.nodes),
    // Which reactive grid the quality figure was measured against; a backlog run has no comparison.
    frontier_version: s ? FRONTIER_VERSION : undefined,
    summary: s
      ? {
          quality_figure: Number.isFinite(s.qualityFigure) ? s.qualityFigure : 'inf',
          cost_vs_default_hpa: s.costVsDefaultHpa,
          unserved_fraction: s.unservedFraction,
          unserved_intervals: s.unservedIntervals,
          cost: s.cost,
          default_hpa_cost: s.defaultHpaCost,
          default_hpa_unserved_fraction: s.defaultHpaUnservedFraction,
          best_reactive_unserved_fraction_at_equal_cost: s.bestReactiveUnservedFractionAtEqualCost,
          // The frontier's rule at or below the policy's cost (the figure above interpolates past it); null if every rule cost more.
          best_reactive_rule: ruleJson(s.bestReactiveRule),
          comparisons: Object.fromEntries(m.result.comparisons.map((c) => [c.name, { quality_figure: Number.isFinite(c.score.qualityFigure) ? c.score.qualityFigure : 'inf', cost_vs_default_hpa: c.score.costVsDefaultHpa }])),
        }
      : { max_backlog: m.result.fleet.maxBacklog, backlog_interval_sum: m.result.fleet.backlogIntervalSum, unserved: m.result.fleet.unserved, unserved_intervals: m.result.fleet.unservedIntervals, cost: m.result.fleet.cost },
  };
}

/** A reactive rule's point for the JSON (null when there is none). */
function ruleJson(p: ReactivePoint | undefined): { name: string; cost: number; unserved: number } | null {
  return p ? { name: p.name, cost: p.cost, unserved: p.unserved } : null;
}

/** The node model's settings and figures for the JSON, without and with placeholders. */
function nodesJson(n: ReplayResult['nodes']): Record<string, unknown> | undefined {
  if (!n) return undefined;
  const figures = (r: NonNullable<ReplayResult['nodes']>['with']): Record<string, number> => ({
    unserved: r.unserved,
    unserved_fraction: r.unserved / (r.demand || 1),
    unserved_intervals: r.unservedIntervals,
    pending_pod_intervals: r.pendingPodIntervals,
    pods_created: r.podsCreated,
    pods_pending: r.podsPending,
    mean_pending_seconds: r.meanPendingSeconds,
    p95_pending_seconds: r.p95PendingSeconds,
    gpu_node_hours: r.gpuNodeHours,
    cost: r.cost,
  });
  const s = n.settings;
  return {
    node_lead_steps: s.nodeLeadSteps,
    gpus_per_replica: s.gpusPerReplica,
    gpus_per_node: s.gpusPerNode,
    gpus_free: s.gpusFree,
    scale_down_delay_steps: s.scaleDownDelaySteps,
    placeholder_cap_gpus: s.placeholders?.capGpus,
    placeholder_stabilization_steps: s.placeholders?.stabilizationSteps,
    without_placeholders: figures(n.without),
    with_placeholders: figures(n.with),
  };
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'Replay a recorded demand trace through the scaling policy and compare it with reactive autoscaling',
  // Errors go to main(), which prints one coded line (no stack) and picks the exit code for every
  // command alike: 2 for bad input such as a trace naming file and line.
  run: runReplay,
};
