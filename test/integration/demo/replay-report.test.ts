/// <reference lib="dom" />
// The replay report as a user opens it: `surgeguard replay --out --report` on a recorded trace, the
// file opened from disk (file://, no server: uPlot is inlined) in the real Chromium at 1024 and
// 1600 px. The comparison table equals the JSON beside --out, each surge's peak equals the CSV's,
// the charts have time and value axes with tick labels, hover reads values out and a drag zooms.
// Screenshots go to test-results/img/ (docs/img/ holds committed copies).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { REPO_ROOT, run, runCleanups } from '../../helpers/infra/process.ts';

interface Summary {
  quality_figure: number;
  cost_vs_default_hpa: number;
  unserved_fraction: number;
  unserved_intervals: number;
  cost: number;
  default_hpa_cost: number;
  default_hpa_unserved_fraction: number;
  best_reactive_unserved_fraction_at_equal_cost: number;
  best_reactive_rule: { name: string; cost: number; unserved: number } | null;
}

let browser: Browser;
let report = '';
let json: { summary: Summary; interval_seconds: number };
let demand: number[] = [];
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
after(() => runCleanups(cleanups));

before(async () => {
  const chromiumPath = (await run('bash', [join(REPO_ROOT, 'scripts/install-chromium.sh')])).trim().split('\n').pop() ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'sg-report-'));
  const out = join(dir, 'run.csv');
  report = join(dir, 'run.html');
  await run(join(REPO_ROOT, 'surgeguard'), ['replay', '--trace', join(REPO_ROOT, 'test/fixtures/traces/Twitter_volume_AAPL_head1200.csv'), '--capacity', 'auto', '--startup-steps', '2', '--no-compare', '--out', out, '--report', report]);
  json = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as typeof json;
  demand = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  cleanups.push({ what: 'browser', run: () => browser.close() });
});

for (const width of [1024, 1600]) {
  test(`at ${width} px the report fits, has axes, and says what the JSON and the CSV say`, async () => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(pathToFileURL(report).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    const fit = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(fit.scroll <= fit.client, `the page scrolls sideways: ${fit.scroll} > ${fit.client}`);

    const axes = await page.evaluate(() => Array.from(document.querySelectorAll('.chart')).map((c) => ({ axes: c.querySelectorAll('.u-axis').length, x: (c as HTMLElement).dataset.xTicks ?? '', y: (c as HTMLElement).dataset.yTicks ?? '', unit: (c as HTMLElement).dataset.unit ?? '', width: c.getBoundingClientRect().width })));
    assert.equal(axes.length, 2);
    for (const a of axes) {
      assert.ok(a.axes >= 2, `uPlot axes: ${JSON.stringify(a)}`);
      assert.ok(a.x.split('|').length >= 3 && a.x.split('|').every((t) => /^\d\d-\d\d \d\d:\d\d$/.test(t)), `time ticks: ${a.x}`);
      assert.ok(a.y.split('|').length >= 2, `value ticks: ${a.y}`);
      assert.ok(a.width > width - 120, `the chart takes the width: ${a.width}`);
    }
    assert.deepEqual(axes.map((a) => a.unit), ['requests/s', 'replicas']);

    // The comparison table: the JSON's figures at the summary's precision.
    const cells = await page.evaluate(() => Object.fromEntries(Array.from(document.querySelectorAll('#comparison tbody tr')).map((r) => [(r as HTMLElement).dataset.policy, Object.fromEntries(Array.from(r.querySelectorAll('td[class]')).map((td) => [td.className, td.textContent]))])));
    const s = json.summary;
    assert.deepEqual(cells.surgeguard, { quality: s.quality_figure.toFixed(3), 'cost-ratio': `${s.cost_vs_default_hpa.toFixed(3)}×`, unserved: s.unserved_fraction.toFixed(6), intervals: String(s.unserved_intervals), cost: String(s.cost) });
    assert.deepEqual(cells['default-hpa'], { 'cost-ratio': '1.000×', unserved: s.default_hpa_unserved_fraction.toFixed(6), cost: String(s.default_hpa_cost) });
    assert.deepEqual(cells['best-reactive'], { unserved: s.best_reactive_unserved_fraction_at_equal_cost.toFixed(6) });
    // The reactive rule that at no more than SurgeGuard's cost lost the least, named as the JSON names it.
    const rule = s.best_reactive_rule;
    assert.ok(rule && rule.cost <= s.cost, JSON.stringify(rule));
    const total = demand.reduce((a, b) => a + b, 0);
    assert.deepEqual(cells['best-reactive-rule'], { 'cost-ratio': `${(rule.cost / s.default_hpa_cost).toFixed(3)}×`, unserved: (rule.unserved / total).toFixed(6), cost: String(rule.cost) });
    assert.equal(await page.textContent('#comparison tr[data-policy="best-reactive-rule"] .rule'), rule.name);

    // Each surge's peak is the CSV's largest demand in its intervals; both fleets have a row.
    const surges = await page.evaluate(() => Array.from(document.querySelectorAll('table.surge')).map((t) => ({ onset: Number((t as HTMLElement).dataset.onset), end: Number((t as HTMLElement).dataset.end), peak: Number((t as HTMLElement).dataset.peak), rows: t.querySelectorAll('tbody tr').length, head: t.querySelector('thead')?.textContent ?? '' })));
    assert.ok(surges.length > 0, 'the trace has surges');
    for (const x of surges) {
      assert.equal(x.peak, Math.max(...demand.slice(x.onset, x.end)));
      assert.equal(x.rows, 2);
      assert.match(x.head, /onset nobody could see.*follow-on.*scale-down too early.*sustained/);
    }

    // Hover reads values out in the legend; a drag across the chart zooms both charts in.
    const box = await page.locator('#demand-chart .u-over').boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const readout = await page.evaluate(() => Array.from(document.querySelectorAll('#demand-chart .u-legend .u-value')).map((v) => v.textContent ?? ''));
    assert.match(readout[0] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    assert.match(readout[1] ?? '', /^[\d.,]+ requests\/s$/);
    const before = await page.evaluate(() => (window as unknown as { charts: Array<{ scales: { x: { min: number; max: number } } }> }).charts.map((c) => c.scales.x.max - c.scales.x.min));
    await page.mouse.move(box.x + box.width * 0.3, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + 20, { steps: 5 });
    await page.mouse.up();
    const zoomed = await page.evaluate(() => (window as unknown as { charts: Array<{ scales: { x: { min: number; max: number } } }> }).charts.map((c) => c.scales.x.max - c.scales.x.min));
    assert.ok((zoomed[0] ?? Infinity) < (before[0] ?? 0) / 2 && zoomed[1] === zoomed[0], `zoom: ${before.join(',')} -> ${zoomed.join(',')}`);
    await page.dblclick('#demand-chart .u-over');

    const dir = join(REPO_ROOT, 'test-results', 'img');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `replay-report-${width}.png`), fullPage: false });
    await page.close();
  });
}
