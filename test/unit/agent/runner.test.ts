import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlindError, DISABLED, family, unavailable, type Collector } from '../../../agent/collector.ts';
import { createGpuCollector } from '../../../agent/collectors/gpu.ts';
import type { ExecFn } from '../../../agent/exec.ts';
import { GpuHolders } from '../../../agent/gpu-holders.ts';
import { GpuInventory } from '../../../agent/gpu-inventory.ts';
import { CollectorRunner } from '../../../agent/runner.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { silentLogger } from '../../../common/logger.ts';
import { captureLogger } from './helpers.ts';

function fake(name: string, collect: Collector['collect'], timeoutMs = 200): Collector {
  return { name, intervalMs: 1000, timeoutMs, families: [family(`surgeguard_test_${name}`, 'gauge', 'test', ['k'])], collect };
}

/** What a scrape serves: the runner's own metrics from the registry, then the collectors' cached series. */
async function body(r: ReturnType<typeof createMetricRegistry>, runner: CollectorRunner): Promise<string> {
  return (await r.render()).body + runner.exposition(false);
}

test('a hanging collector times out and fails alone; the others report', async () => {
  const registry = createMetricRegistry();
  const runner = new CollectorRunner({ registry, logger: silentLogger(), now: () => 5000 }, [
    fake('hang', () => new Promise(() => undefined), 50),
    fake('ok', () => Promise.resolve([{ name: 'surgeguard_test_ok', labels: { k: 'a' }, value: 3 }])),
  ]);
  await runner.runOnce();
  const text = await body(registry, runner);
  assert.match(text, /surgeguard_collector_success\{collector="hang"\} 0/);
  assert.match(text, /surgeguard_collector_success\{collector="ok"\} 1/);
  assert.match(text, /surgeguard_test_ok\{k="a"\} 3/);
  assert.match(text, /surgeguard_collector_last_success_timestamp_seconds\{collector="ok"\} 5/);
  assert.match(runner.states.get('hang')?.lastError ?? '', /did not finish within 50 ms/);
});

