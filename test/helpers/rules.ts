// Reads the shipped Prometheus rules (rules/*.yaml), their promtool tests (rules/tests/) and
// the rendered dashboards (dashboards/*.json) for the unit and integration tests of both.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './infra/process.ts';

export const RULES_DIR = join(REPO_ROOT, 'rules');
export const RULE_TESTS_DIR = join(RULES_DIR, 'tests');
export const DASHBOARDS_DIR = join(REPO_ROOT, 'dashboards');
export const RUNBOOK_BASE = 'https://github.com/surgeguard/surgeguard/blob/main/docs/runbooks/';

export interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly Rule[];
}

/** The rule files: every top-level rules/*.yaml (the promtool tests live in rules/tests/). */
export function ruleFiles(): string[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(RULES_DIR, f));
}

/** The promtool test files, rules/tests/*.yaml. */
export function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(RULE_TESTS_DIR, f));
}

/** Every group of every rule file, with the file it came from. */
export function ruleGroups(): Array<RuleGroup & { file: string }> {
  return ruleFiles().flatMap((file) => (parse(readFileSync(file, 'utf8')) as { groups: RuleGroup[] }).groups.map((g) => ({ ...g, file })));
}

export function allRules(): Rule[] {
  return ruleGroups().flatMap((g) => g.rules);
}

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly required: boolean;
  readonly expr: string;
}

interface DashboardJson {
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; type: string; query?: unknown }> };
  panels: Array<{ id: number; title: string; description?: string; datasource?: { uid?: string }; targets?: Array<{ expr?: string; datasource?: { uid?: string } }>; gridPos: { x: number; y: number; w: number; h: number } }>;
}

/** The committed dashboards, dashboards/*.json, by file name. */
export function dashboards(): Map<string, DashboardJson> {
  const files = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort();
  return new Map(files.map((f) => [f, JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) as DashboardJson]));
}

/** Every PromQL expression of every dashboard panel. */
export function panelQueries(): PanelQuery[] {
  return [...dashboards().values()].flatMap((d) =>
    d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: d.title, panel: p.title, required: (p.description ?? '').startsWith('[required]'), expr: t.expr ?? '' }))),
  );
}

/** The series selector inside each `label_values(<selector>, <label>)` variable query. */
export function variableSelectors(): string[] {
  return [...dashboards().values()].flatMap((d) =>
    d.templating.list.flatMap((v) => {
      const m = typeof v.query === 'string' ? /^label_values\((.*),\s*\w+\)$/.exec(v.query) : null;
      return m?.[1] ? [m[1]] : [];
    }),
  );
}

/**
 * Replaces Grafana's built-in and template variables so that Prometheus can run the query: a
 * template variable becomes `.*` (the dashboards' "All" value, always inside a `=~` matcher).
 */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '1h')
    .replace(/\$\{(\w+)\}|\$(\w+)/g, '.*');
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan', 'sum', 'min', 'max', 'avg', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values']);

/**
 * The metric names a PromQL expression reads. A small lexer, enough for the shipped rules:
 * strings, label matchers, ranges and grouping label lists are blanked first, then every
 * identifier that is not a function call or a keyword is a metric name.
 */
export function metricNames(expr: string): string[] {
  const blanked = substituteGrafanaVariables(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/#[^\n]*/g, '') // PromQL comments (strings are blanked first, so a # in one stays)
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1 ()');
  const names = new Set<string>();
  for (const m of blanked.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*|\d[\w.]*/g)) {
    const word = m[0];
    if (/^\d/.test(word) || KEYWORDS.has(word)) continue;
    if (/^\s*\(/.test(blanked.slice(m.index + word.length))) continue;
    names.add(word);
  }
  return [...names];
}

/** Metric names that SurgeGuard's sources define as string literals in agent/, controller/, inference/, common/. */
export function sourceMetricNames(): Set<string> {
  const out = new Set<string>();
  for (const dir of ['agent', 'controller', 'inference', 'common']) {
    for (const f of readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!f.endsWith('.ts')) continue;
      const text = readFileSync(join(REPO_ROOT, dir, f), 'utf8');
      for (const m of text.matchAll(/['"`](surgeguard_[a-z0-9_]+)['"`]/g)) if (m[1]) out.add(m[1]);
    }
  }
  return out;
}

/** Parses a Prometheus duration such as `15m` or `1h30m` into seconds. */
export function durationSeconds(d: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * (units[m[2] ?? ''] ?? Number.NaN);
  return total;
}
