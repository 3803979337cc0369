// Proves the classic rebalance protocol of the group coordinator, driven with fake time: the full
// three-member JoinGroup/SyncGroup flow (MEMBER_ID_REQUIRED first, initial delay, leader gets the
// member list, assignment released only once durable), and that leaving, an expired session, and
// not rejoining before the rebalance timeout each remove a member and start a new generation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/coordinator/error-codes.ts';
import { decodeGroupMetadataValue, decodeOffsetsTopicKey } from '../../src/coordinator/offsets-topic-format.ts';
import { Harness, rebalanceTimeoutMs, sessionTimeoutMs, settled } from './group-harness.ts';

describe('three members join and sync', () => {
  it('hands out member ids first, waits out the initial delay, then completes a generation', () => {
    const harness = new Harness({ groupInitialRebalanceDelayMs: 100 });
    const first = harness.join('g');
    assert.equal(settled(first).errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const memberA = settled(first).memberId;
    assert.match(memberA, /^client-uuid\d+$/);

    const joinA = harness.join('g', { memberId: memberA });
    assert.equal(joinA.settled, false, 'the first member waits for the initial delay');
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'PreparingRebalance');

    harness.advance(50);
    const { memberId: memberB, join: joinB } = harness.joinNew('g');
    const { memberId: memberC, join: joinC } = harness.joinNew('g');
    harness.advance(50);
    assert.equal(joinA.settled, false, 'members that arrived during the delay extend it');
    harness.advance(100);

    const [resultA, resultB, resultC] = [settled(joinA), settled(joinB), settled(joinC)];
    for (const result of [resultA, resultB, resultC]) {
      assert.equal(result.errorCode, ErrorCode.NONE);
      assert.equal(result.generationId, 1);
      assert.equal(result.protocolType, 'consumer');
      assert.equal(result.protocolName, 'range');
      assert.equal(result.leader, memberA);
    }
    assert.deepEqual(resultA.members.map((member) => member.memberId), [memberA, memberB, memberC]);
    assert.deepEqual(resultB.members, []);
    assert.deepEqual(resultC.members, []);
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'CompletingRebalance');
    assert.equal(harness.heartbeat('g', memberB, 1), ErrorCode.NONE, 'heartbeats after JoinGroup are fine while completing');

    const syncB = harness.sync('g', memberB, 1);
    assert.equal(syncB.settled, false, 'followers wait for the leader');
    const assignments = [memberA, memberB, memberC].map((memberId, index) => ({ memberId, assignment: Buffer.from([index]) }));
    const syncA = harness.coordinator.syncGroup(
      { groupId: 'g', generationId: 1, memberId: memberA, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments },
      harness.nowMs,
    );
    assert.equal(syncA.settled, false, 'nothing is answered before the assignment is durable');
    const writes = harness.coordinator.takeWrites();
    assert.equal(writes.length, 1);
    const stored = decodeGroupMetadataValue(writes[0]!.records[0]!.value!);
    assert.deepEqual(decodeOffsetsTopicKey(writes[0]!.records[0]!.key), { kind: 'group-metadata', groupId: 'g' });
    assert.equal(stored.generationId, 1);
    assert.deepEqual(stored.members.map((member) => [...member.assignment]), [[0], [1], [2]]);

    harness.coordinator.completeWrite(writes[0]!.writeId, ErrorCode.NONE, harness.nowMs);
    assert.deepEqual([...settled(syncA).assignment], [0]);
    assert.deepEqual([...settled(syncB).assignment], [1]);
    assert.equal(settled(syncB).protocolName, 'range');
    const syncC = harness.sync('g', memberC, 1);
    assert.deepEqual([...settled(syncC).assignment], [2], 'a late follower gets its assignment at once');
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'Stable');
    for (const memberId of [memberA, memberB, memberC]) assert.equal(harness.heartbeat('g', memberId, 1), ErrorCode.NONE);
  });

  it('answers every follower with the error and rebalances when the assignment cannot be stored', () => {
    const harness = new Harness();
    const joins = [harness.joinNew('g'), harness.joinNew('g')];
    harness.settleJoinPhase('g');
    const [leader, follower] = joins.map(({ memberId }) => memberId) as [string, string];
    const followerSync = harness.sync('g', follower, 1);
    harness.appendErrorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const leaderSync = harness.sync('g', leader, 1, [{ memberId: leader, assignment: Buffer.from([0]) }]);
    assert.equal(settled(leaderSync).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(settled(followerSync).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'PreparingRebalance');
  });

  it('gives members the leader left out an empty assignment', () => {
    const harness = new Harness();
    const joins = [harness.joinNew('g'), harness.joinNew('g')];
    harness.settleJoinPhase('g');
    const [leader, follower] = joins.map(({ memberId }) => memberId) as [string, string];
    harness.sync('g', leader, 1, [{ memberId: leader, assignment: Buffer.from([7]) }]);
    assert.equal(settled(harness.sync('g', follower, 1)).assignment.length, 0);
  });
});

