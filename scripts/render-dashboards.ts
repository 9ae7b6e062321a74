// Writes dashboards/*.json from the TypeScript sources in dashboards/src/ (typed with
// @grafana/schema, so `tsc` checks them). test/unit/rules/dashboards.test.ts fails when a
// committed file differs from what this writes.
//   node scripts/render-dashboards.ts          write the files
//   node scripts/render-dashboards.ts --check  exit 1 and name the files that differ
import { readFileSync, writeFileSync } from 'node:fs';
import { DASHBOARDS, renderDashboard } from '../dashboards/src/index.ts';

/** Each dashboard file (relative to the repository root) and the text it must hold. */
export function renderedDashboards(): Map<string, string> {
  return new Map(DASHBOARDS.map((d) => [`dashboards/${d.file}`, renderDashboard(d.build())]));
}

function committed(path: string): string | undefined {
  try {
    return readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
  } catch {
    // A missing file is simply different.
    return undefined;
  }
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const [path, text] of renderedDashboards()) {
    if (committed(path) === text) continue;
    stale.push(path);
    if (!check) writeFileSync(new URL(`../${path}`, import.meta.url), text);
  }
  if (check && stale.length > 0) {
    process.stderr.write(`dashboards differ from dashboards/src (run node scripts/render-dashboards.ts): ${stale.join(', ')}\n`);
    process.exit(1);
  }
}
