/**
 * Fast saturation signals that guard a scaler next to its forecast demand: the queue of an LLM
 * server, its requests in flight, its KV-cache use. Each has a target per replica; the replicas it
 * asks for can only raise the target (the forecast drives the long lead, a guard catches what the
 * forecast missed), and a decision a guard bound says which one.
 *
 * Presets write the PromQL for the servers people run, with metric names from those projects'
 * own code: vLLM's `vllm/v1/metrics/loggers.py` (the KV-cache gauge was renamed
 * `vllm:gpu_cache_usage_perc` -> `vllm:kv_cache_usage_perc` in 0.9; both are read), Hugging
 * Face TGI's router metrics, NVIDIA Triton's inference server metrics, llama.cpp's llama-server
 * (`--metrics`; gauges `llamacpp:requests_deferred` and `llamacpp:requests_processing` in
 * tools/server/server-task.cpp, llama.cpp as vendored in llama-cpp-python 0.3.36).
 */

/**
 * How a guard's value becomes replicas: `Total` is a sum over the target's pods (requests waiting):
 * ceil(value / target); `Average` is a mean per pod (KV-cache use): ceil(current x value / target),
 * the HPA's utilization rule; `Slo` is a latency with its objective as target (TTFT p95): nothing
 * while it holds, and current x value / target, at most twice the fleet per tick, once it breaks.
 * Latency is not linear in replicas, so the SLO guard asks again each tick until it holds.
 */
export type GuardType = 'Total' | 'Average' | 'Slo';

/** The most an SLO guard multiplies the fleet by in one tick: a latency spike is not a measure of need. */
const SLO_MAX_STEP = 2;

export interface GuardPreset {
  readonly type: GuardType;
  /** What the value counts, for the decision message. */
  readonly unit: string;
  readonly query: (selector: string) => string;
}

const sel = (s: string): string => `{${s}}`;

export const GUARD_PRESETS = {
  'vllm-waiting': { type: 'Total', unit: 'requests waiting', query: (s) => `sum(vllm:num_requests_waiting${sel(s)})` },
  'vllm-running': { type: 'Total', unit: 'requests running', query: (s) => `sum(vllm:num_requests_running${sel(s)})` },
  'vllm-kv-cache': { type: 'Average', unit: 'KV-cache use (0-1)', query: (s) => `(avg(vllm:kv_cache_usage_perc${sel(s)}) or avg(vllm:gpu_cache_usage_perc${sel(s)}))` },
  'tgi-queue': { type: 'Total', unit: 'requests queued', query: (s) => `sum(tgi_queue_size${sel(s)})` },
  'tgi-batch': { type: 'Total', unit: 'requests in the batch', query: (s) => `sum(tgi_batch_current_size${sel(s)})` },
  'triton-pending': { type: 'Total', unit: 'requests pending', query: (s) => `sum(nv_inference_pending_request_count${sel(s)})` },
  'llamacpp-deferred': { type: 'Total', unit: 'requests deferred', query: (s) => `sum(llamacpp:requests_deferred${sel(s)})` },
  'llamacpp-processing': { type: 'Total', unit: 'requests processing', query: (s) => `sum(llamacpp:requests_processing${sel(s)})` },
  'vllm-ttft-p95': { type: 'Slo', unit: 's time to first token (p95)', query: (s) => `histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket${sel(s)}[1m])))` },
  'vllm-queue-time-p95': { type: 'Slo', unit: 's queue time (p95)', query: (s) => `histogram_quantile(0.95, sum by (le) (rate(vllm:request_queue_time_seconds_bucket${sel(s)}[1m])))` },
  // Triton counts queue time in microseconds as a cumulative counter: the mean over the last minute.
  'triton-queue-time': { type: 'Slo', unit: 's queue time (mean)', query: (s) => `(sum(rate(nv_inference_queue_duration_us${sel(s)}[1m])) / sum(rate(nv_inference_request_success${sel(s)}[1m]))) / 1e6` },
} as const satisfies Record<string, GuardPreset>;

export type GuardPresetName = keyof typeof GUARD_PRESETS;
export const GUARD_PRESET_NAMES = Object.keys(GUARD_PRESETS) as GuardPresetName[];

/**
 * A Prometheus label selector as presets take it: `name="value"` matchers joined by commas, with
 * =, !=, =~ or !~. Checked so that a typo is refused by the API server, not run as broken PromQL.
 */
export const SELECTOR_PATTERN = '^\\s*[a-zA-Z_][a-zA-Z0-9_]*\\s*(=|!=|=~|!~)\\s*"([^"\\\\]|\\\\.)*"\\s*(,\\s*[a-zA-Z_][a-zA-Z0-9_]*\\s*(=|!=|=~|!~)\\s*"([^"\\\\]|\\\\.)*"\\s*)*$';

/** A guard as a scaler's spec gives it. */
export interface GuardSpec {
  readonly name: string;
  readonly preset?: GuardPresetName;
  readonly selector?: string;
  readonly query?: string;
  /** Target value per replica. */
  readonly target: number;
  readonly type?: GuardType;
}

/** The query and the rule a guard runs with, its preset's unless given. */
export function resolveGuard(g: GuardSpec): { query: string; type: GuardType; unit: string } {
  if (g.preset) {
    const p: GuardPreset = GUARD_PRESETS[g.preset];
    return { query: p.query(g.selector ?? ''), type: g.type ?? p.type, unit: p.unit };
  }
  return { query: g.query ?? '', type: g.type ?? 'Total', unit: 'per the query' };
}

/** What one guard asks for this tick, as a value for `decide` and for the message. */
export interface GuardNeed {
  readonly name: string;
  readonly replicas: number;
  /** "12 requests waiting, target 2 per replica". */
  readonly detail: string;
  /** At least twice the target: scale at once, past the scale-up limit (decide.ts). */
  readonly panic: boolean;
  /** At or under the target: the fleet may shrink again. */
  readonly calm: boolean;
}

/** A value this many times its target puts the guard in panic (Knative's default panic threshold is 200%). */
const PANIC_FACTOR = 2;

/** The replicas a guard's reading asks for; `current` is the replicas the target has now. */
export function guardNeed(g: GuardSpec, value: number, current: number): GuardNeed {
  const r = resolveGuard(g);
  // Float noise from rate arithmetic must not add a replica (see decide's ceilReplicas).
  const v = Math.round(value * 1000) / 1000;
  if (r.type === 'Slo') {
    const breached = value > g.target;
    const replicas = breached ? Math.ceil(Math.max(current, 1) * Math.min(SLO_MAX_STEP, value / g.target) - 1e-9) : 0;
    return { name: g.name, replicas, detail: `${v} ${r.unit} ${breached ? 'breaks' : 'within'} the SLO of ${g.target}`, panic: value >= PANIC_FACTOR * g.target, calm: !breached };
  }
  const replicas = Math.max(0, Math.ceil((r.type === 'Total' ? value / g.target : (Math.max(current, 1) * value) / g.target) - 1e-9));
  // Per replica for Total: the queue spread over the pods there are.
  const perReplica = r.type === 'Total' ? value / Math.max(current, 1) : value;
  return { name: g.name, replicas, detail: `${v} ${r.unit}, target ${g.target} ${r.type === 'Total' ? 'per replica' : 'average'}`, panic: perReplica >= PANIC_FACTOR * g.target, calm: perReplica <= g.target };
}
