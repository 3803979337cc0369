// Proves the leader side of replication follows Kafka's rules: the HW is the smallest end offset
// of the (maximal) ISR and never goes back; acks=all is refused before the append below
// min.insync.replicas, answered after it once the HW passes (NOT_ENOUGH_REPLICAS_AFTER_APPEND if
// the ISR shrank meanwhile), timed out at its deadline and failed on resignation; followers leave
// the ISR after replica.lag.time.max.ms and rejoin once at the HW and this epoch's start; a refused
// expansion still holds the HW until a newer partition epoch is known; fetches with old or new
// leader epochs are fenced; flush=sync counts only fsynced data; a rejoining member gets a full lag
// period before it can be judged again; committed ISR changes are reported (isr-changed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { LeaderState } from '../../src/replication/leader-state.ts';
import { ReplicaLog } from '../../src/replication/replica-log.ts';
import type { LeaderAction, PartitionState, ReplicationConfig } from '../../src/replication/types.ts';

const config: ReplicationConfig = { replicaLagTimeMaxMs: 1000, minInsyncReplicas: 2, flushSync: false };
const state: PartitionState = { leader: 1, leaderEpoch: 5, partitionEpoch: 7, replicas: [1, 2, 3], isr: [1, 2, 3] };

function newLeader(overrides: Partial<ReplicationConfig> = {}, partition: PartitionState = state, logEndOffset = 0): { leader: LeaderState; log: ReplicaLog } {
  const log = new ReplicaLog({ logStartOffset: 0, logEndOffset, flushedOffset: logEndOffset, highWatermark: logEndOffset, epochs: logEndOffset > 0 ? [{ epoch: 1, startOffset: 0 }] : [] });
  return { leader: new LeaderState(1, { ...config, ...overrides }, partition, log, 0), log };
}

function fetch(leader: LeaderState, replicaId: number, fetchOffset: number, nowMs: number, lastFetchedEpoch = -1) {
  return leader.onFetch({ replicaId, fetchOffset, currentLeaderEpoch: 5, lastFetchedEpoch }, nowMs);
}

const done = (actions: LeaderAction[]) => actions.filter((action) => action.kind === 'produce-done');

test('the HW is the smallest end offset of the ISR, waits for unknown followers and never goes back', () => {
  const { leader } = newLeader();
  leader.onAppend(10, 0);
  assert.equal(leader.highWatermark, 0, 'followers have not fetched yet');
  fetch(leader, 2, 10, 1);
  assert.equal(leader.highWatermark, 0, 'follower 3 is still unknown');
  const { answer, actions } = fetch(leader, 3, 4, 2);
  assert.equal(leader.highWatermark, 4);
  assert.deepEqual(actions, [{ kind: 'high-watermark', highWatermark: 4 }]);
  assert.equal(answer.readFromOffset, 4);
  assert.equal(answer.readToOffset, 10);
  fetch(leader, 3, 2, 3); // A late, stale fetch lowers what we know of follower 3 but not the HW.
  assert.equal(leader.highWatermark, 4);
});

