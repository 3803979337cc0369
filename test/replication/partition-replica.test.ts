// Proves a partition replica switches roles only on newer metadata: a stale or repeated partition
// state (older leader epoch, or same leader epoch and an older or equal partition epoch) is
// refused whole; a new leader epoch ends the old role first, failing waiting produce requests
// with NOT_LEADER_OR_FOLLOWER, and starts the new one (a leader records its epoch's start offset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { comparePartitionState, leaderEpochErrorCode } from '../../src/replication/epochs.ts';
import { PartitionReplica } from '../../src/replication/partition-replica.ts';
import { ReplicaLog } from '../../src/replication/replica-log.ts';
import type { PartitionState } from '../../src/replication/types.ts';

const config = { replicaLagTimeMaxMs: 1000, minInsyncReplicas: 2, flushSync: false };
const base: PartitionState = { leader: 1, leaderEpoch: 3, partitionEpoch: 4, replicas: [1, 2, 3], isr: [1, 2, 3] };

function replica(): PartitionReplica {
  return new PartitionReplica(1, config, new ReplicaLog({ logStartOffset: 0, logEndOffset: 5, flushedOffset: 5, highWatermark: 5, epochs: [{ epoch: 2, startOffset: 0 }] }));
}

test('epoch comparisons: one per kind, stale refused, newer recognised', () => {
  assert.equal(leaderEpochErrorCode(2, 3), ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(leaderEpochErrorCode(4, 3), ErrorCode.UNKNOWN_LEADER_EPOCH);
  assert.equal(leaderEpochErrorCode(3, 3), ErrorCode.NONE);
  assert.equal(comparePartitionState({ leaderEpoch: 3, partitionEpoch: 9 }, { leaderEpoch: 4, partitionEpoch: 1 }), 'stale');
  assert.equal(comparePartitionState({ leaderEpoch: 4, partitionEpoch: 2 }, { leaderEpoch: 4, partitionEpoch: 1 }), 'newer');
  assert.equal(comparePartitionState({ leaderEpoch: 4, partitionEpoch: 1 }, { leaderEpoch: 4, partitionEpoch: 1 }), 'current');
});

test('becoming leader records the epoch start; stale and repeated metadata are refused', () => {
  const partition = replica();
  const outcome = partition.onMetadata(base, 0);
  assert.deepEqual(outcome, { accepted: true, actions: [], epochsChanged: true });
  assert.equal(partition.role, 'leader');
  assert.deepEqual(partition.log.epochs.list(), [{ epoch: 2, startOffset: 0 }, { epoch: 3, startOffset: 5 }]);
  assert.equal(partition.onMetadata(base, 1).accepted, false);
  assert.equal(partition.onMetadata({ ...base, leaderEpoch: 2, partitionEpoch: 9, leader: 2 }, 1).accepted, false);
  assert.equal(partition.role, 'leader');
});

test('an ISR change in the same leader epoch reaches the leader without a role change', () => {
  const partition = replica();
  partition.onMetadata(base, 0);
  const leader = partition.leader;
  assert.equal(partition.onMetadata({ ...base, partitionEpoch: 5, isr: [1, 2] }, 1).accepted, true);
  assert.equal(partition.leader, leader);
  assert.deepEqual(leader?.committedIsr, [1, 2]);
});

test('a new leader epoch elsewhere makes this replica a follower and fails its waiting produces', () => {
  const partition = replica();
  partition.onMetadata(base, 0);
  partition.leader!.onAppend(6, 0, { requestId: 9, acks: -1, timeoutMs: 1000 });
  const outcome = partition.onMetadata({ ...base, leader: 2, leaderEpoch: 4, partitionEpoch: 5, isr: [2, 3] }, 1);
  assert.deepEqual(outcome.actions, [{ kind: 'produce-done', requestId: 9, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }]);
  assert.equal(partition.role, 'follower');
  assert.equal(partition.follower?.leaderId, 2);
  assert.equal(partition.follower?.leaderEpoch, 4);
});

test('no leader, or not a replica: neither role', () => {
  const partition = replica();
  partition.onMetadata({ ...base, leader: -1 }, 0);
  assert.equal(partition.role, 'none');
  partition.onMetadata({ ...base, leader: 2, leaderEpoch: 5, replicas: [2, 3] }, 0);
  assert.equal(partition.role, 'none');
});

test('metadata naming an epoch older than one already in the log is refused (a restarted replica)', () => {
  const partition = replica();
  assert.equal(partition.onMetadata({ ...base, leaderEpoch: 1 }, 0).accepted, false);
  assert.equal(partition.role, 'none');
});
