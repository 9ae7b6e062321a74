/// <reference lib="dom" />
// `surgeguard demo` as a user meets it: the process starts with nothing but the project, the page
// loads in headless Chromium (Debian's, driven by playwright-core) and the values it shows match
// /api/decisions at the same moment; Ctrl-C stops everything with exit code 0. The screenshot
// is kept in test-results/ as an artifact.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { REPO_ROOT, freePort, run, runCleanups, waitUntil } from '../../helpers/infra/process.ts';

interface Decision {
  time: string;
  decision: string;
  reason: string;
  currentReplicas: number;
  desiredReplicas: number;
  demandPerSecond: number;
  forecast: { p50: number; p90: number };
}

let demo: ChildProcess;
let url = '';
let browser: Browser;
let stdout = '';
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
after(() => runCleanups(cleanups));

before(async () => {
  const chromiumPath = (await run('bash', [join(REPO_ROOT, 'scripts/install-chromium.sh')])).trim().split('\n').pop() ?? '';
  const port = await freePort();
  // 600x: one 5-minute interval every half second, so the surge comes within the test's minute.
  demo = spawn(join(REPO_ROOT, 'surgeguard'), ['demo', '--listen', `127.0.0.1:${port}`, '--speed', '600', '--lead', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push({ what: 'demo', run: async () => (demo.exitCode === null ? (demo.kill('SIGKILL'), await new Promise((r) => demo.once('exit', r))) : undefined) });
  demo.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  url = await waitUntil('the demo to print its address', async () => /open (http:\/\/\S+)\//.exec(stdout)?.[1], { timeoutMs: 120_000, intervalMs: 200 });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  cleanups.push({ what: 'browser', run: () => browser.close() });
});

test('the page shows live demand, forecast, replicas and decisions that match /api/decisions', async () => {
  const page = await browser.newPage({ viewport: { width: 1180, height: 1000 } });
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  // Let a few live ticks pass so the page has moved past the backfilled history.
  await page.waitForFunction(() => document.querySelectorAll('#log tr').length >= 10, undefined, { timeout: 30_000 });
  // Read what the page shows, then the API, and compare the decision the page names by its time.
  const shown = await page.evaluate(() => {
    const t = (id: string): string => document.getElementById(id)?.textContent ?? '';
    return { time: t('latest-time'), decision: t('latest-decision'), reason: t('latest-reason'), current: t('latest-current'), desired: t('latest-desired'), demand: t('latest-demand'), p50: t('latest-p50'), p90: t('latest-p90'), rows: document.querySelectorAll('#log tr').length, chart: document.querySelectorAll('#chart canvas').length };
  });
  const api = (await (await fetch(`${url}/api/decisions?limit=2000`)).json()) as { decisions: Decision[] };
  const same = api.decisions.find((d) => d.time === shown.time);
  assert.ok(same, `the decision the page shows (${shown.time}) is in /api/decisions`);
  assert.deepEqual(
    { decision: shown.decision, reason: shown.reason, current: shown.current, desired: shown.desired, demand: shown.demand, p50: shown.p50, p90: shown.p90 },
    { decision: same.decision, reason: same.reason, current: String(same.currentReplicas), desired: String(same.desiredReplicas), demand: same.demandPerSecond.toFixed(3), p50: same.forecast.p50.toFixed(3), p90: same.forecast.p90.toFixed(3) },
  );
  assert.equal(shown.chart, 1, 'the demand chart is drawn (uPlot)');
  // Time axes in recorded time (UTC) with tick labels, and the unit of each chart.
  const axis = await page.evaluate(() => Array.from(document.querySelectorAll('.chart')).map((c) => ({ id: c.id, axes: c.querySelectorAll('.u-axis').length, x: (c as HTMLElement).dataset.xTicks ?? '', y: (c as HTMLElement).dataset.yTicks ?? '', unit: (c as HTMLElement).dataset.unit ?? '' })));
  assert.deepEqual(axis.map((a) => [a.id, a.unit]), [['chart', 'requests/s'], ['replicas', 'replicas'], ['waiting', 'requests']]);
  for (const a of axis) {
    assert.ok(a.axes >= 2 && a.y.length > 0, JSON.stringify(a));
    assert.ok(a.x.split('|').length >= 2 && a.x.split('|').every((t) => /^\d\d-\d\d \d\d:\d\d$/.test(t)), a.x);
  }
  // Hover reads values out; a drag zooms all charts together.
  const box = await page.locator('#chart .u-over').boundingBox();
  assert.ok(box);
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  const readout = await page.evaluate(() => Array.from(document.querySelectorAll('#chart .u-legend .u-value')).map((v) => v.textContent ?? ''));
  assert.match(readout[0] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  assert.match(readout[1] ?? '', /^[\d.,]+ requests\/s$/);
  const span = (): Promise<number[]> => page.evaluate(() => Object.values((window as unknown as { charts: Record<string, { scales: { x: { min: number; max: number } } }> }).charts).map((c) => c.scales.x.max - c.scales.x.min));
  const wide = await span();
  await page.mouse.move(box.x + box.width * 0.2, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.4, box.y + 20, { steps: 5 });
  await page.mouse.up();
  const narrow = await span();
  assert.ok((narrow[0] ?? Infinity) < (wide[0] ?? 0) / 2 && narrow.every((v) => v === narrow[0]), `zoom: ${wide.join(',')} -> ${narrow.join(',')}`);
  await page.dblclick('#chart .u-over');

  // The comparison with the default HPA on the same stream: the cards show what /api/demo/state says.
  const compare = await page.evaluate(async () => {
    const state = (await (await fetch('/api/demo/state')).json()) as { totals: { surgeguard: { podIntervals: number }; defaultHpa: { podIntervals: number } } };
    const t = (id: string): string => document.getElementById(id)?.textContent ?? '';
    return { api: state.totals, sg: t('cost-sg'), hpa: t('cost-hpa'), hpaLine: Array.from(document.querySelectorAll('#replicas .u-legend .u-label')).filter((l) => l.textContent === 'default HPA target').length };
  });
  const num = (s: string): number => Number(s.replace(/,/g, ''));
  assert.ok(num(compare.hpa) > 0 && num(compare.sg) > 0, JSON.stringify(compare));
  // The page refreshes every second: the card may trail the API by a tick or two.
  assert.ok(Math.abs(num(compare.hpa) - compare.api.defaultHpa.podIntervals) <= 3 * 40, JSON.stringify(compare));
  assert.equal(compare.hpaLine, 1, 'the default HPA\'s target is drawn');

  // The surge: within the lead the target rises above where it started, before demand peaks.
  await page.waitForFunction(() => /Surge|Forecast|Reactive/.test(document.getElementById('log')?.textContent ?? '') && Number(document.getElementById('latest-desired')?.textContent) > 3, undefined, { timeout: 60_000 });
  const dir = join(REPO_ROOT, 'test-results');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, 'demo-page.png'), fullPage: true });
  mkdirSync(join(dir, 'img'), { recursive: true });
  await page.setViewportSize({ width: 1600, height: 1000 });
  await page.waitForFunction(() => Math.abs((document.querySelector('#chart .uplot') as HTMLElement | null)?.getBoundingClientRect().width ?? 0) > 1400, undefined, { timeout: 10_000 });
  const wideFit = await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
  assert.ok(wideFit, 'no sideways scroll at 1600 px');
  await page.screenshot({ path: join(dir, 'img', 'demo-page-1600.png'), fullPage: false });
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /surgeguard_scaler_desired_replicas\{namespace="demo",scaler="demo\/inference"\} \d+/);
  const agent = /agent (http:\/\/\S+)\/metrics/.exec(stdout)?.[1];
  assert.ok(agent, 'the agent runs beside the demo');
  assert.match(await (await fetch(`${agent}/metrics`)).text(), /surgeguard_collector_success\{collector="node"\} 1/);
  await page.close();
});