test('acks=all: refused before the append when the ISR is below min.insync.replicas', () => {
  const { leader } = newLeader({}, { ...state, isr: [1] });
  assert.equal(leader.checkProduce(-1), ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(leader.checkProduce(1), ErrorCode.NONE);
});

test('acks=all completes once the HW passes the batch', () => {
  const { leader } = newLeader();
  assert.equal(leader.checkProduce(-1), ErrorCode.NONE);
  assert.deepEqual(done(leader.onAppend(3, 0, { requestId: 1, acks: -1, timeoutMs: 500 })), []);
  assert.deepEqual(done(fetch(leader, 2, 3, 1).actions), []);
  assert.deepEqual(done(fetch(leader, 3, 3, 2).actions), [{ kind: 'produce-done', requestId: 1, errorCode: ErrorCode.NONE }]);
});

test('acks=all after an ISR shrink below the minimum: NOT_ENOUGH_REPLICAS_AFTER_APPEND once the HW passes', () => {
  const { leader } = newLeader({}, { ...state, isr: [1, 2] });
  leader.onAppend(3, 0, { requestId: 1, acks: -1, timeoutMs: 5000 });
  const shrink = leader.tick(1500).find((action) => action.kind === 'alter-partition');
  assert.ok(shrink !== undefined && shrink.kind === 'alter-partition');
  assert.deepEqual(shrink.request.isr, [1]);
  const actions = leader.onAlterPartitionResult(shrink.request, { errorCode: 0, leaderEpoch: 5, partitionEpoch: 8, isr: [1] });
  assert.deepEqual(done(actions), [{ kind: 'produce-done', requestId: 1, errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND }]);
  assert.equal(leader.highWatermark, 3);
  assert.equal(leader.checkProduce(-1), ErrorCode.NOT_ENOUGH_REPLICAS);
});

test('acks=all times out at its deadline; resigning fails the rest with NOT_LEADER_OR_FOLLOWER', () => {
  const { leader } = newLeader();
  leader.onAppend(1, 0, { requestId: 1, acks: -1, timeoutMs: 100 });
  leader.onAppend(2, 50, { requestId: 2, acks: -1, timeoutMs: 500 });
  assert.deepEqual(done(leader.tick(99)), []);
  assert.deepEqual(done(leader.tick(100)), [{ kind: 'produce-done', requestId: 1, errorCode: ErrorCode.REQUEST_TIMED_OUT }]);
  assert.deepEqual(leader.resign(), [{ kind: 'produce-done', requestId: 2, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }]);
  assert.equal(leader.checkProduce(-1), ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test('flush=sync: the leader counts only its fsynced end, acks=1 waits for the fsync', () => {
  const { leader } = newLeader({ flushSync: true }, { ...state, isr: [1] });
  assert.deepEqual(done(leader.onAppend(5, 0, { requestId: 1, acks: 1, timeoutMs: 500 })), []);
  assert.equal(leader.highWatermark, 0);
  assert.deepEqual(done(leader.onFlushed(5)), [{ kind: 'produce-done', requestId: 1, errorCode: ErrorCode.NONE }]);
  assert.equal(leader.highWatermark, 5);
});

test('a follower not caught up for longer than replica.lag.time.max.ms is proposed out of the ISR', () => {
  const { leader } = newLeader();
  leader.onAppend(10, 0);
  fetch(leader, 2, 10, 100); // caught up at 100
  fetch(leader, 3, 0, 100); // never reaches the end
  assert.deepEqual(leader.tick(1000).filter((action) => action.kind === 'alter-partition'), [], 'ISR members got a full lag period at election');
  const actions = leader.tick(1001);
  assert.deepEqual(actions, [{ kind: 'alter-partition', request: { leaderId: 1, leaderEpoch: 5, partitionEpoch: 7, isr: [1, 2] } }]);
  assert.deepEqual(leader.tick(1200), [], 'one request in flight at a time');
});

test('a follower that reached the leader end as of its previous fetch counts as caught up at that fetch', () => {
  const { leader } = newLeader();
  leader.onAppend(10, 0);
  fetch(leader, 2, 10, 0);
  fetch(leader, 3, 10, 0);
  leader.onAppend(20, 100);
  fetch(leader, 3, 10, 900); // the leader's end is 20 now; 3 is where the leader was at its last fetch
  leader.onAppend(30, 1000);
  fetch(leader, 3, 20, 1400); // reached 20, the leader's end as of the fetch at 900: caught up at 900
  fetch(leader, 2, 30, 1400);
  assert.deepEqual(leader.tick(1900), []);
  assert.deepEqual(leader.tick(1901), [{ kind: 'alter-partition', request: { leaderId: 1, leaderEpoch: 5, partitionEpoch: 7, isr: [1, 2] } }]);
});

test('expansion needs the follower at the HW and at this epoch start; it is proposed on fetch', () => {
  const { leader } = newLeader({}, { ...state, isr: [1, 2] }, 8);
  assert.equal(leader.epochStartOffset, 8);
  leader.onAppend(12, 0);
  fetch(leader, 2, 12, 1);
  assert.equal(leader.highWatermark, 12);
  assert.deepEqual(fetch(leader, 3, 7, 2).actions, []);
  const { actions } = fetch(leader, 3, 12, 3);
  assert.deepEqual(actions, [{ kind: 'alter-partition', request: { leaderId: 1, leaderEpoch: 5, partitionEpoch: 7, isr: [1, 2, 3] } }]);
  assert.deepEqual(leader.maximalIsr(), [1, 2, 3]);
});

test('a member that rejoins gets a full lag period from the fetch that brought it back (no flapping)', () => {
  const { leader } = newLeader({}, { ...state, isr: [1, 2] });
  leader.onAppend(10, 0);
  fetch(leader, 2, 10, 0);
  leader.onAppend(20, 4000);
  fetch(leader, 2, 20, 4000);
  // Follower 3 was never caught up; it reaches the HW at 5000 while the leader's end runs ahead.
  leader.onAppend(30, 5000);
  const { actions } = fetch(leader, 3, 20, 5000);
  const proposal = actions.find((action) => action.kind === 'alter-partition');
  assert.ok(proposal?.kind === 'alter-partition');
  const joined = leader.onAlterPartitionResult(proposal.request, { errorCode: 0, leaderEpoch: 5, partitionEpoch: 8, isr: [1, 2, 3] });
  assert.deepEqual(joined.filter((action) => action.kind === 'isr-changed'), [{ kind: 'isr-changed', isr: [1, 2, 3], expanded: [3], shrunk: [] }]);
  fetch(leader, 2, 30, 5100);
  assert.deepEqual(leader.tick(5200), [], 'not judged against the log end the moment it is back');
  assert.deepEqual(leader.tick(6000), []);
  const shrink = leader.tick(6001);
  assert.deepEqual(shrink, [{ kind: 'alter-partition', request: { leaderId: 1, leaderEpoch: 5, partitionEpoch: 8, isr: [1, 2] } }], 'still lagging a full period later: out');
  const left = leader.onAlterPartitionResult((shrink[0] as Extract<LeaderAction, { kind: 'alter-partition' }>).request, { errorCode: 0, leaderEpoch: 5, partitionEpoch: 9, isr: [1, 2] });
  assert.deepEqual(left.filter((action) => action.kind === 'isr-changed'), [{ kind: 'isr-changed', isr: [1, 2], expanded: [], shrunk: [3] }]);
});

test('a refused expansion keeps the follower in the maximal ISR until a newer partition epoch is known', () => {
  const { leader } = newLeader({}, { ...state, isr: [1, 2] });
  leader.onAppend(5, 0);
  fetch(leader, 2, 5, 1);
  const proposal = fetch(leader, 3, 5, 2).actions.find((action) => action.kind === 'alter-partition');
  assert.ok(proposal !== undefined && proposal.kind === 'alter-partition');
  leader.onAlterPartitionResult(proposal.request, { errorCode: ErrorCode.INELIGIBLE_REPLICA });
  leader.onAppend(9, 3);
  fetch(leader, 2, 9, 4);
  assert.equal(leader.highWatermark, 5, 'another copy of the request may still apply: wait for follower 3');
  // Follower 3 lags: the leader proposes the committed ISR unchanged to move the partition epoch on.
  const confirm = leader.tick(2000).find((action) => action.kind === 'alter-partition');
  assert.ok(confirm !== undefined && confirm.kind === 'alter-partition');
  assert.deepEqual(confirm.request.isr, [1, 2]);
  leader.onAlterPartitionResult(confirm.request, { errorCode: 0, leaderEpoch: 5, partitionEpoch: 8, isr: [1, 2] });
  assert.equal(leader.highWatermark, 9);
  assert.deepEqual(leader.maximalIsr(), [1, 2]);
});

test('metadata with a newer partition epoch replaces the committed ISR and settles the pending request', () => {
  const { leader } = newLeader();
  leader.onAppend(5, 0);
  leader.tick(2000);
  assert.ok(leader.pendingAlterPartition !== undefined);
  assert.deepEqual(leader.onPartitionState({ ...state, partitionEpoch: 6, isr: [1] }), [], 'older partition epoch ignored');
  leader.onPartitionState({ ...state, partitionEpoch: 9, isr: [1] });
  assert.equal(leader.pendingAlterPartition, undefined);
  assert.deepEqual(leader.committedIsr, [1]);
  assert.equal(leader.highWatermark, 5);
});

test('fetches are fenced by leader epoch (KIP-320) and checked for divergence (lastFetchedEpoch)', () => {
  const log = new ReplicaLog({ logStartOffset: 0, logEndOffset: 20, flushedOffset: 20, highWatermark: 10, epochs: [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }] });
  const leader = new LeaderState(1, config, state, log, 0);
  const answer = (currentLeaderEpoch: number, fetchOffset: number, lastFetchedEpoch: number) =>
    leader.onFetch({ replicaId: 2, fetchOffset, currentLeaderEpoch, lastFetchedEpoch }, 1).answer;
  assert.equal(answer(4, 20, 3).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(answer(6, 20, 3).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  assert.deepEqual(answer(5, 14, 2).divergingEpoch, { epoch: 1, endOffset: 10 }, 'epoch 2 never existed here: epoch 1 ends at 10');
  assert.deepEqual(answer(5, 25, 5).divergingEpoch, { epoch: 5, endOffset: 20 }, 'the current epoch ends at the log end');
  assert.equal(answer(5, 25, -1).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  assert.equal(leader.followerLogEndOffset(2), -1, 'diverging or refused fetches do not count');
  assert.equal(answer(5, 15, 3).divergingEpoch, undefined);
  assert.equal(leader.followerLogEndOffset(2), 15);
  assert.deepEqual(leader.onOffsetForLeaderEpoch(5, 1), { errorCode: 0, epoch: 1, endOffset: 10 });
  assert.equal(leader.onOffsetForLeaderEpoch(4, 1).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
});
