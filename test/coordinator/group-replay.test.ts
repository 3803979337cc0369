// Proves that a new coordinator rebuilt by replaying the __consumer_offsets records an old one
// wrote has the same groups, members, assignments, generations and offsets (failover loses
// nothing that was acknowledged), that loaded members keep working and silent ones expire, and
// that unknown or damaged records are skipped rather than fatal.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/coordinator/error-codes.ts';
import { GroupCoordinator } from '../../src/coordinator/group-coordinator.ts';
import { encodeOffsetCommitKey } from '../../src/coordinator/offsets-topic-format.ts';
import { replayOffsetsTopic } from '../../src/coordinator/offsets-topic-replay.ts';
import { Harness, sessionTimeoutMs, settled } from './group-harness.ts';

function buildHistory(): Harness {
  const harness = new Harness();
  const stable = harness.formGroup('stable', 3);
  harness.commit('stable', stable.memberIds[0]!, stable.generationId, [{ partition: 0, offset: 10, metadata: 'first' }]);
  harness.commit('stable', stable.memberIds[1]!, stable.generationId, [{ partition: 0, offset: 12 }, { partition: 1, offset: 7, leaderEpoch: 4 }]);

  const staticLeader = harness.join('static', { groupInstanceId: 'i1' });
  const staticFollower = harness.join('static', { groupInstanceId: 'i2' });
  harness.settleJoinPhase('static');
  const staticIds = [settled(staticLeader).memberId, settled(staticFollower).memberId];
  harness.sync('static', staticIds[0]!, 1, staticIds.map((memberId, index) => ({ memberId, assignment: Buffer.from([10 + index]) })), 'i1');
  settled(harness.join('static', { groupInstanceId: 'i2' }));

  harness.commit('tool', '', -1, [{ topic: 'a', partition: 0, offset: 1 }, { topic: 'b', partition: 3, offset: 2 }]);
  harness.coordinator.deleteOffsets('tool', [{ topic: 'a', partition: 0 }], harness.nowMs);

  const emptied = harness.formGroup('emptied', 1);
  harness.commit('emptied', emptied.memberIds[0]!, emptied.generationId, [{ offset: 99 }]);
  harness.coordinator.leaveGroup({ groupId: 'emptied', members: [{ memberId: emptied.memberIds[0]!, groupInstanceId: null, reason: null }] }, harness.nowMs);

  const deleted = harness.formGroup('deleted', 1);
  harness.commit('deleted', deleted.memberIds[0]!, deleted.generationId, [{ offset: 5 }]);
  harness.coordinator.leaveGroup({ groupId: 'deleted', members: [{ memberId: deleted.memberIds[0]!, groupInstanceId: null, reason: null }] }, harness.nowMs);
  harness.flush();
  harness.coordinator.deleteGroups(['deleted'], harness.nowMs);
  harness.flush();
  return harness;
}

describe('replaying __consumer_offsets', () => {
  it('rebuilds exactly the live state', () => {
    const harness = buildHistory();
    const live = harness.coordinator.exportState();
    assert.deepEqual(live.map((group) => [group.groupId, group.state]), [
      ['emptied', 'Empty'],
      ['stable', 'Stable'],
      ['static', 'Stable'],
      ['tool', 'Empty'],
    ]);

    const loaded = new GroupCoordinator({ newUuid: () => 'unused' });
    const summary = loaded.replay(harness.log, harness.nowMs);
    assert.equal(summary.skippedRecordCount, 0);
    assert.equal(summary.groupCount, 4);
    assert.deepEqual(loaded.exportState(), live);
  });

  it('loaded members keep their generation; silent ones expire and trigger a rebalance', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 2);
    const loaded = new GroupCoordinator({ newUuid: () => 'new' });
    let nowMs = harness.nowMs + 1_000;
    loaded.replay(harness.log, nowMs);
    const heartbeat = (memberId: string) => loaded.heartbeat({ groupId: 'g', memberId, generationId, groupInstanceId: null }, nowMs).errorCode;
    assert.equal(heartbeat(memberIds[0]!), ErrorCode.NONE);
    const sync = loaded.syncGroup({ groupId: 'g', generationId, memberId: memberIds[1]!, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }, nowMs);
    assert.deepEqual([...settled(sync).assignment], [1], 'the assignment survived the failover');
    // Only the first member keeps heartbeating.
    for (let step = 0; step < 10; step++) {
      nowMs += 2_000;
      assert.notEqual(heartbeat(memberIds[0]!), ErrorCode.UNKNOWN_MEMBER_ID);
      loaded.tick(nowMs);
    }
    assert.ok(nowMs - harness.nowMs > sessionTimeoutMs);
    assert.equal(loaded.exportGroup('g')?.state, 'PreparingRebalance');
    assert.deepEqual(loaded.exportGroup('g')?.members.map((member) => member.memberId), [memberIds[0]]);
  });

  it('rebalances a loaded group that is over group.max.size', () => {
    const harness = new Harness();
    harness.formGroup('g', 3);
    const loaded = new GroupCoordinator({ newUuid: () => 'new', config: { groupMaxSize: 2 } });
    loaded.replay(harness.log, harness.nowMs);
    assert.equal(loaded.exportGroup('g')?.state, 'PreparingRebalance');
  });

  it('skips records with unknown key versions or undecodable values', () => {
    const unknownKey = Buffer.from([0x00, 0x07, 0x00, 0x01, 0x78]);
    const badValue = { key: encodeOffsetCommitKey('g', 't', 0), value: Buffer.from([0x00, 0x03, 0x01]) };
    const image = replayOffsetsTopic([{ key: unknownKey, value: Buffer.alloc(4) }, badValue, { key: null, value: null }]);
    assert.equal(image.skippedRecordCount, 3);
    assert.deepEqual(image.groups, []);
    assert.match(image.firstSkipReason ?? '', /unknown key version 7/);
  });

  it('arms the retention sweep when loading, so a driver ticking at nextDeadlineMs runs it', () => {
    const loaded = new GroupCoordinator({ newUuid: () => 'new', config: { offsetsRetentionCheckIntervalMs: 60_000 } });
    assert.equal(loaded.nextDeadlineMs(), null);
    loaded.replay([], 5_000);
    assert.equal(loaded.nextDeadlineMs(), 65_000);
  });

  it('tells the driver when writes become pending', () => {
    let notified = 0;
    const coordinator = new GroupCoordinator({ newUuid: () => 'u', onWritesPending: () => notified++ });
    coordinator.replay([], 0);
    const outcome = coordinator.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }, 0);
    coordinator.applyCommittedOffsets(outcome.pending!);
    assert.equal(notified, 0, 'offset commits are returned, not queued');
    coordinator.deleteGroups(['g'], 1);
    assert.equal(notified, 1);
    assert.equal(coordinator.outstandingWriteCount, 1);
    const [write] = coordinator.takeWrites();
    coordinator.completeWrite(write!.writeId, ErrorCode.NONE, 2);
    assert.equal(coordinator.outstandingWriteCount, 0);
    assert.throws(() => coordinator.completeWrite(write!.writeId, ErrorCode.NONE, 3), /not outstanding/);
  });

  it('refuses to replay into a coordinator that already serves groups', () => {
    const harness = new Harness();
    harness.formGroup('g', 1);
    assert.throws(() => harness.coordinator.replay([], harness.nowMs), /fresh coordinator/);
  });
});