test('at 1024 px the page fits the window: the charts take the width they are given', async () => {
  const page = await browser.newPage({ viewport: { width: 1024, height: 800 } });
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  const fit = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth, chart: document.getElementById('chart')?.getBoundingClientRect().width ?? 0 }));
  assert.ok(fit.scroll <= fit.client, `the page scrolls sideways: ${fit.scroll} > ${fit.client}`);
  assert.ok(fit.chart > 800, `the chart uses the width: ${fit.chart}`);
  mkdirSync(join(REPO_ROOT, 'test-results', 'img'), { recursive: true });
  await page.screenshot({ path: join(REPO_ROOT, 'test-results', 'img', 'demo-page-1024.png'), fullPage: false });
  await page.close();
});

test('Ctrl-C stops the demo and its agent cleanly; a page left open says its numbers are stale', async () => {
  const page = await browser.newPage({ viewport: { width: 1180, height: 800 } });
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  assert.equal(await page.evaluate(() => document.body.classList.contains('stale')), false);
  const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
  demo.kill('SIGINT');
  assert.equal(await exited, 0);
  await page.waitForSelector('body.stale #stale', { state: 'visible', timeout: 10_000 });
  assert.match((await page.textContent('#stale')) ?? '', /No answer from the demo server since .*; the numbers below are from then/);
  await page.close();
});