describe('members leaving', () => {
  it('a LeaveGroup starts a rebalance that completes as soon as the rest rejoin', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 3);
    const [memberA, memberB, memberC] = memberIds as [string, string, string];

    const leave = harness.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: memberB, groupInstanceId: null, reason: 'shutdown' }] }, harness.nowMs);
    assert.deepEqual(leave, { errorCode: ErrorCode.NONE, members: [{ memberId: memberB, groupInstanceId: null, errorCode: ErrorCode.NONE }] });
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'PreparingRebalance');
    assert.equal(harness.heartbeat('g', memberA, generationId), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(harness.heartbeat('g', memberB, generationId), ErrorCode.UNKNOWN_MEMBER_ID);

    const rejoinA = harness.join('g', { memberId: memberA });
    assert.equal(rejoinA.settled, false);
    const rejoinC = harness.join('g', { memberId: memberC });
    assert.equal(settled(rejoinA).generationId, generationId + 1, 'no timer needed once everyone rejoined');
    assert.deepEqual(settled(rejoinA).members.map((member) => member.memberId), [memberA, memberC]);
    assert.equal(settled(rejoinC).leader, memberA);
  });

  it('the last member leaving empties the group, which is stored with a new generation', () => {
    const harness = new Harness();
    const { memberIds } = harness.formGroup('g', 1);
    harness.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: memberIds[0]!, groupInstanceId: null, reason: null }] }, harness.nowMs);
    harness.flush();
    const view = harness.coordinator.exportGroup('g');
    assert.equal(view?.state, 'Empty');
    assert.equal(view?.generationId, 2);
    const last = harness.log.at(-1)!;
    assert.equal(decodeGroupMetadataValue(last.value!).members.length, 0);
  });

  it('reports unknown members per entry, and removes a static member by instance id alone', () => {
    const harness = new Harness();
    const joinStatic = harness.join('g', { groupInstanceId: 'instance-1' });
    harness.settleJoinPhase('g');
    const staticId = settled(joinStatic).memberId;
    const result = harness.coordinator.leaveGroup(
      {
        groupId: 'g',
        members: [
          { memberId: 'nobody', groupInstanceId: null, reason: null },
          { memberId: '', groupInstanceId: 'instance-1', reason: 'admin' },
        ],
      },
      harness.nowMs,
    );
    assert.deepEqual(result.members.map((member) => member.errorCode), [ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.NONE]);
    assert.equal(harness.coordinator.exportGroup('g')?.members.some((member) => member.memberId === staticId), false);
  });
});

