import { CHART_SCRIPT, WORDS } from '../replay/report-charts.ts';

/**
 * The demo's page: one HTML file and uPlot served by the demo server (no CDN: it must work offline), polling
 * /api/demo/state for the series and /api/decisions for the log every second. The latest
 * decision is shown in elements with stable ids, which the browser test reads.
 */
export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>SurgeGuard demo</title>
<link rel="stylesheet" href="/assets/uplot.min.css">
<script src="/assets/uplot.iife.min.js"></script>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: #5b6475; margin-bottom: 12px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
  .card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
  .card b { display: block; font-size: 20px; }
  .chart { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; overflow: hidden; margin: 6px 0; }
  h2 { font-size: 16px; margin: 14px 0 4px; }
  .hint { color: #5b6475; }
  #stale { display: none; background: #fff4e5; border: 1px solid #f0b72f; border-radius: 6px; padding: 8px 12px; margin: 8px 0; font-weight: 600; }
  body.stale #stale { display: block; }
  body.stale .cards, body.stale .chart, body.stale table { opacity: 0.45; }
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
  th, td { border-bottom: 1px solid #eceff3; padding: 4px 8px; text-align: left; white-space: nowrap; }
  td.msg { white-space: normal; }
  .legend span { margin-right: 14px; }
  .sw { display: inline-block; width: 12px; height: 3px; vertical-align: middle; margin-right: 4px; }
</style>
</head>
<body>
<h1>SurgeGuard demo</h1>
<div class="sub" id="about">loading…</div>
<div id="stale" role="alert"></div>
<div class="cards">
  <div class="card">recorded time<b id="latest-time">–</b></div>
  <div class="card">decision<b id="latest-decision">–</b></div>
  <div class="card">reason<b id="latest-reason">–</b></div>
  <div class="card">replicas (from → to)<b><span id="latest-current">–</span> → <span id="latest-desired">–</span></b></div>
  <div class="card">demand (requests/s)<b id="latest-demand">–</b></div>
  <div class="card">forecast p50 / p90 (requests/s)<b><span id="latest-p50">–</span> / <span id="latest-p90">–</span></b></div>
</div>
<div class="cards" id="compare" title="Since the trace began, on the same stream: the ${WORDS.defaultHpa} against SurgeGuard">
  <div class="card">${WORDS.cost}: SurgeGuard / default HPA<b><span id="cost-sg">–</span> / <span id="cost-hpa">–</span></b></div>
  <div class="card">requests waiting now: SurgeGuard / default HPA<b><span id="wait-sg">–</span> / <span id="wait-hpa">–</span></b></div>
  <div class="card">late work (requests × intervals): SurgeGuard / default HPA<b><span id="late-sg">–</span> / <span id="late-hpa">–</span></b></div>
</div>
<p class="hint">${WORDS.zoomHint}</p>
<h2>Demand, ${WORDS.band}, capacity of ready pods (requests/s)</h2>
<div class="chart" id="chart"></div>
<h2>Replicas: SurgeGuard and the ${WORDS.defaultHpa} on the same stream</h2>
<div class="chart" id="replicas"></div>
<h2>Requests waiting: SurgeGuard and the default HPA</h2>
<div class="chart" id="waiting"></div>
<h2 style="font-size:16px">Decisions (newest first)</h2>
<table><thead><tr><th>recorded time</th><th>decision</th><th>reason</th><th>from</th><th>to</th><th>demand (requests/s)</th><th>why</th></tr></thead><tbody id="log"></tbody></table>
<script>${CHART_SCRIPT}
let charts;
// Series in recorded time (epoch seconds of each interval), one array per line.
function draw(pts) {
  const x = pts.map((p) => Date.parse(p.at) / 1000);
  const col = (k) => pts.map((p) => (p[k] === undefined ? null : p[k]));
  const data = {
    chart: [x, col('demand'), col('forecastP50'), col('forecastP90'), col('capacity')],
    replicas: [x, col('target'), col('ready'), col('hpaTarget'), col('hpaReady')],
    waiting: [x, col('backlog'), col('hpaBacklog')],
  };
  if (!charts) {
    charts = {
      chart: sgChart(document.getElementById('chart'), { unit: 'requests/s', height: 300, data: data.chart, series: [
        { label: 'demand', stroke: '#1f6feb', width: 2 }, { label: ${JSON.stringify(WORDS.p50)}, stroke: '#bf8700' }, { label: 'forecast p90', stroke: '#f0b72f' }, { label: 'capacity of ready pods', stroke: '#2da44e' }],
        bands: [{ series: [3, 2], fill: 'rgba(240,183,47,0.3)' }] }),
      replicas: sgChart(document.getElementById('replicas'), { unit: 'replicas', height: 200, data: data.replicas, series: [
        { label: 'SurgeGuard target', stroke: '#8250df', width: 2 }, { label: 'SurgeGuard ready', stroke: '#57606a' }, { label: 'default HPA target', stroke: '#cf222e', dash: [4, 3] }, { label: 'default HPA ready', stroke: '#ff8182', show: false }] }),
      waiting: sgChart(document.getElementById('waiting'), { unit: 'requests', height: 160, data: data.waiting, series: [
        { label: 'SurgeGuard', stroke: '#8250df', width: 2 }, { label: 'default HPA', stroke: '#cf222e', dash: [4, 3] }] }),
    };
    window.charts = charts;
  } else for (const k of Object.keys(charts)) sgUpdate(charts[k], data[k]);
}
function set(id, v) { document.getElementById(id).textContent = v; }
async function refresh() {
  try {
    const ok = (r) => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); };
    const [state, decisions] = await Promise.all([
      fetch('/api/demo/state').then(ok),
      fetch('/api/decisions?limit=40').then(ok),
    ]);
    const pts = state.points;
    set('about', state.about + ' — interval ' + state.progress.next + ' of ' + state.progress.total + (state.progress.next < state.progress.total ? '' : ' (trace finished)'));
    if (pts.length) draw(pts);
    const tot = state.totals;
    const n = (v) => Math.round(v).toLocaleString('en-US');
    set('cost-sg', n(tot.surgeguard.podIntervals)); set('cost-hpa', n(tot.defaultHpa.podIntervals));
    set('wait-sg', n(tot.surgeguard.waitingNow)); set('wait-hpa', n(tot.defaultHpa.waitingNow));
    set('late-sg', n(tot.surgeguard.waitingRequestIntervals)); set('late-hpa', n(tot.defaultHpa.waitingRequestIntervals));
    const list = decisions.decisions;
    const last = list[list.length - 1];
    if (last) {
      set('latest-time', last.time); set('latest-decision', last.decision); set('latest-reason', last.reason);
      set('latest-current', String(last.currentReplicas)); set('latest-desired', String(last.desiredReplicas));
      set('latest-demand', last.demandPerSecond.toFixed(3));
      set('latest-p50', last.forecast.p50.toFixed(3)); set('latest-p90', last.forecast.p90.toFixed(3));
    }
    document.getElementById('log').innerHTML = list.slice().reverse().map((d) => '<tr><td>' + d.time + '</td><td>' + d.decision + '</td><td>' + d.reason + '</td><td>' + d.currentReplicas + '</td><td>' + d.desiredReplicas + '</td><td>' + d.demandPerSecond.toFixed(3) + '</td><td class="msg"></td></tr>').join('');
    const cells = document.querySelectorAll('#log td.msg');
    list.slice().reverse().forEach((d, i) => { cells[i].textContent = d.message; });
    document.body.dataset.ready = 'true';
    lastAnswer = new Date();
    document.body.classList.remove('stale');
  } catch (err) {
    // Old numbers must not pass for live ones: say since when nothing came, and grey them out.
    set('stale', 'No answer from the demo server ' + (lastAnswer ? 'since ' + lastAnswer.toLocaleTimeString() + '; the numbers below are from then' : 'yet') + ' (' + err + ').');
    document.body.classList.add('stale');
  }
}
let lastAnswer;
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
