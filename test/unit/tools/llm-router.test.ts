// The router's choice (test/helpers/infra/llm-router.ts): only the first R servers, the least busy of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickBackend } from '../../helpers/infra/llm-router.ts';

test('pickBackend sends to the active server with the fewest outstanding requests, never past the active count', () => {
  const rows: Array<{ outstanding: number[]; active: number; want: number; why: string }> = [
    { outstanding: [5, 0, 0], active: 1, want: 0, why: 'one active: the first, however busy' },
    { outstanding: [5, 0, 0], active: 2, want: 1, why: 'two active: the idle second' },
    { outstanding: [5, 3, 0], active: 2, want: 1, why: 'the third is idle but not active' },
    { outstanding: [2, 2, 2], active: 3, want: 0, why: 'a tie goes to the first' },
    { outstanding: [4, 9, 1], active: 3, want: 2, why: 'all active: the least busy' },
    { outstanding: [3, 1], active: 7, want: 1, why: 'more active than servers: clamped to the pool' },
    { outstanding: [3, 1], active: 0, want: 0, why: 'zero active: still the first (a Service with no ready endpoint would refuse; the harness keeps one)' },
  ];
  for (const r of rows) assert.equal(pickBackend(r.outstanding, r.active), r.want, r.why);
});
