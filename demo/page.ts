/**
 * The demo's page: one self-contained HTML file (no CDN: it must work offline), polling
 * /api/demo/state for the series and /api/decisions for the log every second. The latest
 * decision is shown in elements with stable ids, which the browser test reads.
 */
export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>SurgeGuard demo</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: #5b6475; margin-bottom: 12px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
  .card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
  .card b { display: block; font-size: 20px; }
  svg { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; display: block; width: 100%; max-width: 1400px; box-sizing: border-box; }
  #stale { display: none; background: #fff4e5; border: 1px solid #f0b72f; border-radius: 6px; padding: 8px 12px; margin: 8px 0; font-weight: 600; }
  body.stale #stale { display: block; }
  body.stale .cards, body.stale svg, body.stale table { opacity: 0.45; }
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
<div class="cards" id="compare" title="Since the trace began, on the same stream: the default Kubernetes HPA (utilization 0.7, 300 s scale-down window) against SurgeGuard">
  <div class="card">pod-intervals paid: SurgeGuard / default HPA<b><span id="cost-sg">–</span> / <span id="cost-hpa">–</span></b></div>
  <div class="card">requests waiting now: SurgeGuard / default HPA<b><span id="wait-sg">–</span> / <span id="wait-hpa">–</span></b></div>
  <div class="card">late work (requests × intervals): SurgeGuard / default HPA<b><span id="late-sg">–</span> / <span id="late-hpa">–</span></b></div>
</div>
<div class="legend">
  <span><i class="sw" style="background:#1f6feb"></i>demand</span>
  <span><i class="sw" style="background:#f0b72f"></i>forecast band (p50–p90, made one startup time ahead)</span>
  <span><i class="sw" style="background:#2da44e"></i>capacity of ready pods</span>
  <span><i class="sw" style="background:#8250df"></i>target replicas</span>
  <span><i class="sw" style="background:#57606a"></i>ready replicas</span>
  <span><i class="sw" style="background:#cf222e"></i>default HPA's target (same stream)</span>
</div>
<svg id="chart" height="300"></svg>
<svg id="replicas" height="160"></svg>
<h2 style="font-size:16px">Decisions (newest first)</h2>
<table><thead><tr><th>recorded time</th><th>decision</th><th>reason</th><th>from</th><th>to</th><th>demand (requests/s)</th><th>why</th></tr></thead><tbody id="log"></tbody></table>
<script>
const PAD = 40;
// Drawn at the width the page gives the chart, so a narrow window never scrolls sideways.
let W = 1100;
function path(points, key, x, y) {
  let d = '';
  for (const p of points) { const v = p[key]; if (v === undefined || v === null) continue; d += (d ? 'L' : 'M') + x(p.t).toFixed(1) + ',' + y(v).toFixed(1); }
  return d;
}
// Recorded times on the x axis (UTC, as the trace has them), the unit with the y axis's top.
function clock(iso) { return iso.slice(5, 16).replace('T', ' '); }
function draw(svg, points, h, series, band, unit) {
  if (!points.length) return;
  W = Math.max(320, Math.round(svg.getBoundingClientRect().width) || 1100);
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + h);
  const t0 = points[0].t, t1 = Math.max(t0 + 1, points[points.length - 1].t);
  let max = 1;
  for (const p of points) for (const s of series) max = Math.max(max, p[s.key] || 0);
  if (band) for (const p of points) max = Math.max(max, p.forecastP90 || 0);
  const x = (t) => PAD + (t - t0) / (t1 - t0) * (W - 2 * PAD);
  const y = (v) => h - 20 - v / max * (h - 40);
  let out = '<text x="4" y="14" font-size="11" fill="#5b6475">' + (max < 10 ? max.toFixed(2) : max.toFixed(0)) + ' ' + unit + '</text>';
  out += '<line x1="' + PAD + '" x2="' + (W - PAD) + '" y1="' + (h - 20) + '" y2="' + (h - 20) + '" stroke="#dde1e8"/>';
  const ticks = [points[0], points[Math.floor(points.length / 2)], points[points.length - 1]];
  ticks.forEach((p, i) => {
    const anchor = i === 0 ? 'start' : i === 1 ? 'middle' : 'end';
    out += '<text class="tick" x="' + x(p.t).toFixed(1) + '" y="' + (h - 5) + '" font-size="11" fill="#5b6475" text-anchor="' + anchor + '">' + clock(p.at) + ' UTC</text>';
  });
  if (band) {
    const withBand = points.filter((p) => p.forecastP90 !== undefined);
    if (withBand.length) {
      let d = 'M' + withBand.map((p) => x(p.t).toFixed(1) + ',' + y(p.forecastP90).toFixed(1)).join('L');
      d += 'L' + withBand.slice().reverse().map((p) => x(p.t).toFixed(1) + ',' + y(p.forecastP50).toFixed(1)).join('L') + 'Z';
      out += '<path d="' + d + '" fill="#f0b72f" fill-opacity="0.35" stroke="none"/>';
    }
  }
  for (const s of series) out += '<path d="' + path(points, s.key, x, y) + '" fill="none" stroke="' + s.color + '" stroke-width="' + (s.width || 1.5) + '"' + (s.dash ? ' stroke-dasharray="' + s.dash + '"' : '') + '/>';
  svg.innerHTML = out;
}
function set(id, v) { document.getElementById(id).textContent = v; }
async function refresh() {
  try {
    const ok = (r) => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); };
    const [state, decisions] = await Promise.all([
      fetch('/api/demo/state').then(ok),
      fetch('/api/decisions?limit=40').then(ok),
    ]);
    const pts = state.points.slice(-160);
    set('about', state.about + ' — interval ' + state.progress.next + ' of ' + state.progress.total + (state.progress.next < state.progress.total ? '' : ' (trace finished)'));
    draw(document.getElementById('chart'), pts, 300, [{ key: 'capacity', color: '#2da44e' }, { key: 'demand', color: '#1f6feb', width: 2 }], true, 'requests/s');
    draw(document.getElementById('replicas'), pts, 160, [{ key: 'hpaTarget', color: '#cf222e', dash: '4 3' }, { key: 'target', color: '#8250df', width: 2 }, { key: 'ready', color: '#57606a' }], false, 'replicas');
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
