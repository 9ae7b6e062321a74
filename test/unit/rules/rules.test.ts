// Conventions of the shipped rules and dashboards that promtool does not check: every alert is
// labelled, annotated and has a runbook; the promtool tests cover every alert on both sides of
// its `for` and every recording rule; every metric named exists in SurgeGuard's sources.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../helpers/infra/process.ts';
import { allRules, durationSeconds, metricNames, panelQueries, RUNBOOK_BASE, ruleTestFiles, sourceMetricNames, variableSelectors } from '../../helpers/rules.ts';

/** Series that Prometheus itself makes: scrape health and the alert state. */
const STANDARD_METRICS = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);
/** dcgm-exporter's names, as its exposition in test/fixtures/dcgm (NOTICE there) declares them. */
const DCGM_METRICS = new Set([...readFileSync(join(REPO_ROOT, 'test/fixtures/dcgm/dcgm-exporter.prom'), 'utf8').matchAll(/^# TYPE (DCGM_\w+) /gm)].map((m) => m[1] ?? ''));

interface AlertCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[] | null;
}
interface PromtoolTest {
  interval?: string;
  alert_rule_test?: AlertCase[];
  promql_expr_test?: Array<{ expr: string; exp_samples?: unknown[] | null }>;
}

function promtoolTests(): Array<{ file: string; evaluationInterval: string; tests: PromtoolTest[] }> {
  return ruleTestFiles().map((file) => {
    const doc = parse(readFileSync(file, 'utf8')) as { evaluation_interval?: string; tests: PromtoolTest[] };
    return { file: basename(file), evaluationInterval: doc.evaluation_interval ?? '1m', tests: doc.tests };
  });
}

const alerts = allRules().filter((r) => r.alert !== undefined);
const records = allRules().filter((r) => r.record !== undefined);

test('alert and record names are unique', () => {
  const names = allRules().map((r) => r.alert ?? r.record);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
  assert.ok(alerts.length >= 14, `expected at least 14 alerts, found ${alerts.length}`);
});

test('every alert has severity, summary, a description with $labels and a runbook that exists', () => {
  for (const a of alerts) {
    const name = a.alert ?? '';
    assert.match(name, /^SurgeGuard[A-Z][A-Za-z]+$/, `${name}: alert names are PascalCase with the SurgeGuard prefix`);
    const severities = name === 'SurgeGuardWatchdog' ? ['none'] : ['critical', 'warning'];
    assert.ok(severities.includes(a.labels?.severity ?? ''), `${name}: severity ${a.labels?.severity} is not one of ${severities.join(', ')}`);
    assert.ok((a.annotations?.summary ?? '').length > 0, `${name}: no summary`);
    assert.match(a.annotations?.description ?? '', /\$labels/, `${name}: the description does not use $labels`);
    assert.equal(a.annotations?.runbook_url, `${RUNBOOK_BASE}${name}.md`, `${name}: runbook_url`);
    const runbook = join(REPO_ROOT, 'docs/runbooks', `${name}.md`);
    assert.ok(existsSync(runbook), `${name}: ${runbook} is missing`);
    const text = readFileSync(runbook, 'utf8');
    assert.match(text, new RegExp(`^# ${name}\\n`), `${name}: the runbook's title is not the alert name`);
    assert.match(text, /^## Check/m, `${name}: the runbook has no "## Check" section`);
    assert.match(text, /^## Do/m, `${name}: the runbook has no "## Do" section`);
  }
});

test('GPU hardware alerts keep the node label so a webhook maps to a node', () => {
  for (const a of alerts.filter((r) => /^SurgeGuardGpu/.test(r.alert ?? ''))) {
    assert.match(a.expr, /by \(node\b/, `${a.alert}: the expression must aggregate by node`);
    assert.match(a.annotations?.description ?? '', /\$labels\.node/, `${a.alert}: the description must name the node`);
  }
});

test('the promtool tests check every alert just before and just after its for, and firing', () => {
  const cases = promtoolTests().flatMap((f) => f.tests.map((t) => ({ ...t, file: f.file, step: durationSeconds(t.interval ?? f.evaluationInterval) })));
  for (const a of alerts) {
    const name = a.alert ?? '';
    const mine = cases.map((t) => ({ ...t, checks: (t.alert_rule_test ?? []).filter((c) => c.alertname === name) })).filter((t) => t.checks.length > 0);
    const firing = mine.flatMap((t) => t.checks.filter((c) => (c.exp_alerts ?? []).length > 0));
    assert.ok(firing.length > 0, `${name}: no promtool test expects it to fire`);
    if (!a.for || durationSeconds(a.for) === 0) continue;
    // Both sides: a case expecting nothing one evaluation before a case expecting it to fire.
    const bothSides = mine.some((t) => {
      const fire = t.checks.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => durationSeconds(c.eval_time));
      const quiet = t.checks.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => durationSeconds(c.eval_time));
      return fire.some((f) => quiet.includes(f - t.step));
    });
    assert.ok(bothSides, `${name}: no promtool test has "not firing" one evaluation before "firing" (for: ${a.for})`);
  }
});

test('the promtool tests check every recording rule at least once', () => {
  const exprs = promtoolTests().flatMap((f) => f.tests.flatMap((t) => (t.promql_expr_test ?? []).filter((c) => (c.exp_samples ?? []).length > 0).map((c) => c.expr)));
  for (const r of records) {
    assert.ok(exprs.some((e) => metricNames(e).includes(r.record ?? '')), `${r.record}: no promql_expr_test with samples reads it`);
  }
});

test('every metric the rules and dashboards name is defined by SurgeGuard, a recording rule, dcgm-exporter (its fixture) or Prometheus', () => {
  const defined = sourceMetricNames();
  const recorded = new Set(records.map((r) => r.record ?? ''));
  const exprs = [...allRules().map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr })), ...panelQueries().map((q) => ({ where: `${q.dashboard} / ${q.panel}`, expr: q.expr })), ...variableSelectors().map((s) => ({ where: 'a dashboard variable', expr: s }))];
  const missing: string[] = [];
  for (const { where, expr } of exprs) {
    for (const name of metricNames(expr)) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const ok = name.includes(':') ? recorded.has(name) : name.startsWith('surgeguard_') ? defined.has(name) || defined.has(base) : name.startsWith('DCGM_') ? DCGM_METRICS.has(name) : STANDARD_METRICS.has(name);
      if (!ok) missing.push(`${name} (${where})`);
    }
  }
  assert.deepEqual([...new Set(missing)], [], 'metrics named in rules/ or dashboards/ that nothing defines');
  assert.ok(DCGM_METRICS.has('DCGM_FI_DEV_XID_ERRORS') && DCGM_METRICS.size >= 10, `the DCGM fixture declares ${DCGM_METRICS.size} metrics`);
});

test('the metric-name lexer finds metrics and skips functions, keywords, labels and strings', () => {
  assert.deepEqual(metricNames('sum by (node, gpu) (rate(surgeguard_a_total{job="up", x=~"$node"}[$__rate_interval])) / on (node) group_left (gpu) b:c:d offset 2m > 0 and up'), ['surgeguard_a_total', 'b:c:d', 'up']);
  assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le) (rate(surgeguard_x_seconds_bucket[5m]))) or vector(0)'), ['surgeguard_x_seconds_bucket']);
  assert.deepEqual(metricNames('a_total # a comment naming no_metric\nunless b{x="#c"}'), ['a_total', 'b']);
});