test('a failed cycle drops the collector\'s series; the next good one brings them back', async () => {
  const registry = createMetricRegistry();
  let fail = false;
  const runner = new CollectorRunner({ registry, logger: silentLogger() }, [
    fake('flaky', () => (fail ? Promise.reject(new Error('boom')) : Promise.resolve([{ name: 'surgeguard_test_flaky', labels: { k: 'x' }, value: 1 }]))),
  ]);
  await runner.runOnce();
  assert.match(await body(registry, runner), /surgeguard_test_flaky\{k="x"\} 1/);
  fail = true;
  await runner.runOnce();
  assert.doesNotMatch(await body(registry, runner), /surgeguard_test_flaky\{/);
  assert.match(await body(registry, runner), /surgeguard_collector_success\{collector="flaky"\} 0/);
  fail = false;
  await runner.runOnce();
  assert.match(await body(registry, runner), /surgeguard_test_flaky\{k="x"\} 1/);
});

test('a collector that does not apply is disabled quietly and not scheduled again', async () => {
  const registry = createMetricRegistry();
  let calls = 0;
  const runner = new CollectorRunner({ registry, logger: silentLogger() }, [
    fake('gpu', () => {
      calls++;
      return Promise.resolve(DISABLED);
    }),
  ]);
  await runner.runOnce();
  await runner.runOnce();
  assert.equal(calls, 1);
  const text = await body(registry, runner);
  assert.match(text, /surgeguard_collector_enabled\{collector="gpu"\} 0/);
  assert.doesNotMatch(text, /surgeguard_collector_success\{collector="gpu"\}/);
  assert.equal(runner.ready(), true);
});

test('the scheduled loop runs each collector on its own interval and stops', async () => {
  const registry = createMetricRegistry();
  let n = 0;
  const c: Collector = { ...fake('tick', () => Promise.resolve([{ name: 'surgeguard_test_tick', labels: { k: 'n' }, value: ++n }])), intervalMs: 20 };
  const runner = new CollectorRunner({ registry, logger: silentLogger() }, [c]);
  assert.equal(runner.ready(), false);
  runner.start();
  await new Promise((r) => setTimeout(r, 150));
  await runner.stop();
  assert.ok(n >= 3, `ran ${n} times`);
  assert.equal(runner.ready(), true);
});

test('garbage nvidia-smi every 5 s: one line without a stack naming what is wrong, repeats counted once per 5 minutes', async () => {
  const garbage: ExecFn = () => Promise.resolve({ stdout: '\u0000\u0001 garbage, not, csv\n', stderr: '', exitCode: 0 });
  const gpu = createGpuCollector({ exec: garbage, logger: silentLogger(), node: 'n1', inventory: new GpuInventory(), holders: new GpuHolders() }, { nvidiaSmiPath: '/usr/bin/nvidia-smi', intervalSeconds: 5, timeoutSeconds: 3, pcieReplayIntervalSeconds: 60 });
  const { logger, lines } = captureLogger('info');
  let now = 0;
  const runner = new CollectorRunner({ registry: createMetricRegistry(), logger, now: () => now }, [gpu]);
  for (let i = 0; i < 120; i++, now += 5000) await runner.runOnce(); // 10 minutes at 5 s
  const warns = lines().filter((l) => l.msg === 'collector cycle failed');
  assert.equal(warns.length, 2, '120 failed cycles in 10 minutes log the first and one reminder');
  assert.match(String(warns[0]?.error), /^\/usr\/bin\/nvidia-smi output is not the CSV asked for: line 1 has 3 cells, expected \d+/);
  assert.equal(warns[0]?.code, 'SG_COLLECTOR_FAILED');
  assert.equal(warns[1]?.suppressedRepeats, 59);
  for (const w of warns) {
    assert.equal(w.err, undefined, 'no serialized error object (and so no stack) at warn level');
    assert.doesNotMatch(JSON.stringify(w), /\bat (async )?\S+ \(|\.ts:\d+/, 'no stack frames in the line');
  }
});

test('a BlindError fails the cycle but keeps its samples; unavailable disables, retries, and re-enables on success', async () => {
  const registry = createMetricRegistry();
  let mode: 'blind' | 'away' | 'ok' = 'blind';
  const collect: Collector['collect'] = () => {
    if (mode === 'blind') return Promise.reject(new BlindError('cannot read it', [{ name: 'surgeguard_test_x', labels: { k: 'why' }, value: 0 }]));
    if (mode === 'away') return Promise.resolve(unavailable(10, [{ name: 'surgeguard_test_x', labels: { k: 'away' }, value: 0 }]));
    return Promise.resolve([{ name: 'surgeguard_test_x', labels: { k: 'ok' }, value: 1 }]);
  };
  const runner = new CollectorRunner({ registry, logger: silentLogger() }, [fake('x', collect)]);
  await runner.runOnce();
  let text = await body(registry, runner);
  assert.match(text, /surgeguard_collector_success\{collector="x"\} 0/);
  assert.match(text, /surgeguard_test_x\{k="why"\} 0/);
  mode = 'away';
  await runner.runOnce();
  text = await body(registry, runner);
  assert.match(text, /surgeguard_collector_enabled\{collector="x"\} 0/);
  assert.doesNotMatch(text, /surgeguard_collector_success\{collector="x"\}/, 'unavailable is not failing');
  assert.match(text, /surgeguard_test_x\{k="away"\} 0/);
  // Scheduled: the runner asks again after retryAfterMs by itself.
  mode = 'ok';
  runner.start();
  try {
    for (let i = 0; i < 100 && !/surgeguard_test_x\{k="ok"\} 1/.test(await body(registry, runner)); i++) await new Promise((r) => setTimeout(r, 10));
    text = await body(registry, runner);
    assert.match(text, /surgeguard_collector_enabled\{collector="x"\} 1/);
    assert.match(text, /surgeguard_collector_success\{collector="x"\} 1/);
    assert.match(text, /surgeguard_test_x\{k="ok"\} 1/);
  } finally {
    await runner.stop();
  }
});
