// Proves the replica logic takes topic config changes at once (min.insync.replicas and flush reach
// the current leader and follower, not only the next leader epoch), that a new leader says its HW
// is not known until it reaches the epoch's start offset, and that a checkpointed HW is clamped to
// what the log kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { PartitionReplica } from '../../src/replication/partition-replica.ts';
import { ReplicaLog } from '../../src/replication/replica-log.ts';
import type { LeaderAction, PartitionState, ReplicationConfig } from '../../src/replication/types.ts';

const config: ReplicationConfig = { replicaLagTimeMaxMs: 1000, minInsyncReplicas: 1, flushSync: false };
const state: PartitionState = { leader: 1, leaderEpoch: 5, partitionEpoch: 7, replicas: [1, 2, 3], isr: [1, 2] };

function replicaWith(logEndOffset: number, highWatermark: number, overrides: Partial<ReplicationConfig> = {}): PartitionReplica {
  const epochs = logEndOffset > 0 ? [{ epoch: 1, startOffset: 0 }] : [];
  return new PartitionReplica(1, { ...config, ...overrides }, new ReplicaLog({ logStartOffset: 0, logEndOffset, flushedOffset: logEndOffset, highWatermark, epochs }));
}

const done = (actions: LeaderAction[]) => actions.filter((action) => action.kind === 'produce-done');

test('raising min.insync.replicas above the ISR refuses the next acks=all produce in the same leader epoch', () => {
  const replica = replicaWith(0, 0);
  replica.onMetadata(state, 0);
  const leader = replica.leader!;
  assert.equal(leader.checkProduce(-1), ErrorCode.NONE);
  replica.onConfig({ ...config, minInsyncReplicas: 3 });
  assert.equal(replica.leader, leader, 'no new leader epoch');
  assert.equal(leader.checkProduce(-1), ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(leader.checkProduce(1), ErrorCode.NONE, 'acks=1 ignores the minimum');
  replica.onConfig({ ...config, minInsyncReplicas: 2 });
  assert.equal(leader.checkProduce(-1), ErrorCode.NONE);
});

test('a waiting acks=all request is judged by the minimum in force when the HW passes it', () => {
  const replica = replicaWith(0, 0);
  replica.onMetadata(state, 0);
  const leader = replica.leader!;
  leader.onAppend(4, 0, { requestId: 1, acks: -1, timeoutMs: 5000 });
  replica.onConfig({ ...config, minInsyncReplicas: 3 });
  const answered = done(leader.onFetch({ replicaId: 2, fetchOffset: 4, currentLeaderEpoch: 5, lastFetchedEpoch: 5 }, 1).actions);
  assert.deepEqual(answered, [{ kind: 'produce-done', requestId: 1, errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND }]);
});

test('flush=sync switched on holds the HW at the fsynced end; switched off lets it and acks=1 move', () => {
  const replica = replicaWith(0, 0);
  replica.onMetadata({ ...state, isr: [1] }, 0);
  const leader = replica.leader!;
  replica.onConfig({ ...config, flushSync: true });
  assert.deepEqual(done(leader.onAppend(3, 0, { requestId: 1, acks: 1, timeoutMs: 5000 })), [], 'not fsynced yet');
  assert.equal(leader.highWatermark, 0);
  const actions = replica.onConfig({ ...config, flushSync: false });
  assert.deepEqual(done(actions), [{ kind: 'produce-done', requestId: 1, errorCode: ErrorCode.NONE }]);
  assert.equal(leader.highWatermark, 3);
});

test('a follower under flush=sync waits for its fsync; flush=async lets it fetch at once', () => {
  const replica = replicaWith(0, 0, { flushSync: true, truncateOnFetch: true });
  replica.onMetadata({ ...state, leader: 2 }, 0);
  const follower = replica.follower!;
  const request = follower.nextRequest();
  assert.equal(request?.kind, 'fetch');
  if (request?.kind !== 'fetch') return;
  follower.onFetchAnswer(request, { errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 2, readFromOffset: 0, readToOffset: 2 }, [{ nextOffset: 2, epoch: 5 }]);
  assert.equal(follower.nextRequest(), undefined, 'appended, not fsynced');
  replica.onConfig({ ...config, flushSync: false, truncateOnFetch: true });
  assert.equal(follower.nextRequest()?.kind, 'fetch');
});

test('a new leader does not know its HW until it reaches the epoch start offset', () => {
  const replica = replicaWith(10, 4);
  replica.onMetadata(state, 0);
  const leader = replica.leader!;
  assert.equal(leader.epochStartOffset, 10);
  assert.equal(leader.highWatermark, 4);
  assert.equal(leader.highWatermarkKnown, false);
  leader.onFetch({ replicaId: 2, fetchOffset: 10, currentLeaderEpoch: 5, lastFetchedEpoch: 1 }, 1);
  assert.equal(leader.highWatermark, 10);
  assert.equal(leader.highWatermarkKnown, true);
});

test('an ISR of one knows its HW at once', () => {
  const replica = replicaWith(10, 0);
  replica.onMetadata({ ...state, isr: [1] }, 0);
  replica.leader!.onFlushed(10);
  assert.equal(replica.leader!.highWatermarkKnown, true);
});

test('a checkpointed HW above what the log kept (power loss) is clamped to the log end', () => {
  const log = new ReplicaLog({ logStartOffset: 0, logEndOffset: 6, flushedOffset: 6, highWatermark: 9, epochs: [{ epoch: 1, startOffset: 0 }] });
  assert.equal(log.highWatermark, 6);
});
