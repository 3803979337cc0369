// Proves static membership (group.instance.id): a restarted static member takes over its old
// member id's place and assignment without a rebalance when its protocols are unchanged (once the
// new id is durable), the old id is fenced with FENCED_INSTANCE_ID, a static leader is told to
// skip assignment (JoinGroup v9), and a protocol change or a rejoin during CompletingRebalance
// does rebalance. Static members also survive a rebalance they miss until the sync deadline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/coordinator/error-codes.ts';
import { Harness, consumerProtocols, settled } from './group-harness.ts';

function formStaticGroup(harness: Harness): { leaderId: string; followerId: string } {
  const leaderJoin = harness.join('g', { groupInstanceId: 'i1' });
  const followerJoin = harness.join('g', { groupInstanceId: 'i2' });
  assert.equal(leaderJoin.settled, false, 'static members are never asked for MEMBER_ID_REQUIRED');
  harness.settleJoinPhase('g');
  const leaderId = settled(leaderJoin).memberId;
  const followerId = settled(followerJoin).memberId;
  assert.match(leaderId, /^i1-uuid/);
  const assignments = [
    { memberId: leaderId, assignment: Buffer.from('leader-part') },
    { memberId: followerId, assignment: Buffer.from('follower-part') },
  ];
  harness.sync('g', leaderId, 1, assignments, 'i1');
  harness.sync('g', followerId, 1, [], 'i2');
  assert.equal(harness.coordinator.exportGroup('g')?.state, 'Stable');
  return { leaderId, followerId };
}

describe('static member rejoin', () => {
  it('replaces the old member id without a rebalance when nothing changed', () => {
    const harness = new Harness();
    const { leaderId, followerId } = formStaticGroup(harness);

    const rejoin = harness.coordinator.joinGroup(harness.joinRequest('g', { groupInstanceId: 'i2' }), harness.nowMs);
    assert.equal(rejoin.settled, false, 'answered only once the new member id is durable');
    const writes = harness.coordinator.takeWrites();
    assert.equal(writes.length, 1);
    harness.coordinator.completeWrite(writes[0]!.writeId, ErrorCode.NONE, harness.nowMs);
    const result = settled(rejoin);
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.generationId, 1, 'same generation: no rebalance');
    assert.notEqual(result.memberId, followerId);
    assert.equal(result.skipAssignment, false);
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'Stable');

    assert.equal(harness.heartbeat('g', followerId, 1, 'i2'), ErrorCode.FENCED_INSTANCE_ID, 'the old instance is a zombie');
    assert.equal(harness.heartbeat('g', result.memberId, 1, 'i2'), ErrorCode.NONE);
    const sync = harness.sync('g', result.memberId, 1, [], 'i2');
    assert.equal(settled(sync).assignment.toString(), 'follower-part', 'keeps the assignment of its previous incarnation');
    assert.equal(harness.heartbeat('g', leaderId, 1, 'i1'), ErrorCode.NONE);
  });

  it('tells a returning static leader it leads but must skip assignment (JoinGroup v9+)', () => {
    const harness = new Harness();
    formStaticGroup(harness);
    const rejoin = harness.join('g', { groupInstanceId: 'i1', supportSkippingAssignment: true });
    const result = settled(rejoin);
    assert.equal(result.leader, result.memberId);
    assert.equal(result.skipAssignment, true);
    assert.equal(result.members.length, 2);
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'Stable');
  });

  it('tells an older static leader the previous leader id so it does not assign', () => {
    const harness = new Harness();
    const { leaderId } = formStaticGroup(harness);
    const result = settled(harness.join('g', { groupInstanceId: 'i1', supportSkippingAssignment: false }));
    assert.equal(result.leader, leaderId);
    assert.notEqual(result.memberId, leaderId);
    assert.deepEqual(result.members, []);
  });

  it('reverts the replacement when the new member id cannot be stored', () => {
    const harness = new Harness();
    const { followerId } = formStaticGroup(harness);
    harness.appendErrorCode = ErrorCode.NOT_ENOUGH_REPLICAS;
    const result = settled(harness.join('g', { groupInstanceId: 'i2' }));
    assert.equal(result.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    harness.appendErrorCode = ErrorCode.NONE;
    assert.equal(harness.heartbeat('g', followerId, 1, 'i2'), ErrorCode.NONE, 'the old id is current again');
  });

  it('rebalances only when the rejoin changes the selected protocol', () => {
    const harness = new Harness();
    formStaticGroup(harness);
    const unchanged = harness.join('g', { groupInstanceId: 'i2', protocols: consumerProtocols(['roundrobin', 'range']) });
    assert.equal(settled(unchanged).generationId, 1, 'range is still the only common protocol: no rebalance');
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'Stable');
    const changed = harness.join('g', { groupInstanceId: 'i1', protocols: consumerProtocols(['roundrobin', 'range']) });
    assert.equal(changed.settled, false);
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'PreparingRebalance', 'both now prefer roundrobin: rebalance');
  });

  it('rebalances when a static member restarts while the group awaits sync, fencing its parked sync', () => {
    const harness = new Harness();
    harness.join('g', { groupInstanceId: 'i1' });
    const followerJoin = harness.join('g', { groupInstanceId: 'i2' });
    harness.settleJoinPhase('g');
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'CompletingRebalance');
    const followerSync = harness.sync('g', settled(followerJoin).memberId, 1, [], 'i2');
    assert.equal(followerSync.settled, false);
    const restart = harness.join('g', { groupInstanceId: 'i2' });
    assert.equal(settled(followerSync).errorCode, ErrorCode.FENCED_INSTANCE_ID, 'the old incarnation is fenced');
    assert.equal(restart.settled, false);
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'PreparingRebalance');
  });

  it('keeps a static member that misses a rebalance, unlike a dynamic one', () => {
    const harness = new Harness();
    const { leaderId, followerId } = formStaticGroup(harness);
    const rejoin = harness.join('g', { memberId: leaderId, groupInstanceId: 'i1' });
    // The follower stays alive (heartbeats) but does not rejoin before the rebalance timeout.
    for (let elapsedMs = 0; elapsedMs < 30_000; elapsedMs += 2_000) {
      assert.equal(harness.heartbeat('g', followerId, 1, 'i2'), ErrorCode.REBALANCE_IN_PROGRESS);
      harness.advance(2_000);
    }
    const result = settled(rejoin);
    assert.equal(result.generationId, 2);
    assert.deepEqual(result.members.map((member) => member.memberId).sort(), [leaderId, followerId].sort());
  });

  it('fences a request that carries an instance id with the wrong member id', () => {
    const harness = new Harness();
    const { leaderId } = formStaticGroup(harness);
    assert.equal(harness.heartbeat('g', leaderId, 1, 'i2'), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(harness.heartbeat('g', leaderId, 1, 'unknown-instance'), ErrorCode.UNKNOWN_MEMBER_ID);
  });
});
