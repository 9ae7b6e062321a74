// Builders for SurgeGuard's Grafana dashboards. The output is typed with @grafana/schema, so
// `tsc` checks every dashboard against Grafana's own schema types.
import type { Dashboard, DataSourceRef, Panel, VariableModel } from '@grafana/schema';

/** Panel descriptions starting with this mark the panels a dashboard must show data in. */
export const REQUIRED_MARK = '[required]';

/** Every query goes through the dashboard's `datasource` variable. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export interface Query {
  readonly expr: string;
  readonly legend?: string;
}

export interface PanelSpec {
  readonly title: string;
  readonly type: 'timeseries' | 'stat' | 'table';
  /** What the panel shows and how to read it; prefixed with REQUIRED_MARK when `required`. */
  readonly description: string;
  readonly queries: readonly Query[];
  readonly required?: boolean;
  /** A Grafana unit id: `reqps`, `percentunit`, `s`, `bytes`, `celsius`, `watt`, `short`, ... */
  readonly unit?: string;
  /** Width in grid columns (of 24); 12 unless set. */
  readonly width?: number;
  readonly height?: number;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Query variables after `datasource`, in order. */
  readonly variables: readonly VariableModel[];
  readonly panels: readonly PanelSpec[];
}

/** The `datasource` variable every dashboard starts with: any Prometheus data source. */
export function datasourceVariable(): VariableModel {
  return { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: { text: 'default', value: 'default' }, hide: 0, refresh: 1, regex: '', options: [] };
}

/** A multi-value variable filled by `label_values(<series>, <label>)`; "All" matches any value. */
export function labelVariable(name: string, label: string, series: string): VariableModel {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    query: `label_values(${series}, ${name})`,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
    hide: 0,
    refresh: 2,
    sort: 1,
    regex: '',
    options: [],
  };
}

function target(q: Query, i: number, type: PanelSpec['type']): Record<string, unknown> {
  const refId = String.fromCharCode(65 + i);
  const instant = type === 'table';
  return { refId, datasource: DATASOURCE, expr: q.expr, legendFormat: q.legend ?? '__auto', range: !instant, instant, ...(instant ? { format: 'table' } : {}) };
}

function options(type: PanelSpec['type']): Record<string, unknown> {
  if (type === 'timeseries') return { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } };
  if (type === 'stat') return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto' };
  return { showHeader: true, cellHeight: 'sm' };
}

/** Turns panel specs into Grafana panels laid out left to right, 24 columns a row. */
export function layout(specs: readonly PanelSpec[]): Panel[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return specs.map((s, i) => {
    const w = s.width ?? 12;
    const h = s.height ?? 8;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const p: Panel = {
      id: i + 1,
      type: s.type,
      title: s.title,
      description: s.required ? `${REQUIRED_MARK} ${s.description}` : s.description,
      datasource: DATASOURCE,
      gridPos: { x, y, w, h },
      targets: s.queries.map((q, j) => target(q, j, s.type)),
      fieldConfig: { defaults: { unit: s.unit ?? 'short' }, overrides: [] },
      options: options(s.type),
    };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return p;
  });
}

/** A whole dashboard: stable uid, the `datasource` variable first, tagged `surgeguard`. */
export function dashboard(spec: DashboardSpec): Dashboard {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['surgeguard'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    templating: { list: [datasourceVariable(), ...spec.variables] },
    annotations: { list: [] },
    links: [{ title: 'SurgeGuard', type: 'dashboards', tags: ['surgeguard'], asDropdown: true, icon: 'external link', includeVars: false, keepTime: true, targetBlank: false, tooltip: '', url: '' }],
    panels: layout(spec.panels),
  };
}

/** True for panels whose description starts with REQUIRED_MARK. */
export function isRequired(p: Panel): boolean {
  return (p.description ?? '').startsWith(REQUIRED_MARK);
}
