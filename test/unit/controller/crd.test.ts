import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderCrd } from '../../../scripts/render-crd.ts';
import { resolveSpec } from '../../../controller/crd/predictive-scaler.ts';

test('deploy/controller/crd.yaml is what scripts/render-crd.ts renders from the schema', () => {
  const committed = readFileSync(new URL('../../../deploy/controller/crd.yaml', import.meta.url), 'utf8');
  assert.equal(committed, renderCrd(), 'run: node scripts/render-crd.ts');
});

test('resolveSpec applies the schema defaults the API server applies', () => {
  const s = resolveSpec({ targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' }, signal: { prometheus: { query: 'up' } }, requestsPerSecondPerReplica: 3, maxReplicas: 9 });
  assert.deepEqual([s.minReplicas, s.startupSeconds, s.headroom, s.quantile, s.mode], [1, 120, 0.1, 'p90', 'Active']);
});
