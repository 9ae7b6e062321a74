import { CHART_SCRIPT, WORDS } from '../replay/report-charts.ts';
import { PRINT_PRECISION } from '../replay/summary-text.ts';

/**
 * The demo's page: one HTML file and uPlot served by the demo server (no CDN: it must work offline), polling
 * /api/demo/state for the series and the score so far, /api/decisions for the log, /api/demo/healing
 * (panels and the charts' fault markers) and /api/demo/agent every second. The latest decision, the
 * score and the markers are shown in elements with stable ids and data attributes, which the browser
 * test reads.
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
  body.stale .cards, body.stale .chart, body.stale table, body.stale .nodes, body.stale .hint { opacity: 0.45; }
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
  th, td { border-bottom: 1px solid #eceff3; padding: 4px 8px; text-align: left; white-space: nowrap; }
  td.msg { white-space: normal; }
  .legend span { margin-right: 14px; }
  .scroll { overflow-x: auto; max-width: 100%; }
  td.wrap { white-space: normal; overflow-wrap: anywhere; }
  .panel { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 12px; margin: 6px 0; }
  .nodes { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0; }
  .node { border: 1px solid #dde1e8; border-radius: 4px; padding: 2px 6px; font-size: 12px; background: #fff; }
  .node.cordoned { background: #fff4e5; border-color: #f0b72f; }
  .node.lost { background: #ffebe9; border-color: #cf222e; }
  .node.thermal { outline: 2px solid #bf8700; }
  .node.idle { color: #8c959f; }
  .sev-critical { color: #cf222e; font-weight: 600; }
  .sev-warning { color: #9a6700; font-weight: 600; }
  .ok { color: #1a7f37; }
  .sw { display: inline-block; width: 12px; height: 3px; vertical-align: middle; margin-right: 4px; }
  #score th { white-space: normal; vertical-align: bottom; }
  #score td:not(:first-child), #score th:not(:first-child) { text-align: right; }
  .sg-marker { position: absolute; top: 0; bottom: 0; width: 0; border-left: 2px dashed #cf222e; pointer-events: none; }
  .sg-marker span { position: absolute; top: 0; left: -9px; width: 16px; height: 16px; border-radius: 8px; background: #cf222e; color: #fff; font-size: 11px; line-height: 16px; text-align: center; }
  .sg-marker-hover { position: absolute; top: 20px; max-width: 60%; font-size: 12px; color: #1d2330; background: rgba(255,255,255,0.94); border: 1px solid #cf222e; border-radius: 4px; padding: 2px 6px; pointer-events: none; z-index: 5; white-space: normal; }
  .sg-marker-hover:empty { display: none; }
  #markers { margin: 4px 0 0; padding-left: 0; list-style: none; font-size: 13px; }
  #markers li { margin: 2px 0; }
  #markers b { display: inline-block; min-width: 18px; height: 18px; border-radius: 9px; background: #cf222e; color: #fff; text-align: center; font-size: 11px; line-height: 18px; margin-right: 6px; }
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
<h2>How SurgeGuard compares so far</h2>
<div class="hint">Scored as <code>surgeguard replay</code> scores a trace, over the <span id="score-intervals">–</span> intervals so far (to <span id="score-at">–</span> UTC): each fleet on the replay contract's model (a request not served in its interval is dropped; the GPU faults are not part of it), against the <span id="score-configs">–</span> reactive rules of the frontier (HPA at utilization 0.15 to 0.95 with four windows, peak hold at 1.00 to 2.00 times the peak of 1 to 288 intervals).</div>
<div class="scroll"><table id="score"><thead><tr><th>policy</th><th>${WORDS.quality}</th><th>${WORDS.costVsHpa}</th><th>${WORDS.unserved}</th><th>${WORDS.unservedIntervals}</th><th>${WORDS.cost}</th></tr></thead><tbody>
<tr data-policy="surgeguard"><td>SurgeGuard</td><td class="quality">–</td><td class="cost-ratio">–</td><td class="unserved">–</td><td class="intervals">–</td><td class="cost">–</td></tr>
<tr data-policy="default-hpa"><td>${WORDS.defaultHpa}</td><td></td><td class="cost-ratio">–</td><td class="unserved">–</td><td class="intervals">–</td><td class="cost">–</td></tr>
<tr data-policy="best-reactive-rule"><td class="wrap">${WORDS.bestReactiveRule}: <span class="rule" id="score-rule">–</span></td><td></td><td class="cost-ratio">–</td><td class="unserved">–</td><td class="intervals">–</td><td class="cost">–</td></tr>
<tr data-policy="best-reactive"><td>${WORDS.bestReactive}</td><td></td><td></td><td class="unserved">–</td><td></td><td></td></tr>
</tbody></table></div>
<section id="charts">
<p class="hint">${WORDS.zoomHint} Red dashed lines mark the GPU faults and what healing did (hover a line, or see the list below the charts).</p>
<h2>Demand, ${WORDS.band}, capacity of ready pods (requests/s)</h2>
<div class="chart" id="chart"></div>
<h2>Replicas: SurgeGuard and the ${WORDS.defaultHpa} on the same stream</h2>
<div class="chart" id="replicas"></div>
<h2>Requests waiting: SurgeGuard and the default HPA</h2>
<div class="chart" id="waiting"></div>
<ol id="markers" aria-label="Fault and healing markers on the charts"></ol>
</section>
<section id="healing">
<h2>GPU faults and healing (the controller's healing loop on the demo's GPU nodes)</h2>
<div class="hint" id="faults">–</div>
<div class="nodes" id="nodes" aria-label="GPU nodes: one pod per GPU"></div>
<div class="cards">
  <div class="card" title="Safety limits: how many nodes may be cordoned at once, repairs in flight, actions per hour, and the share of unhealthy nodes above which nothing is touched">safety gate: nodes cordoned (limit)<b><span id="gate-cordoned">–</span> of <span id="gate-nodes">–</span> (<span id="gate-limit">–</span>)</b></div>
  <div class="card">repairs in flight (limit)<b><span id="gate-inflight">–</span> (<span id="gate-maxinflight">–</span>)</b></div>
  <div class="card">actions in the last hour (limit)<b><span id="gate-actions">–</span> (<span id="gate-maxactions">–</span>)</b></div>
  <div class="card">unhealthy nodes (fleet-wide above <span id="gate-fleetpct">–</span>%)<b><span id="gate-unhealthy">–</span> <span id="gate-fleetwide"></span></b></div>
  <div class="card" title="Make before break: before draining a degraded node, the scaler's floor is raised so that replacements are ready first">replica floor for the drain<b id="floor">none</b></div>
</div>
<h2>Findings now</h2>
<div class="scroll"><table><thead><tr><th>check</th><th>severity</th><th>fault</th><th>target</th><th>what was seen</th></tr></thead><tbody id="findings"></tbody></table></div>
<h2>Repairs: cordon, capacity first, then drain (newest first)</h2>
<div class="scroll"><table><thead><tr><th>recorded time</th><th>node</th><th>step</th><th>decision</th><th>reason</th><th>what SurgeGuard did</th></tr></thead><tbody id="remediations"></tbody></table></div>
<h2>On-call messages and their delivery (newest first)</h2>
<div class="hint">Signed JSON webhooks sent by the healing loop's on-call sender to a receiver the demo runs at <span id="oncall-receiver">–</span>.</div>
<div class="scroll"><table><thead><tr><th>recorded time</th><th>status</th><th>problem</th><th>SurgeGuard's decision</th><th>delivery</th></tr></thead><tbody id="oncall"></tbody></table></div>
</section>
<section id="agent">
<h2>The agent on <span id="agent-node">–</span></h2>
<div class="hint" id="agent-source">–</div>
<div class="scroll"><table><thead><tr><th>GPU</th><th>model</th><th>utilization (%)</th><th>memory used / total (GiB)</th><th>temperature (°C)</th><th>power (W)</th><th>clock slowdowns active</th></tr></thead><tbody id="agent-gpus"></tbody></table></div>
<div class="scroll"><table><thead><tr><th>interface</th><th>receive (bytes/s)</th><th>transmit (bytes/s)</th><th>link</th></tr></thead><tbody id="agent-net"></tbody></table></div>
<div class="hint">collectors: <span id="agent-collectors">–</span>; read at <span id="agent-at">–</span></div>
</section>
<h2 style="font-size:16px">Decisions (newest first)</h2>
<div class="scroll"><table><thead><tr><th>recorded time</th><th>decision</th><th>reason</th><th>from</th><th>to</th><th>demand (requests/s)</th><th>why</th></tr></thead><tbody id="log"></tbody></table></div>
<script>${CHART_SCRIPT}
let charts;
// Fault and healing markers (from /api/demo/healing): one dashed line per recorded time, numbered as in
// the list under the charts; hovering near a line names its events in a box beside the line.
let markers = [];
function markerLayer(u) {
  let layer = u.under.querySelector('.sg-markers');
  if (!layer) { layer = document.createElement('div'); layer.className = 'sg-markers'; u.under.appendChild(layer); }
  return layer;
}
function sgMarkers() {
  return { hooks: {
    draw: [(u) => {
      const { min, max } = u.scales.x;
      markerLayer(u).replaceChildren(...markers.filter((m) => m.x >= min && m.x <= max).map((m) => {
        const d = document.createElement('div');
        d.className = 'sg-marker';
        d.style.left = u.valToPos(m.x, 'x') + 'px';
        d.dataset.at = m.at; d.dataset.n = String(m.n); d.title = m.label;
        const badge = document.createElement('span');
        badge.textContent = String(m.n);
        d.appendChild(badge);
        return d;
      }));
    }],
    setCursor: [(u) => {
      // A box over the plot, beside the line: text below the chart would move the page under the mouse.
      let out = u.over.querySelector('.sg-marker-hover');
      if (!out) { out = document.createElement('div'); out.className = 'sg-marker-hover'; u.over.appendChild(out); }
      const left = u.cursor.left;
      const near = left === null || left === undefined || left < 0 ? undefined : markers.find((m) => Math.abs(u.valToPos(m.x, 'x') - left) <= 6);
      out.textContent = near ? near.n + ' · ' + hhmm(near.at) + ' UTC: ' + near.label : '';
      if (!near) return;
      const at = u.valToPos(near.x, 'x');
      const right = at > u.over.clientWidth / 2;
      out.style.left = right ? '' : at + 8 + 'px';
      out.style.right = right ? u.over.clientWidth - at + 8 + 'px' : '';
    }],
  } };
}
function setMarkers(list) {
  const next = list.map((m, i) => ({ n: i + 1, at: m.at, x: Date.parse(m.at) / 1000, label: m.events.map((e) => e.text).join('; ') }));
  if (JSON.stringify(next) === JSON.stringify(markers)) return;
  markers = next;
  document.getElementById('markers').replaceChildren(...markers.map((m) => {
    const li = document.createElement('li');
    li.dataset.at = m.at;
    const b = document.createElement('b');
    b.textContent = String(m.n);
    li.append(b, hhmm(m.at) + ' UTC: ' + m.label);
    return li;
  }));
  if (charts) for (const k of Object.keys(charts)) charts[k].redraw(false);
}
// The score as the replay report prints it (replay/summary-text.ts's precision).
const P = ${JSON.stringify(PRINT_PRECISION)};
function drawScore(sc) {
  set('score-intervals', sc.intervals); set('score-at', hhmm(sc.at)); set('score-configs', sc.frontier.configurations);
  const cell = (policy, cls, text, title) => {
    const td = document.querySelector('#score tr[data-policy="' + policy + '"] td.' + cls);
    td.textContent = text;
    td.title = title || '';
  };
  // The report's fraction in the cell; the requests it stands for on hover.
  const requests = (n) => Math.round(n).toLocaleString('en-US') + ' requests not served in their interval';
  const row = (policy, f) => {
    cell(policy, 'cost-ratio', f ? f.costVsDefaultHpa.toFixed(P.costRatio) + '×' : '');
    cell(policy, 'unserved', f ? f.unservedFraction.toFixed(P.fraction) : '', f ? requests(f.unserved) : '');
    cell(policy, 'intervals', f ? String(f.unservedIntervals) : '');
    cell(policy, 'cost', f ? String(f.cost) : '');
  };
  cell('surgeguard', 'quality', sc.qualityFigure === 'inf' ? 'inf' : sc.qualityFigure.toFixed(P.quality));
  row('surgeguard', sc.surgeguard); row('default-hpa', sc.defaultHpa); row('best-reactive-rule', sc.bestReactiveRule);
  set('score-rule', sc.bestReactiveRule ? sc.bestReactiveRule.rule : 'none (every reactive rule cost more)');
  cell('best-reactive', 'unserved', sc.bestReactiveAtSameCost.unservedFraction.toFixed(P.fraction), requests(sc.bestReactiveAtSameCost.unserved));
}
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
        bands: [{ series: [3, 2], fill: 'rgba(240,183,47,0.3)' }], plugins: [sgMarkers()] }),
      replicas: sgChart(document.getElementById('replicas'), { unit: 'replicas', height: 200, data: data.replicas, series: [
        { label: 'SurgeGuard target', stroke: '#8250df', width: 2 }, { label: 'SurgeGuard ready', stroke: '#57606a' }, { label: 'default HPA target', stroke: '#cf222e', dash: [4, 3] }, { label: 'default HPA ready', stroke: '#ff8182', show: false }], plugins: [sgMarkers()] }),
      waiting: sgChart(document.getElementById('waiting'), { unit: 'requests', height: 160, data: data.waiting, series: [
        { label: 'SurgeGuard', stroke: '#8250df', width: 2 }, { label: 'default HPA', stroke: '#cf222e', dash: [4, 3] }], plugins: [sgMarkers()] }),
    };
    window.charts = charts;
  } else for (const k of Object.keys(charts)) sgUpdate(charts[k], data[k]);
}
function set(id, v) { document.getElementById(id).textContent = v; }
// Rows from values, each cell's text set with textContent (messages are data, not markup).
function rows(id, list, cells) {
  const body = document.getElementById(id);
  body.replaceChildren(...list.map((item) => {
    const tr = document.createElement('tr');
    for (const c of cells(item)) {
      const td = document.createElement('td');
      const [text, cls] = Array.isArray(c) ? c : [c, ''];
      td.textContent = String(text);
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    return tr;
  }));
}
const hhmm = (iso) => (iso ? iso.slice(0, 16).replace('T', ' ') : '–');
function drawHealing(h, progress) {
  set('faults', h.faults.length === 0 ? 'No GPU faults in this run.' : h.faults.map((f) => f.what + ' on ' + f.node + ': ' + (f.happened ? 'happened at ' + hhmm(f.at) + ' UTC' : 'in ' + (f.atInterval - progress.next + 1) + ' ticks')).join(' · '));
  document.getElementById('nodes').replaceChildren(...h.nodes.map((n) => {
    const d = document.createElement('span');
    d.className = 'node' + (n.cordoned ? ' cordoned' : '') + (n.gpu === 'lost' ? ' lost' : '') + (n.gpu === 'thermal' ? ' thermal' : '') + (n.pods === 0 ? ' idle' : '');
    d.dataset.node = n.name;
    d.textContent = n.name.replace('gpu-node-', '') + ': ' + (n.pods === 0 ? 'no pod' : n.readyPods === n.pods ? 'pod ready' : 'pod starting') + (n.cordoned ? ', cordoned' + (n.phase ? ' (' + n.phase + ')' : '') : '') + (n.gpu !== 'ok' ? ', GPU ' + n.gpu : '');
    d.title = n.name + (n.condition ? ': ' + n.condition : '');
    return d;
  }));
  const g = h.gate;
  set('gate-cordoned', g.cordoned); set('gate-nodes', g.nodes); set('gate-limit', g.cordonLimit);
  set('gate-inflight', g.inFlight); set('gate-maxinflight', g.maxInFlight);
  set('gate-actions', g.actionsLastHour); set('gate-maxactions', g.maxActionsPerHour);
  set('gate-unhealthy', g.unhealthyNodes); set('gate-fleetpct', g.fleetUnhealthyPercent); set('gate-fleetwide', g.fleetWide ? '(fleet-wide: nothing is touched)' : '');
  set('floor', h.floor ? h.floor.replicas + ' replicas until ' + hhmm(h.floor.expiresAt) + ' (' + h.floor.reason + ')' : 'none');
  rows('findings', h.findings, (f) => [f.check, [f.severity, 'sev-' + f.severity], f.fault, f.target, [f.summary, 'wrap']]);
  if (h.findings.length === 0) rows('findings', [{}], () => [['nothing found now', 'wrap'], '', '', '', '']);
  rows('remediations', h.remediations, (r) => [hhmm(r.at), r.target.name, r.step, [r.decision, r.decision === 'acted' ? 'ok' : 'sev-warning'], r.reason, [r.message, 'wrap']]);
  set('oncall-receiver', h.oncall.receiver);
  rows('oncall', h.oncall.deliveries, (d) => [hhmm(d.at), d.status, [d.summary, 'wrap'], [d.decision, 'wrap'], [d.result, /delivered/.test(d.result) ? 'ok' : 'sev-critical']]);
}
function drawAgent(a) {
  set('agent-node', a.node); set('agent-source', a.source);
  rows('agent-gpus', a.gpus, (g) => [g.gpu, g.model, g.utilizationPercent, g.memoryUsedGiB + ' / ' + g.memoryTotalGiB, g.temperatureC, g.powerW, [g.throttle.join(', ') || 'none', g.throttle.some((t) => t.startsWith('hw_')) ? 'sev-warning' : '']]);
  rows('agent-net', a.network, (n) => [n.interface, n.receiveBytesPerSecond.toLocaleString('en-US'), n.transmitBytesPerSecond.toLocaleString('en-US'), n.up ? 'up' : 'down']);
  set('agent-collectors', Object.entries(a.collectors).map(([k, v]) => k + ' ' + v).join(', ')); set('agent-at', a.collectedAt || '–');
}
async function refresh() {
  try {
    const ok = (r) => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); };
    // Healing and agent are absent (404) only in a demo started without them.
    const optional = (r) => (r.status === 404 ? null : ok(r));
    const [state, decisions, healing, agent] = await Promise.all([
      fetch('/api/demo/state').then(ok),
      fetch('/api/decisions?limit=40').then(ok),
      fetch('/api/demo/healing').then(optional),
      fetch('/api/demo/agent').then(optional),
    ]);
    document.getElementById('healing').hidden = !healing;
    document.getElementById('agent').hidden = !agent;
    if (healing) drawHealing(healing, state.progress);
    setMarkers(healing ? healing.markers : []);
    if (state.score) drawScore(state.score);
    if (agent) drawAgent(agent);
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
