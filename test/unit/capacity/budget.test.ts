// The GPU budget as a value: floors first, then priority classes, then weight, in whole replicas.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitBudget, type BudgetClaim } from '../../../controller/capacity/budget.ts';

const claim = (key: string, x: Partial<BudgetClaim>): BudgetClaim => ({ key, gpusPerReplica: 1, priority: 0, weight: 1, current: 0, minReplicas: 0, want: 0, ...x });
const by = (g: ReturnType<typeof splitBudget>): Record<string, number> => Object.fromEntries(g.map((x) => [x.key, x.replicas]));

test('with GPUs enough for every ask, nothing is cut', () => {
  const g = splitBudget([claim('a', { current: 2, want: 6 }), claim('b', { current: 1, want: 3, gpusPerReplica: 2 })], 100);
  assert.deepEqual(by(g), { a: 6, b: 3 });
  assert.ok(g.every((x) => x.cut === 0));
});

test('a higher priority gets all its growth before a lower one gets any', () => {
  const g = splitBudget([claim('batch', { priority: 0, current: 2, want: 10 }), claim('ranking', { priority: 10, current: 2, want: 10 })], 16);
  assert.deepEqual(by(g), { batch: 6, ranking: 10 });
  assert.equal(g.find((x) => x.key === 'batch')?.cut, 4);
});

test('within a class the growth is split by weight, and what one cannot use goes to the others', () => {
  // 12 GPUs, floors 0: weight 3:1 gives 9 and 3.
  assert.deepEqual(by(splitBudget([claim('a', { weight: 3, want: 20 }), claim('b', { weight: 1, want: 20 })], 12)), { a: 9, b: 3 });
  // a wants only 4 of its 9: b takes the rest.
  assert.deepEqual(by(splitBudget([claim('a', { weight: 3, want: 4 }), claim('b', { weight: 1, want: 20 })], 12)), { a: 4, b: 8 });
});

test('running pods are never cut: a short budget keeps current and minReplicas', () => {
  const g = splitBudget([claim('a', { current: 5, minReplicas: 2, want: 9 }), claim('b', { current: 0, minReplicas: 3, want: 4 })], 6);
  assert.deepEqual(by(g), { a: 5, b: 3 }, 'the floors exceed the budget: no growth, no cut below them');
  // A scale-down is not raised to its current: the floor is min(want, max(current, min)).
  assert.deepEqual(by(splitBudget([claim('a', { current: 8, minReplicas: 1, want: 3 })], 2)), { a: 3 });
});

test('whole replicas: GPUs per replica round the shares down, and the rest goes one replica at a time', () => {
  // 7 GPUs, 2 per replica, equal weights: 3.5 GPUs each is 1 replica each, then 3 left: one more to the first by key.
  const g = splitBudget([claim('a', { gpusPerReplica: 2, want: 10 }), claim('b', { gpusPerReplica: 2, want: 10 })], 7);
  assert.deepEqual(by(g), { a: 2, b: 1 });
  const used = g.reduce((s, x) => s + x.replicas * 2, 0);
  assert.ok(used <= 7, `granted ${used} GPUs of 7`);
});

test('the grant never exceeds the budget once floors fit, over many random cases', () => {
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let i = 0; i < 500; i++) {
    const claims = Array.from({ length: 1 + rnd(5) }, (_, k) => claim(`c${k}`, { gpusPerReplica: 1 + rnd(4), priority: rnd(3), weight: 1 + rnd(5), current: rnd(4), minReplicas: rnd(2), want: rnd(20) }));
    const available = rnd(80);
    const g = splitBudget(claims, available);
    const floors = claims.reduce((s, c) => s + Math.min(c.want, Math.max(c.current, c.minReplicas)) * c.gpusPerReplica, 0);
    const used = g.reduce((s, x, k) => s + x.replicas * (claims[k] as BudgetClaim).gpusPerReplica, 0);
    assert.ok(used <= Math.max(available, floors), `case ${i}: ${used} > ${available}`);
    g.forEach((x, k) => {
      const c = claims[k] as BudgetClaim;
      assert.ok(x.replicas <= c.want, `case ${i}: more than asked`);
      assert.ok(x.replicas >= Math.min(c.want, Math.max(c.current, c.minReplicas)), `case ${i}: below the floor`);
    });
    // Nothing is left that a claim could still use: no claim short of its want fits a replica in what is left.
    if (used >= floors) for (const [k, x] of g.entries()) if (x.cut > 0) assert.ok(available - used < (claims[k] as BudgetClaim).gpusPerReplica, `case ${i}: ${available - used} GPUs left while ${x.key} is cut`);
  }
});
