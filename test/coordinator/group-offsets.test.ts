// Proves committed-offset handling: commits are validated as in Kafka (standalone commits to an
// empty group, member + generation checks otherwise, REBALANCE_IN_PROGRESS while completing),
// become visible only once durable, can fail cleanly; OffsetFetch, OffsetDelete (refused for
// topics the group still reads), DeleteGroups (only for empty groups) and retention expiry all
// behave and write the right tombstones.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/coordinator/error-codes.ts';
import { decodeOffsetCommitValue, decodeOffsetsTopicKey } from '../../src/coordinator/offsets-topic-format.ts';
import { Harness, consumerProtocols, settled } from './group-harness.ts';

const dayMs = 24 * 60 * 60 * 1000;

describe('commit and fetch', () => {
  it('a standalone commit creates a group and is visible only once durable', () => {
    const harness = new Harness();
    const outcome = harness.coordinator.commitOffsets(
      { groupId: 'tool', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 'orders', partition: 2, offset: 42, leaderEpoch: 3, metadata: 'm' }] },
      harness.nowMs,
    );
    assert.deepEqual(outcome.partitions, [{ topic: 'orders', partition: 2, errorCode: ErrorCode.NONE }]);
    assert.equal(outcome.records.length, 1);
    assert.deepEqual(decodeOffsetsTopicKey(outcome.records[0]!.key), { kind: 'offset-commit', groupId: 'tool', topic: 'orders', partition: 2 });
    assert.deepEqual(decodeOffsetCommitValue(outcome.records[0]!.value!), {
      offset: 42,
      leaderEpoch: 3,
      metadata: 'm',
      commitTimestampMs: harness.nowMs,
      expireTimestampMs: null,
    });

    const ref = [{ topic: 'orders', partition: 2 }];
    assert.equal(harness.coordinator.fetchOffsets('tool', ref).partitions[0]?.offset, -1, 'not durable yet');
    assert.equal(harness.coordinator.fetchOffsets('tool', ref, true).partitions[0]?.errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
    harness.coordinator.applyCommittedOffsets(outcome.pending!);
    assert.deepEqual(harness.coordinator.fetchOffsets('tool', ref, true).partitions, [
      { topic: 'orders', partition: 2, offset: 42, leaderEpoch: 3, metadata: 'm', errorCode: ErrorCode.NONE },
    ]);
  });

  it('a failed append leaves nothing committed and maps the error for the client', () => {
    const harness = new Harness();
    const outcome = harness.coordinator.commitOffsets(
      { groupId: 'tool', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] },
      harness.nowMs,
    );
    const answers = harness.coordinator.failCommittedOffsets(outcome.pending!, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(answers, [{ topic: 't', partition: 0, errorCode: ErrorCode.NOT_COORDINATOR }]);
    const fetched = harness.coordinator.fetchOffsets('tool', [{ topic: 't', partition: 0 }], true).partitions[0];
    assert.equal(fetched?.offset, -1);
    assert.equal(fetched?.errorCode, ErrorCode.NONE);
  });

  it('checks member and generation for a group with members', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 2);
    assert.equal(harness.commit('g', memberIds[1]!, generationId, [{ offset: 10 }]).partitions[0]?.errorCode, ErrorCode.NONE);
    assert.equal(harness.commit('g', memberIds[1]!, generationId + 1, [{ offset: 11 }]).partitions[0]?.errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal(harness.commit('g', 'stranger', generationId, [{ offset: 11 }]).partitions[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(harness.commit('g', '', -1, [{ offset: 11 }]).partitions[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'no standalone commits into a live group');
    assert.equal(harness.commit('gone', 'someone', 4, [{ offset: 1 }]).partitions[0]?.errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal(harness.coordinator.fetchOffsets('g', [{ topic: 'orders', partition: 0 }]).partitions[0]?.offset, 10);
  });

  it('accepts commits while preparing a rebalance but not while completing one', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 2);
    const rejoin = harness.join('g', { memberId: memberIds[0]! });
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'PreparingRebalance');
    assert.equal(harness.commit('g', memberIds[1]!, generationId, [{ offset: 20 }]).partitions[0]?.errorCode, ErrorCode.NONE);
    harness.join('g', { memberId: memberIds[1]! });
    assert.equal(settled(rejoin).generationId, generationId + 1);
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'CompletingRebalance');
    assert.equal(harness.commit('g', memberIds[1]!, generationId + 1, [{ offset: 21 }]).partitions[0]?.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('refuses only the partitions whose metadata is too large', () => {
    const harness = new Harness({ offsetMetadataMaxBytes: 4 });
    const outcome = harness.commit('tool', '', -1, [
      { partition: 0, metadata: 'ok' },
      { partition: 1, metadata: 'too long' },
    ]);
    assert.deepEqual(outcome.partitions.map((partition) => partition.errorCode), [ErrorCode.NONE, ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    assert.equal(outcome.records.length, 1);
  });

  it('fetches every committed partition when none are named, and -1 for a group that does not exist', () => {
    const harness = new Harness();
    harness.commit('tool', '', -1, [{ topic: 'b', partition: 1, offset: 5 }, { topic: 'a', partition: 0, offset: 7 }]);
    const all = harness.coordinator.fetchOffsets('tool', null).partitions.map((partition) => [partition.topic, partition.partition, partition.offset]);
    assert.deepEqual(all.sort(), [['a', 0, 7], ['b', 1, 5]]);
    assert.deepEqual(harness.coordinator.fetchOffsets('none', null).partitions, []);
    assert.equal(harness.coordinator.fetchOffsets('none', [{ topic: 'a', partition: 0 }]).partitions[0]?.offset, -1);
  });
});

describe('deleting offsets and groups', () => {
  it('deletes offsets of an empty group and writes tombstones; deleting the last one deletes the group', () => {
    const harness = new Harness();
    harness.commit('tool', '', -1, [{ partition: 0, offset: 1 }, { partition: 1, offset: 2 }]);
    const first = harness.coordinator.deleteOffsets('tool', [{ topic: 'orders', partition: 0 }], harness.nowMs);
    harness.flush();
    assert.deepEqual(first, { errorCode: ErrorCode.NONE, partitions: [{ topic: 'orders', partition: 0, errorCode: ErrorCode.NONE }] });
    const tombstone = harness.log.at(-1)!;
    assert.equal(tombstone.value, null);
    assert.deepEqual(decodeOffsetsTopicKey(tombstone.key!), { kind: 'offset-commit', groupId: 'tool', topic: 'orders', partition: 0 });
    harness.coordinator.deleteOffsets('tool', [{ topic: 'orders', partition: 1 }], harness.nowMs);
    assert.deepEqual(harness.coordinator.listGroups(), [], 'an empty group without offsets is gone');
    assert.equal(harness.coordinator.deleteOffsets('tool', [{ topic: 'orders', partition: 1 }], harness.nowMs).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('refuses to delete offsets of topics a live consumer group subscribes to', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 1, { protocols: consumerProtocols(['range'], ['orders']) });
    harness.commit('g', memberIds[0]!, generationId, [{ topic: 'orders', offset: 1 }, { topic: 'old-topic', offset: 2 }]);
    const result = harness.coordinator.deleteOffsets('g', [{ topic: 'orders', partition: 0 }, { topic: 'old-topic', partition: 0 }], harness.nowMs);
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.deepEqual(result.partitions, [
      { topic: 'orders', partition: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC },
      { topic: 'old-topic', partition: 0, errorCode: ErrorCode.NONE },
    ]);
    assert.deepEqual(harness.coordinator.fetchOffsets('g', null).partitions.map((partition) => partition.topic), ['orders']);
  });

  it('refuses OffsetDelete on a live group of another protocol type', () => {
    const harness = new Harness();
    harness.formGroup('connect-group', 1, { protocolType: 'connect' });
    assert.equal(harness.coordinator.deleteOffsets('connect-group', [{ topic: 'x', partition: 0 }], harness.nowMs).errorCode, ErrorCode.NON_EMPTY_GROUP);
  });

  it('deletes only empty groups, with their offsets', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('live', 1);
    harness.commit('live', memberIds[0]!, generationId, [{ offset: 1 }]);
    harness.commit('idle', '', -1, [{ offset: 9 }]);
    const results = harness.coordinator.deleteGroups(['live', 'idle', 'unknown'], harness.nowMs);
    harness.flush();
    assert.deepEqual(results, [
      { groupId: 'live', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'idle', errorCode: ErrorCode.NONE },
      { groupId: 'unknown', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    assert.deepEqual(harness.coordinator.listGroups().map((group) => group.groupId), ['live']);
    assert.equal(harness.coordinator.fetchOffsets('idle', [{ topic: 'orders', partition: 0 }]).partitions[0]?.offset, -1);
    const last = harness.log.at(-1)!;
    assert.equal(last.value, null, 'the offset tombstone (a generation-0 group has no metadata record to delete)');
  });

  it('writes a group tombstone when deleting a group that had generations', () => {
    const harness = new Harness();
    const { memberIds } = harness.formGroup('g', 1);
    harness.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: memberIds[0]!, groupInstanceId: null, reason: null }] }, harness.nowMs);
    harness.flush();
    assert.deepEqual(harness.coordinator.deleteGroups(['g'], harness.nowMs), [{ groupId: 'g', errorCode: ErrorCode.NONE }]);
    harness.flush();
    const last = harness.log.at(-1)!;
    assert.deepEqual(decodeOffsetsTopicKey(last.key!), { kind: 'group-metadata', groupId: 'g' });
    assert.equal(last.value, null);
  });
});

describe('offset retention', () => {
  it('expires offsets of an empty group a retention period after it became empty, then the group', () => {
    const retentionMs = 60_000;
    const harness = new Harness({ offsetsRetentionMs: retentionMs, offsetsRetentionCheckIntervalMs: 1_000 });
    const { memberIds, generationId } = harness.formGroup('g', 1);
    harness.commit('g', memberIds[0]!, generationId, [{ offset: 5 }]);
    // The member stays (heartbeating) for most of a retention period after its commit.
    for (let elapsedMs = 0; elapsedMs < 50_000; elapsedMs += 5_000) {
      assert.equal(harness.heartbeat('g', memberIds[0]!, generationId), ErrorCode.NONE);
      harness.advance(5_000);
    }
    harness.coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: memberIds[0]!, groupInstanceId: null, reason: null }] }, harness.nowMs);
    harness.flush();
    assert.equal(harness.coordinator.exportGroup('g')?.state, 'Empty');
    harness.advance(retentionMs - 2_000);
    assert.equal(harness.coordinator.fetchOffsets('g', null).partitions.length, 1, 'retention counts from when the group became empty');
    harness.advance(2_000);
    assert.deepEqual(harness.coordinator.fetchOffsets('g', null).partitions, []);
    assert.deepEqual(harness.coordinator.listGroups(), []);
    const tombstones = harness.log.slice(-2);
    assert.deepEqual(tombstones.map((record) => [decodeOffsetsTopicKey(record.key!).kind, record.value]), [
      ['offset-commit', null],
      ['group-metadata', null],
    ]);
  });

  it('expires standalone offsets by commit time', () => {
    const harness = new Harness({ offsetsRetentionMs: dayMs });
    harness.commit('tool', '', -1, [{ partition: 0, offset: 1 }]);
    harness.advance(dayMs / 2);
    harness.commit('tool', '', -1, [{ partition: 1, offset: 1 }]);
    assert.equal(harness.coordinator.expireOffsets(harness.nowMs + dayMs / 2), 1);
    assert.deepEqual(harness.coordinator.fetchOffsets('tool', null).partitions.map((partition) => partition.partition), [1]);
  });

  it('honours an explicit retention time from an old client (stored as a value-v1 record)', () => {
    const harness = new Harness({ offsetsRetentionMs: dayMs });
    const outcome = harness.coordinator.commitOffsets(
      { groupId: 'old', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: 5_000, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] },
      harness.nowMs,
    );
    assert.equal(outcome.records[0]!.value!.readInt16BE(0), 1);
    assert.equal(decodeOffsetCommitValue(outcome.records[0]!.value!).expireTimestampMs, harness.nowMs + 5_000);
    harness.coordinator.applyCommittedOffsets(outcome.pending!);
    assert.equal(harness.coordinator.expireOffsets(harness.nowMs + 4_999), 0);
    assert.equal(harness.coordinator.expireOffsets(harness.nowMs + 5_000), 1);
  });

  it('keeps a stable consumer group’s offsets for subscribed topics and expires the others', () => {
    const harness = new Harness({ offsetsRetentionMs: dayMs });
    const { memberIds, generationId } = harness.formGroup('g', 1, { protocols: consumerProtocols(['range'], ['orders']) });
    harness.commit('g', memberIds[0]!, generationId, [{ topic: 'orders', offset: 1 }, { topic: 'retired', offset: 1 }]);
    assert.equal(harness.coordinator.expireOffsets(harness.nowMs + dayMs), 1);
    assert.deepEqual(harness.coordinator.fetchOffsets('g', null).partitions.map((partition) => partition.topic), ['orders']);
  });
});
