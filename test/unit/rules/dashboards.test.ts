// The committed dashboards are exactly what dashboards/src renders (the sources are typed with
// @grafana/schema, so `tsc` checks them), and they keep the conventions Grafana users rely on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DASHBOARDS } from '../../../dashboards/src/index.ts';
import { REPO_ROOT } from '../../helpers/infra/process.ts';
import { dashboards } from '../../helpers/rules.ts';
import { renderedDashboards } from '../../../scripts/render-dashboards.ts';

test('every committed dashboard equals its rendered source (run node scripts/render-dashboards.ts)', () => {
  const rendered = renderedDashboards();
  for (const [path, text] of rendered) assert.equal(readFileSync(join(REPO_ROOT, path), 'utf8'), text, `${path} differs from dashboards/src`);
  assert.deepEqual([...dashboards().keys()].map((f) => `dashboards/${f}`), [...rendered.keys()].sort(), 'a dashboards/*.json file that no source renders');
});

test('dashboards have stable unique uids and titles, and the four areas', () => {
  const all = [...dashboards().values()];
  const uids = all.map((d) => d.uid);
  assert.deepEqual(uids, ['surgeguard-fleet-overview', 'surgeguard-gpu-nodes', 'surgeguard-kafka', 'surgeguard-self']);
  assert.equal(new Set(all.map((d) => d.title)).size, all.length);
  assert.equal(DASHBOARDS.length, all.length);
});

test('every dashboard starts with a prometheus datasource variable that every panel and query uses', () => {
  for (const d of dashboards().values()) {
    const first = d.templating.list[0];
    assert.equal(first?.name, 'datasource', `${d.title}: the first variable`);
    assert.equal(first?.type, 'datasource');
    assert.equal(first?.query, 'prometheus');
    for (const p of d.panels) {
      assert.equal(p.datasource?.uid, '${datasource}', `${d.title} / ${p.title}: panel datasource`);
      for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', `${d.title} / ${p.title}: query datasource`);
      assert.ok((p.targets ?? []).length > 0 && (p.targets ?? []).every((t) => (t.expr ?? '').length > 0), `${d.title} / ${p.title}: a panel without a query`);
    }
  }
});

test('every dashboard marks required panels, every panel is described, and panels fit the grid without overlap', () => {
  for (const d of dashboards().values()) {
    assert.ok(d.panels.some((p) => p.description?.startsWith('[required] ')), `${d.title}: no [required] panel`);
    assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, `${d.title}: panel ids repeat`);
    const cells = new Set<string>();
    for (const p of d.panels) {
      assert.ok((p.description ?? '').replace('[required] ', '').length > 10, `${d.title} / ${p.title}: no description`);
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.x + g.w <= 24, `${d.title} / ${p.title}: outside the 24 columns`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${d.title} / ${p.title}: overlaps another panel`);
          cells.add(`${x},${y}`);
        }
      }
    }
  }
});