describe('timeouts', () => {
  it('removes a member whose session expires and rebalances the others', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 3);
    const [memberA, memberB, memberC] = memberIds as [string, string, string];
    for (let elapsedMs = 0; elapsedMs < sessionTimeoutMs; elapsedMs += 2_000) {
      assert.equal(harness.heartbeat('g', memberA, generationId), ErrorCode.NONE);
      assert.equal(harness.heartbeat('g', memberC, generationId), ErrorCode.NONE);
      harness.advance(2_000);
    }
    const view = harness.coordinator.exportGroup('g');
    assert.equal(view?.state, 'PreparingRebalance');
    assert.deepEqual(view?.members.map((member) => member.memberId), [memberA, memberC]);
    assert.equal(harness.heartbeat('g', memberB, generationId), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('drops members that do not rejoin before the rebalance timeout', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 3);
    const [memberA, memberB, memberC] = memberIds as [string, string, string];
    const rejoinA = harness.join('g', { memberId: memberA });
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'PreparingRebalance', "the leader's JoinGroup forces a rebalance");
    const rejoinB = harness.join('g', { memberId: memberB });
    // C keeps heartbeating (so its session stays alive) but never rejoins.
    for (let elapsedMs = 0; elapsedMs < rebalanceTimeoutMs - 2_000; elapsedMs += 2_000) {
      assert.equal(harness.heartbeat('g', memberC, generationId), ErrorCode.REBALANCE_IN_PROGRESS);
      harness.advance(2_000);
    }
    assert.equal(rejoinA.settled, false);
    harness.advance(2_000);
    assert.equal(settled(rejoinA).generationId, generationId + 1);
    assert.deepEqual(settled(rejoinA).members.map((member) => member.memberId), [memberA, memberB]);
    assert.equal(settled(rejoinB).errorCode, ErrorCode.NONE);
    assert.equal(harness.heartbeat('g', memberC, generationId), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('removes members that never send SyncGroup and rebalances', () => {
    const harness = new Harness();
    const joins = [harness.joinNew('g'), harness.joinNew('g')];
    harness.settleJoinPhase('g');
    const [leader, silent] = joins.map(({ memberId }) => memberId) as [string, string];
    const leaderSync = harness.sync('g', leader, 1, [{ memberId: leader, assignment: Buffer.from([1]) }]);
    assert.equal(settled(leaderSync).errorCode, ErrorCode.NONE);
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'Stable');
    // Keep the leader alive; the silent member's SyncGroup never comes.
    for (let elapsedMs = 0; elapsedMs <= rebalanceTimeoutMs; elapsedMs += 2_000) {
      harness.heartbeat('g', leader, harness.coordinator.exportGroup('g')!.generationId);
      harness.advance(2_000);
    }
    const view = harness.coordinator.exportGroup('g');
    assert.equal(view?.members.some((member) => member.memberId === silent), false);
  });

  it('a pending member id that never comes back holds a rebalance only until its session timeout', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 1);
    const pending = harness.join('g');
    assert.equal(settled(pending).errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const rejoin = harness.join('g', { memberId: memberIds[0]! });
    assert.equal(rejoin.settled, false, 'waits for the pending member');
    harness.advance(sessionTimeoutMs);
    assert.equal(settled(rejoin).generationId, generationId + 1);
    assert.equal(settled(rejoin).members.length, 1);
  });

  it('reports its next deadline so a driver knows when to tick', () => {
    const harness = new Harness();
    assert.equal(harness.coordinator.nextDeadlineMs(), null);
    const { memberIds } = harness.formGroup('g', 1);
    const deadline = harness.coordinator.nextDeadlineMs();
    assert.ok(deadline !== null && deadline > harness.nowMs && deadline <= harness.nowMs + sessionTimeoutMs);
    assert.equal(harness.heartbeat('g', memberIds[0]!, 1), ErrorCode.NONE);
  });
});

describe('fencing', () => {
  it('refuses a stale generation with ILLEGAL_GENERATION', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 2);
    assert.equal(harness.heartbeat('g', memberIds[1]!, generationId - 1), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(settled(harness.sync('g', memberIds[1]!, generationId + 1)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    const commit = harness.commit('g', memberIds[1]!, generationId - 1, [{ offset: 5 }]);
    assert.equal(commit.partitions[0]?.errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  it('refuses unknown members and groups', () => {
    const harness = new Harness();
    harness.formGroup('g', 1);
    assert.equal(harness.heartbeat('g', 'ghost', 1), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(harness.heartbeat('missing', 'ghost', 1), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(settled(harness.join('missing', { memberId: 'ghost' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(settled(harness.sync('missing', 'ghost', 1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(settled(harness.join('')).errorCode, ErrorCode.INVALID_GROUP_ID);
  });

  it('refuses session timeouts outside the configured bounds', () => {
    const harness = new Harness({ groupMinSessionTimeoutMs: 6_000, groupMaxSessionTimeoutMs: 60_000 });
    assert.equal(settled(harness.join('g', { sessionTimeoutMs: 1_000 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal(settled(harness.join('g', { sessionTimeoutMs: 120_000 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.deepEqual(harness.coordinator.listGroups(), []);
  });

  it('turns members away beyond group.max.size', () => {
    const harness = new Harness({ groupMaxSize: 2 });
    harness.formGroup('g', 2);
    const third = harness.join('g');
    assert.equal(settled(third).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    assert.equal(settled(third).memberId, '');
    assert.equal(harness.coordinator.exportGroup('g')?.members.length, 2);
  });

  it('answers parked requests with NOT_COORDINATOR on unload', async () => {
    const harness = new Harness();
    const { join } = harness.joinNew('g');
    harness.coordinator.unload(harness.nowMs);
    assert.equal((await join.promise).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(harness.heartbeat('g', 'x', 1), ErrorCode.NOT_COORDINATOR);
  });
});
