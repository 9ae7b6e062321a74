import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemberView, memberLeaseName } from '../../../../controller/sharding/member-view.ts';

test('a member is alive while its Lease changes within its duration, on this clock', () => {
  const clock = { t: 1_000_000 };
  const view = createMemberView(() => clock.t, 15);
  const lease = (name: string, holder: string, renew: string, d = 10) => ({ name, holderIdentity: holder, renewTime: renew, leaseDurationSeconds: d });
  // Seen for the first time counts as just changed: a stale Lease from a dead pod is waited out once.
  assert.deepEqual(view.update([lease('m-b', 'b', 't1'), lease('m-a', 'a', 't1')]), ['a', 'b']);
  clock.t += 9_000;
  assert.deepEqual(view.update([lease('m-b', 'b', 't1'), lease('m-a', 'a', 't2')]), ['a', 'b']);
  clock.t += 2_000;
  // b has not renewed for 11 s of a 10 s duration; a renewed 2 s ago.
  assert.deepEqual(view.update([lease('m-b', 'b', 't1'), lease('m-a', 'a', 't2')]), ['a']);
  // A released Lease (empty holder) is a member gone at once, and a deleted one too.
  assert.deepEqual(view.update([lease('m-b', 'b', 't1'), { name: 'm-a', holderIdentity: '', renewTime: 't3' }]), []);
  assert.deepEqual(view.update([{ name: 'm-d', holderIdentity: 'd', renewTime: 'x' }]), ['d'], 'no duration: the default applies');
});

test('member Lease names are DNS names whatever the identity', () => {
  assert.equal(memberLeaseName('surgeguard-member-', 'replica-a'), 'surgeguard-member-replica-a');
  assert.equal(memberLeaseName('surgeguard-member-', 'Host_1:42_'), 'surgeguard-member-host-1-42');
  assert.equal(memberLeaseName('m-', '___'), 'm-x');
  assert.equal(memberLeaseName('m-', 'x'.repeat(400)).length, 253);
});
