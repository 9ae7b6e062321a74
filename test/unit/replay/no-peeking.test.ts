import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { createMetricRegistry } from '../../../common/metrics.ts';
import { silentLogger } from '../../../common/logger.ts';
import { runPolicy } from '../../../replay/engine.ts';
import { parseTrace } from '../../../replay/trace.ts';
import { DEFAULT_POLICY_SETTINGS } from '../../../controller/scaling/policy.ts';
import { createHoltWintersForecaster } from '../../../inference/holt-winters.ts';
import { defaultModelPath, loadForecaster } from '../../../inference/load.ts';

const demand = parseTrace(readFileSync(fileURLToPath(new URL('../../fixtures/traces/Twitter_volume_AAPL_head1200.csv', import.meta.url)), 'utf8'), {
  file: 'aapl.csv',
  timeColumn: 'timestamp',
  valueColumn: 'value',
  fill: 'previous',
}).demand.slice(0, 700);
const params = { intervalSeconds: 300, capacity: 20, startupSteps: 1, minReplicas: 1, maxReplicas: 10000, settings: DEFAULT_POLICY_SETTINGS };
const model = await loadForecaster({ logger: silentLogger(), metrics: createMetricRegistry(), readFile: (p) => readFile(p) }, { modelPath: defaultModelPath(), providers: ['cpu'], minHistorySteps: 12 });
after(() => model.close());

for (const [name, forecaster] of [['model', model], ['holt-winters', createHoltWintersForecaster()]] as const) {
  test(`no peeking (${name}): a spike after the cut leaves every target up to the cut unchanged`, async () => {
    const base = await runPolicy({ forecaster }, demand, params);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: demand.length - 2 }), fc.integer({ min: 1, max: 1_000_000 }), async (cut, spike) => {
        const changed = [...demand.slice(0, cut + 1), ...new Array<number>(demand.length - cut - 1).fill(spike)];
        const run = await runPolicy({ forecaster }, changed, params);
        assert.deepEqual(run.targets.slice(0, cut + 1), base.targets.slice(0, cut + 1));
        assert.deepEqual(run.forecast.slice(0, cut + 1), base.forecast.slice(0, cut + 1));
      }),
      { numRuns: 12, seed: 5 },
    );
  });
}
