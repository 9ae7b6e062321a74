import { METRIC_PREFIX } from '../common/metrics.ts';
import type { MetricFamily, Sample } from './collector.ts';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Fails at start-up on a family the project's naming rules refuse (docs: architecture, "Names"). */
export function checkFamily(f: MetricFamily): void {
  if (!f.name.startsWith(METRIC_PREFIX) || !NAME.test(f.name)) throw new Error(`metric name ${JSON.stringify(f.name)} must be a valid name starting with ${METRIC_PREFIX}`);
  if (f.type === 'counter' && !f.name.endsWith('_total')) throw new Error(`counter ${f.name} must end in _total`);
  for (const l of [...f.labelNames, ...(f.optionalLabels ?? [])]) if (!LABEL.test(l) || l.startsWith('__')) throw new Error(`label ${JSON.stringify(l)} of ${f.name} is not a valid label name`);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string, openMetrics: boolean): string {
  const s = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return openMetrics ? s.replace(/"/g, '\\"') : s;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** `a="x",b="y"`: every label the family declares, then each optional one the sample has a value for. */
function labelText(f: MetricFamily, s: Sample): string {
  let text = f.labelNames.map((l) => `${l}="${escapeLabel(s.labels[l] ?? '')}"`).join(',');
  for (const l of f.optionalLabels ?? []) {
    const v = s.labels[l];
    if (v) text += `${text ? ',' : ''}${l}="${escapeLabel(v)}"`;
  }
  return text;
}

/**
 * Serializes one collector's samples in the Prometheus text format (or OpenMetrics, without
 * the closing `# EOF`). The runner keeps the result until the collector's next cycle, so a
 * scrape costs a string concatenation, not a walk over thousands of label sets.
 */
export function renderFamilies(families: readonly MetricFamily[], samples: readonly Sample[], openMetrics: boolean): string {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = byName.get(s.name);
    if (list) list.push(s);
    else byName.set(s.name, [s]);
  }
  const out: string[] = [];
  for (const f of families) {
    const list = byName.get(f.name);
    if (!list || list.length === 0) continue;
    // OpenMetrics names a counter family without its _total suffix; its samples keep it.
    const family = openMetrics && f.type === 'counter' ? f.name.slice(0, -'_total'.length) : f.name;
    out.push(`# HELP ${family} ${escapeHelp(f.help, openMetrics)}`, `# TYPE ${family} ${f.type}`);
    for (const s of list) {
      const labels = labelText(f, s);
      out.push(`${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
