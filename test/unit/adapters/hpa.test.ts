// The value served to an HPA and the HPA's own rule for it (pure).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TOLERANCE, hpaRecommendation, parseQuantity, servedValue, toleranceOf, toQuantity } from '../../../controller/adapters/hpa.ts';

test('outside the tolerance band the HPA lands exactly on what SurgeGuard decided', () => {
  for (const [desired, current] of [[20, 10], [4, 10], [2, 1], [1, 3], [100, 50]] as const) {
    const v = servedValue(desired, current, DEFAULT_TOLERANCE);
    assert.equal(v, desired);
    assert.equal(hpaRecommendation(v, current, DEFAULT_TOLERANCE), desired);
  }
});

test('inside the band: a step up is served as the smallest count the HPA will act on, a step down as no change', () => {
  // 10 -> 11 is a ratio of 1.1: the HPA keeps 10. 12 is the first count past the band.
  assert.equal(hpaRecommendation(11, 10, DEFAULT_TOLERANCE), 10);
  assert.equal(servedValue(11, 10, DEFAULT_TOLERANCE), 12);
  assert.equal(hpaRecommendation(12, 10, DEFAULT_TOLERANCE), 12);
  assert.equal(servedValue(9, 10, DEFAULT_TOLERANCE), 10);
  assert.equal(hpaRecommendation(servedValue(9, 10, DEFAULT_TOLERANCE), 10, DEFAULT_TOLERANCE), 10);
});

test('on random counts and tolerances the HPA never ends below what was asked for a step up, nor moves the wrong way', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 5000; i++) {
    const current = 1 + Math.floor(rnd() * 200);
    const desired = 1 + Math.floor(rnd() * 300);
    const tol = { up: Math.round(rnd() * 30) / 100, down: Math.round(rnd() * 30) / 100 };
    const v = servedValue(desired, current, tol);
    const got = hpaRecommendation(v, current, tol);
    assert.ok(v >= 1, 'never zero');
    if (desired > current) {
      assert.ok(got >= desired, `up ${current} -> ${desired} (tol ${tol.up}): HPA went to ${got}`);
      // The overshoot is at most the band: the smallest count the HPA acts on.
      assert.ok(got === desired || got <= Math.ceil(current * (1 + tol.up)) + 1, `overshoot ${current} -> ${got} for ${desired}`);
    } else if (desired < current) {
      assert.ok(got === desired || got === current, `down ${current} -> ${desired}: HPA went to ${got}`);
    } else assert.equal(got, current);
  }
});

test('the tolerance comes from the HPA behaviour when set, the controller-manager default otherwise', () => {
  assert.deepEqual(toleranceOf(undefined), DEFAULT_TOLERANCE);
  assert.deepEqual(toleranceOf({ scaleUp: { tolerance: '0' }, scaleDown: { tolerance: '50m' } }), { up: 0, down: 0.05 });
  assert.deepEqual(toleranceOf({ scaleUp: { tolerance: 'lots' } }), DEFAULT_TOLERANCE);
  assert.equal(parseQuantity('1500m'), 1.5);
  assert.equal(parseQuantity('2k'), 2000);
  assert.equal(parseQuantity('x'), undefined);
  assert.equal(toQuantity(12), '12000m');
  assert.equal(toleranceOf({ scaleUp: { tolerance: '0' } }).up, 0);
  // With tolerance 0 every step is served as it is.
  assert.equal(servedValue(11, 10, { up: 0, down: 0 }), 11);
});
