import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DISABLED, family, type Collector } from '../../../agent/collector.ts';
import { CollectorRunner } from '../../../agent/runner.ts';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { silentLogger } from '../../../common/logger.ts';

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
