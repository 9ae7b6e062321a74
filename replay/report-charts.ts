/**
 * What the demo page and the replay report share: the words (so both say the same thing) and the
 * browser-side script that draws a uPlot chart with a UTC time axis, a unit, drag-to-zoom, a hover
 * read-out in the legend, and tick labels copied to data attributes for the browser tests.
 */
export const WORDS = Object.freeze({
  band: 'forecast band (p50 to p90, made one startup time earlier)',
  p50: 'forecast p50 (made one startup time earlier)',
  defaultHpa: 'default HPA (utilization 0.7, 300 s scale-down window)',
  bestReactive: 'best reactive autoscaler at the same cost',
  bestReactiveRule: 'best reactive rule costing no more',
  cost: 'pod-intervals paid',
  costVsHpa: 'pod-intervals paid vs the default HPA',
  unserved: 'unserved demand (fraction of all)',
  unservedIntervals: 'intervals with unserved demand',
  quality: 'quality (unserved ÷ best reactive\'s at the same cost; lower is better)',
  time: 'recorded time (UTC)',
  zoomHint: 'Drag across a chart to zoom in, double-click to zoom out; hover for values.',
});

/**
 * Browser script: `sgChart(el, cfg)` draws one chart into `el` and returns the uPlot instance.
 * cfg: { unit, height, data: [xs (epoch s), ...ys], series: [{label, stroke, width, dash, show}],
 * bands: [{series: [hi, lo], fill}], group, plugins }. Charts in the same group zoom together.
 */
export const CHART_SCRIPT = String.raw`
function sgNum(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  return a >= 1000 ? Math.round(v).toLocaleString('en-US') : a >= 10 ? v.toFixed(1) : v.toFixed(a >= 1 || a === 0 ? 2 : 3);
}
function sgTime(ts) { return new Date(ts * 1000).toISOString().slice(5, 16).replace('T', ' '); }
const sgGroups = {};
function sgChart(el, cfg) {
  const group = sgGroups[cfg.group || 'main'] = sgGroups[cfg.group || 'main'] || [];
  let syncing = false;
  const width = () => Math.max(280, Math.floor(el.clientWidth));
  const opts = {
    width: width(), height: cfg.height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    cursor: { sync: { key: cfg.group || 'main' }, drag: { x: true, y: false } },
    legend: { live: true },
    scales: { x: { time: true } },
    axes: [
      { label: '${WORDS.time}', space: 110, values: (u, splits) => { const v = splits.map(sgTime); el.dataset.xTicks = v.join('|'); return v; } },
      { label: cfg.unit, size: 70, values: (u, splits) => { const v = splits.map(sgNum); el.dataset.yTicks = v.join('|'); return v; } },
    ],
    series: [{ label: 'time (UTC)', value: (u, ts) => ts === null || ts === undefined ? '–' : new Date(ts * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' }].concat(cfg.series.map((s) => ({
      label: s.label, stroke: s.stroke, width: s.width || 1.5, dash: s.dash, show: s.show !== false, spanGaps: false,
      points: { show: false }, value: (u, v) => sgNum(v) + ' ' + cfg.unit,
    }))),
    bands: cfg.bands || [],
    plugins: cfg.plugins || [],
    hooks: { setScale: [(u, key) => {
      if (key !== 'x' || syncing) return;
      syncing = true;
      for (const o of group) if (o !== u && (o.scales.x.min !== u.scales.x.min || o.scales.x.max !== u.scales.x.max)) o.setScale('x', { min: u.scales.x.min, max: u.scales.x.max });
      syncing = false;
    }] },
  };
  el.dataset.unit = cfg.unit;
  const u = new uPlot(opts, cfg.data, el);
  group.push(u);
  new ResizeObserver(() => { if (u.width !== width()) u.setSize({ width: width(), height: cfg.height }); }).observe(el);
  return u;
}
// New data without losing the reader's zoom: a chart showing everything keeps following the data.
function sgUpdate(u, data) {
  const xs = u.data[0];
  const zoomed = xs && xs.length > 1 && (u.scales.x.min > xs[0] || u.scales.x.max < xs[xs.length - 1]);
  const keep = zoomed ? { min: u.scales.x.min, max: u.scales.x.max } : null;
  u.setData(data);
  if (keep) u.setScale('x', keep);
}
`;
