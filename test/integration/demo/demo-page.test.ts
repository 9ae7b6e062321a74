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
  // 120x: one 1-minute interval of the embedded World Cup trace every half second, so the surge
  // comes within the test's minute; the XID 79 comes 30 ticks after the page opens, the thermal
  // slowdown 30 ticks later.
  demo = spawn(join(REPO_ROOT, 'surgeguard'), ['demo', '--listen', `127.0.0.1:${port}`, '--speed', '120', '--lead', '20', '--gpu-fault-at', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  // The score so far beside the default HPA and the best reactive rule: the table shows what
  // /api/demo/state's score says. The demo ticks twice a second and the page reads once a second,
  // so the two are compared when both name the same interval.
  let score: ScoreCheck | undefined;
  await waitUntil('the score table to show the API\'s score of the same interval', async () => {
    score = await page.evaluate(readScore);
    return score.page.intervals === score.api.intervals ? true : undefined;
  }, { timeoutMs: 20_000, intervalMs: 150 });
  assert.ok(score);
  assert.deepEqual(score.page, score.api);
  assert.equal(score.frontier.configurations, 404, 'frontier version 2: 404 reactive configurations');
  assert.ok(score.rule === null || score.rule.cost <= score.sgCost, `the best rule costs no more than SurgeGuard: ${JSON.stringify(score)}`);

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

/** The score table as the page shows it and as /api/demo/state says it, in the page's formatting. */
interface ScoreCheck {
  page: { intervals: string; rows: Record<string, Record<string, string>>; rule: string };
  api: { intervals: string; rows: Record<string, Record<string, string>>; rule: string };
  frontier: { configurations: number };
  rule: { cost: number } | null;
  sgCost: number;
}

/**
 * Reads /api/demo/state's score from inside the page, then the table, and formats the API's numbers as
 * the replay report prints them (quality 3 decimals, cost ratio 3 with ×, fractions 6).
 */
function readScore(): Promise<ScoreCheck> {
  return (async () => {
    type Fleet = { rule?: string; cost: number; unservedFraction: number; unservedIntervals: number; costVsDefaultHpa: number };
    const st = (await (await fetch('/api/demo/state')).json()) as { score: { intervals: number; qualityFigure: number | 'inf'; surgeguard: Fleet; defaultHpa: Fleet; bestReactiveRule: Fleet | null; bestReactiveAtSameCost: { unservedFraction: number }; frontier: { configurations: number } } };
    const sc = st.score;
    const fleet = (f: Fleet | null): Record<string, string> => (f ? { 'cost-ratio': `${f.costVsDefaultHpa.toFixed(3)}×`, unserved: f.unservedFraction.toFixed(6), intervals: String(f.unservedIntervals), cost: String(f.cost) } : { 'cost-ratio': '', unserved: '', intervals: '', cost: '' });
    const rows = Object.fromEntries(Array.from(document.querySelectorAll('#score tbody tr')).map((r) => [(r as HTMLElement).dataset.policy ?? '', Object.fromEntries(Array.from(r.querySelectorAll('td[class]:not(.wrap)')).map((td) => [td.className, td.textContent ?? '']))]));
    return {
      page: { intervals: document.getElementById('score-intervals')?.textContent ?? '', rows, rule: document.getElementById('score-rule')?.textContent ?? '' },
      api: {
        intervals: String(sc.intervals),
        rows: {
          surgeguard: { quality: sc.qualityFigure === 'inf' ? 'inf' : sc.qualityFigure.toFixed(3), ...fleet(sc.surgeguard) },
          'default-hpa': fleet(sc.defaultHpa),
          'best-reactive-rule': fleet(sc.bestReactiveRule),
          'best-reactive': { unserved: sc.bestReactiveAtSameCost.unservedFraction.toFixed(6) },
        },
        rule: sc.bestReactiveRule?.rule ?? 'none (every reactive rule cost more)',
      },
      frontier: sc.frontier,
      rule: sc.bestReactiveRule,
      sgCost: sc.surgeguard.cost,
    };
  })();
}

/** The fault markers as each chart and the list show them, beside /api/demo/healing's markers. */
function readMarkers(): Promise<{ page: Record<string, string[]>; api: Record<string, string[]> }> {
  return (async () => {
    const h = (await (await fetch('/api/demo/healing')).json()) as { markers: Array<{ at: string; events: Array<{ text: string }> }> };
    const at = h.markers.map((m) => m.at);
    const onChart = (id: string): string[] => Array.from(document.querySelectorAll(`#${id} .sg-marker`)).map((m) => (m as HTMLElement).dataset.at ?? '');
    const label = (m: { at: string; events: Array<{ text: string }> }, i: number): string => `${i + 1}${m.at.slice(0, 16).replace('T', ' ')} UTC: ${m.events.map((e) => e.text).join('; ')}`;
    return {
      api: { chart: at, replicas: at, waiting: at, list: h.markers.map(label) },
      page: { chart: onChart('chart'), replicas: onChart('replicas'), waiting: onChart('waiting'), list: Array.from(document.querySelectorAll('#markers li')).map((li) => li.textContent ?? '') },
    };
  })();
}

/** What the healing and agent panels show, read beside the API's answer at the same moment. */
interface PanelCheck {
  page: Record<string, unknown>;
  api: Record<string, unknown>;
}

/**
 * Reads /api/demo/healing and /api/demo/agent from inside the page, then the panels, and maps both
 * to the same shape. The page refreshes every second and the demo ticks every half second, so a
 * caller retries until they agree (a page that shows other numbers never does).
 */
function readPanels(): Promise<PanelCheck> {
  return (async () => {
    const h = (await (await fetch('/api/demo/healing')).json()) as {
      gate: Record<string, number | boolean>;
      floor: { replicas: number } | null;
      findings: Array<{ target: string; summary: string }>;
      remediations: Array<{ target: { name: string }; step: string; decision: string; reason: string; message: string }>;
      oncall: { deliveries: Array<{ status: string; summary: string; result: string }> };
    };
    const a = (await (await fetch('/api/demo/agent')).json()) as { node: string; gpus: Array<{ temperatureC: number; powerW: number; throttle: string[] }>; network: Array<{ interface: string }> };
    const t = (id: string): string => document.getElementById(id)?.textContent ?? '';
    const cells = (id: string, cols: number[]): string[][] => Array.from(document.querySelectorAll(`#${id} tr`)).map((tr) => cols.map((c) => tr.children[c]?.textContent ?? ''));
    const g = h.gate;
    return {
      api: {
        gate: [g.cordoned, g.nodes, g.cordonLimit, g.inFlight, g.maxInFlight, g.actionsLastHour, g.maxActionsPerHour, g.unhealthyNodes].map(String),
        floor: h.floor ? String(h.floor.replicas) : 'none',
        findings: h.findings.map((f) => [f.target, f.summary]),
        remediations: h.remediations.map((r) => [r.target.name, r.step, r.decision, r.reason, r.message]),
        oncall: h.oncall.deliveries.map((d) => [d.status, d.summary, d.result]),
        cordonedNodes: String(g.cordoned),
        agent: [a.node, ...a.gpus.flatMap((x) => [String(x.temperatureC), String(x.powerW), x.throttle.join(', ') || 'none'])],
        interfaces: a.network.map((n) => n.interface),
      },
      page: {
        gate: ['gate-cordoned', 'gate-nodes', 'gate-limit', 'gate-inflight', 'gate-maxinflight', 'gate-actions', 'gate-maxactions', 'gate-unhealthy'].map(t),
        floor: t('floor').split(' ')[0],
        findings: cells('findings', [0, 3, 4]).filter((r) => r[0] !== 'nothing found now').map((r) => r.slice(1)),
        remediations: cells('remediations', [1, 2, 3, 4, 5]),
        oncall: cells('oncall', [1, 2, 4]),
        cordonedNodes: String(document.querySelectorAll('#nodes .node.cordoned').length),
        agent: [t('agent-node'), ...cells('agent-gpus', [4, 5, 6]).flat()],
        interfaces: cells('agent-net', [0]).flat(),
      },
    };
  })();
}

test('the GPU faults on the page: finding, gate, make-before-break drain and on-call delivery, as /api/demo/healing says; the agent panel as /api/demo/agent says', async () => {
  const page = await browser.newPage({ viewport: { width: 1024, height: 900 } });
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  // Both repairs done: the XID node drained at once, the thermal node after its replacements.
  await waitUntil('both faulty nodes drained', async () => {
    const h = (await (await fetch(`${url}/api/demo/healing`)).json()) as { nodes: Array<{ name: string; phase: string | null }> };
    return h.nodes.filter((n) => n.phase === 'drained').length === 2 ? true : undefined;
  }, { timeoutMs: 120_000, intervalMs: 500 });
  let last: PanelCheck | undefined;
  await waitUntil('the panels to show what the API says', async () => {
    last = await page.evaluate(readPanels);
    return JSON.stringify(last.page) === JSON.stringify(last.api) ? true : undefined;
  }, { timeoutMs: 15_000, intervalMs: 300 }).catch(() => assert.deepEqual(last?.page, last?.api));
  const api = last?.api as { remediations: string[][]; oncall: string[][]; gate: string[]; agent: string[] };
  // What happened, in the product's words: the XID node cordoned and drained at once; the thermal
  // node cordoned, the floor raised, then drained once the replacements were ready.
  const steps = api.remediations.map((r) => `${r[0]} ${r[1]} ${r[3]}`).reverse();
  for (const want of ['gpu-node-01 cordon NodeCordoned', 'gpu-node-01 evict PodEvicted', 'gpu-node-02 cordon NodeCordoned', 'gpu-node-02 raise-floors ReplicaFloorRaised', 'gpu-node-02 drain ReplacementsReady', 'gpu-node-02 evict PodEvicted']) assert.ok(steps.includes(want), `${want} in ${steps.join('; ')}`);
  assert.ok(steps.indexOf('gpu-node-02 drain ReplacementsReady') > steps.indexOf('gpu-node-02 raise-floors ReplicaFloorRaised'), 'capacity first, then the drain');
  assert.deepEqual(api.gate.slice(0, 3), ['2', '20', '2'], 'two of 20 nodes cordoned, the limit being 2');
  assert.ok(api.oncall.some((d) => d[0] === 'firing' && /XID 79/.test(d[1] ?? '') && d[2] === 'HTTP 200 (delivered)'), JSON.stringify(api.oncall));
  assert.ok(api.oncall.some((d) => d[0] === 'firing' && /thermal/.test(d[1] ?? '') && d[2] === 'HTTP 200 (delivered)'), JSON.stringify(api.oncall));
  assert.deepEqual(api.agent.slice(0, 2), ['gpu-node-02', '88'], 'the agent panel shows the slowed GPU as its collector read it');

  // Fault markers: a line on each chart for every marker the API names, and the numbered list.
  let marks: Awaited<ReturnType<typeof readMarkers>> | undefined;
  await waitUntil('the charts to mark what /api/demo/healing says', async () => {
    marks = await page.evaluate(readMarkers);
    return JSON.stringify(marks.page) === JSON.stringify(marks.api) ? true : undefined;
  }, { timeoutMs: 15_000, intervalMs: 300 }).catch(() => assert.deepEqual(marks?.page, marks?.api));
  const list = marks?.api.list ?? [];
  for (const want of [/fault: XID 79 .* of gpu-node-01/, /found by gpu-xid: fatal fault on gpu-node-01/, /gpu-node-01 cordoned/, /gpu-node-01 drained at once/, /page sent \(firing\): XID 79/, /fault: hardware thermal slowdown .* of gpu-node-02/, /found by gpu-thermal: degraded fault on gpu-node-02/, /gpu-node-02 cordoned/, /gpu-node-02 replica floor raised/, /gpu-node-02 drain started/, /page sent \(firing\): hardware slowdown/]) {
    assert.ok(list.some((l) => want.test(l)), `${want} in ${list.join(' | ')}`);
  }
  // Hovering on a marker's line names its events in a box beside it.
  await page.locator('#replicas').scrollIntoViewIfNeeded();
  const over = await page.locator('#replicas .u-over').boundingBox();
  assert.ok(over);
  // A marker inside the plot (the newest may sit on its right edge).
  const hover = await page.evaluate((o) => {
    const inside = Array.from(document.querySelectorAll('#replicas .sg-marker')).map((m) => m.getBoundingClientRect()).find((r) => r.left > o.x + 4 && r.left < o.x + o.width - 8);
    return inside ? { x: inside.left + 1 } : null;
  }, over);
  assert.ok(hover, 'a marker inside the replicas chart');
  await page.mouse.move(hover.x, over.y + over.height / 2);
  const hoverText = await page.evaluate(() => document.querySelector('#replicas .sg-marker-hover')?.textContent ?? '');
  assert.ok(list.some((l) => hoverText.includes(l.slice(l.indexOf(' UTC: ') + 6))), `hover "${hoverText}" names a marker's events`);
  // Filled with long messages, the page still fits at 1024 px, and at 1600 px.
  const fits = (): Promise<boolean> => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
  assert.ok(await fits(), 'no sideways scroll at 1024 px with the healing panel filled');
  mkdirSync(join(REPO_ROOT, 'test-results', 'img'), { recursive: true });
  await page.locator('#healing').screenshot({ path: join(REPO_ROOT, 'test-results', 'img', 'demo-healing-1024.png') });
  await page.setViewportSize({ width: 1600, height: 1000 });
  await page.waitForFunction(() => Math.abs((document.querySelector('#chart .uplot') as HTMLElement | null)?.getBoundingClientRect().width ?? 0) > 1400, undefined, { timeout: 10_000 });
  assert.ok(await fits(), 'no sideways scroll at 1600 px with the healing panel filled');
  await page.locator('#healing').screenshot({ path: join(REPO_ROOT, 'test-results', 'img', 'demo-healing-1600.png') });
  await page.locator('#agent').screenshot({ path: join(REPO_ROOT, 'test-results', 'img', 'demo-agent-1600.png') });
  await page.mouse.move(0, 0);
  await page.locator('#charts').screenshot({ path: join(REPO_ROOT, 'test-results', 'img', 'demo-markers-1600.png') });
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
