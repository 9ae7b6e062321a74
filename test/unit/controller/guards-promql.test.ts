// The guard presets' PromQL on the real engine (promtool) over series in the serving engines' own
// exposition names: each preset parses, filters by its selector and adds up what it should.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { GUARD_PRESETS, resolveGuard, type GuardPresetName } from '../../../controller/signals/guards.ts';
import { ensurePrometheusInstalled } from '../../helpers/infra/prometheus.ts';
import { promtool } from '../../helpers/promtool-query.ts';

before(async () => {
  await ensurePrometheusInstalled();
});

const pods = (metric: string, values: Record<string, number>, ns = 'llm'): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([pod, v]) => [`${metric}{namespace="${ns}",pod="${pod}",model_name="m"}`, `${v}x5`]));

async function value(preset: GuardPresetName, series: Record<string, string>): Promise<number | undefined> {
  const q = promtool(series, '5m');
  const out = await q(resolveGuard({ name: 'g', preset, selector: 'namespace="llm"', target: 1 }).query);
  assert.ok(out.length <= 1, `${preset} returned ${out.length} series; a guard query must return one`);
  return out[0]?.value;
}

test('every preset returns one value on its engine\'s series, only from the selected pods', async () => {
  const other = (m: string): Record<string, string> => pods(m, { z: 1000 }, 'other');
  const cases: Array<[GuardPresetName, Record<string, string>, number]> = [
    ['vllm-waiting', { ...pods('vllm:num_requests_waiting', { a: 3, b: 5 }), ...other('vllm:num_requests_waiting') }, 8],
    ['vllm-running', { ...pods('vllm:num_requests_running', { a: 16, b: 12 }), ...other('vllm:num_requests_running') }, 28],
    ['vllm-kv-cache', { ...pods('vllm:kv_cache_usage_perc', { a: 0.8, b: 0.6 }), ...pods('vllm:gpu_cache_usage_perc', { a: 0.1, b: 0.1 }), ...other('vllm:kv_cache_usage_perc') }, 0.7],
    ['tgi-queue', { ...pods('tgi_queue_size', { a: 7, b: 0 }), ...other('tgi_queue_size') }, 7],
    ['tgi-batch', { ...pods('tgi_batch_current_size', { a: 4, b: 6 }), ...other('tgi_batch_current_size') }, 10],
    ['triton-pending', { ...pods('nv_inference_pending_request_count', { a: 2, b: 9 }), ...other('nv_inference_pending_request_count') }, 11],
    ['llamacpp-deferred', { ...pods('llamacpp:requests_deferred', { a: 4, b: 1 }), ...other('llamacpp:requests_deferred') }, 5],
    ['llamacpp-processing', { ...pods('llamacpp:requests_processing', { a: 2, b: 2 }), ...other('llamacpp:requests_processing') }, 4],
  ];
  // Latency histograms: per minute 10 requests under 0.1 s, 50 under 0.5 s, 80 under 1 s, 95 under 2.5 s, all under 5 s.
  const histogram = (metric: string): Record<string, string> => {
    const per = { '0.1': 10, '0.5': 50, '1': 80, '2.5': 95, '5': 100, '+Inf': 100 };
    return Object.fromEntries(Object.entries(per).flatMap(([le, n]) => [[`${metric}_bucket{namespace="llm",pod="a",le="${le}"}`, `0+${n}x5`], [`${metric}_bucket{namespace="other",pod="z",le="${le}"}`, `0+${le === '0.1' ? 0 : 100}x5`]]));
  };
  cases.push(
    ['vllm-ttft-p95', histogram('vllm:time_to_first_token_seconds'), 2.5],
    ['vllm-queue-time-p95', histogram('vllm:request_queue_time_seconds'), 2.5],
    // 60 requests a minute queued 600,000 us in all: 10 ms each.
    ['triton-queue-time', { 'nv_inference_queue_duration_us{namespace="llm",pod="a"}': '0+600000x5', 'nv_inference_request_success{namespace="llm",pod="a"}': '0+60x5', 'nv_inference_queue_duration_us{namespace="other",pod="z"}': '0+9000000x5', 'nv_inference_request_success{namespace="other",pod="z"}': '0+1x5' }, 0.01],
  );
  assert.deepEqual(cases.map((c) => c[0]).sort(), Object.keys(GUARD_PRESETS).sort(), 'every preset is exercised');
  for (const [preset, series, want] of cases) {
    const got = await value(preset, series);
    assert.ok(got !== undefined && Math.abs(got - want) < 1e-6, `${preset}: got ${got}, want ${want}`);
  }
});

test('vllm-kv-cache reads the old name (before vLLM 0.9) when the new one is absent', async () => {
  const got = await value('vllm-kv-cache', pods('vllm:gpu_cache_usage_perc', { a: 0.5, b: 0.9 }));
  assert.ok(got !== undefined && Math.abs(got - 0.7) < 1e-9, String(got));
});
