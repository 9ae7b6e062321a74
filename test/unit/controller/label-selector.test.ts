import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLabelSelector } from '../../../controller/kube/label-selector.ts';

test('label selectors in the API server\'s string form match as the server matches them', () => {
  const rows: Array<[selector: string, labels: Record<string, string> | undefined, matches: boolean]> = [
    ['', { any: 'x' }, true],
    ['', undefined, true],
    ['app=x', { app: 'x', other: 'y' }, true],
    ['app==x', { app: 'x' }, true],
    ['app=x', { app: 'xy' }, false],
    ['app=x', undefined, false],
    ['app!=x', { app: 'y' }, true],
    ['app!=x', {}, true],
    ['app!=x', { app: 'x' }, false],
    ['app=x,tier=gpu', { app: 'x', tier: 'gpu' }, true],
    ['app=x,tier=gpu', { app: 'x', tier: 'cpu' }, false],
    ['zone in (a,b)', { zone: 'b' }, true],
    ['zone in (a, b)', { zone: 'b' }, true],
    ['zone in (a,b)', { zone: 'c' }, false],
    ['zone in (a,b)', {}, false],
    ['env notin (dev)', {}, true],
    ['env notin (dev)', { env: 'dev' }, false],
    ['gpu', { gpu: '' }, true],
    ['gpu', {}, false],
    ['!canary', {}, true],
    ['!canary', { canary: 'true' }, false],
    ['app=x,!canary,env notin (dev),gpu,zone in (a,b)', { app: 'x', gpu: '1', zone: 'a', env: 'prod' }, true],
    ['app.kubernetes.io/name=infer', { 'app.kubernetes.io/name': 'infer' }, true],
  ];
  for (const [selector, labels, want] of rows) assert.equal(parseLabelSelector(selector)(labels), want, `${JSON.stringify(selector)} on ${JSON.stringify(labels)}`);
});

test('a selector it cannot read is refused with a coded error naming the requirement', () => {
  for (const bad of ['app in x', 'a b', 'zone in (a', '=x']) {
    assert.throws(() => parseLabelSelector(bad), (err: { code?: string; message: string }) => err.code === 'SG_INPUT_INVALID' && err.message.includes('cannot read the requirement'), bad);
  }
});
