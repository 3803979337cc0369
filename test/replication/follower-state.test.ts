// Proves the follower side truncates by leader epoch, not by its own HW (KIP-101), including the
// KIP-279 case of an epoch the follower never saw (several rounds), then fetches from its end with
// the epoch of its last batch, truncates on a diverging-epoch answer, keeps its HW at
// min(leader HW, own end) without going back, waits for the fsync before fetching again with
// flush=sync, and ignores stale answers. Below the leader's log start it starts over there, and it
// follows the leader's log start forward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { FollowerState } from '../../src/replication/follower-state.ts';
import type { FetchRequest, FollowerRequest, OffsetForLeaderEpochRequest } from '../../src/replication/follower-state.ts';
import { ReplicaLog } from '../../src/replication/replica-log.ts';
import type { EpochEntry } from '../../src/storage/epoch-history.ts';
import type { ReplicaFetchAnswer, ReplicationConfig } from '../../src/replication/types.ts';

const config: ReplicationConfig = { replicaLagTimeMaxMs: 1000, minInsyncReplicas: 2, flushSync: false };

function follower(epochs: EpochEntry[], logEndOffset: number, highWatermark: number, overrides: Partial<ReplicationConfig> = {}) {
  const log = new ReplicaLog({ logStartOffset: 0, logEndOffset, flushedOffset: logEndOffset, highWatermark, epochs });
  return { state: new FollowerState(2, 1, 5, { ...config, ...overrides }, log), log };
}

function asEpochQuery(request: FollowerRequest | undefined): OffsetForLeaderEpochRequest {
  assert.ok(request !== undefined && request.kind === 'offset-for-leader-epoch', `expected an epoch query, got ${JSON.stringify(request)}`);
  return request;
}

function asFetch(request: FollowerRequest | undefined): FetchRequest {
  assert.ok(request !== undefined && request.kind === 'fetch', `expected a fetch, got ${JSON.stringify(request)}`);
  return request;
}

const fetched = (overrides: Partial<ReplicaFetchAnswer>): ReplicaFetchAnswer => ({
  errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 0, readFromOffset: 0, readToOffset: 0, ...overrides,
});

test('KIP-101: a follower whose HW lags keeps records the leader has (no truncation to the HW)', () => {
  const { state, log } = follower([{ epoch: 1, startOffset: 0 }], 3, 1);
  const query = asEpochQuery(state.nextRequest());
  assert.deepEqual(query, { kind: 'offset-for-leader-epoch', leaderId: 1, currentLeaderEpoch: 5, requestedEpoch: 1 });
  assert.deepEqual(state.onOffsetForLeaderEpochAnswer(query, { errorCode: 0, epoch: 1, endOffset: 3 }), []);
  assert.equal(log.logEndOffset, 3);
  assert.equal(asFetch(state.nextRequest()).request.fetchOffset, 3);
});

test('a divergent tail written by an old leader is cut where the leader says the epoch ended', () => {
  const { state, log } = follower([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 5 }], 8, 5);
  const query = asEpochQuery(state.nextRequest());
  assert.equal(query.requestedEpoch, 2);
  // The leader never had epoch 2: KIP-279 answers with epoch 1, which ends at 5 there.
  assert.deepEqual(state.onOffsetForLeaderEpochAnswer(query, { errorCode: 0, epoch: 1, endOffset: 5 }), [{ kind: 'truncate', endOffset: 5 }]);
  assert.equal(log.logEndOffset, 5);
  assert.deepEqual(log.epochs.list(), [{ epoch: 1, startOffset: 0 }]);
  assert.ok(state.isFetching);
});

test('KIP-279: an epoch the follower lacks means truncate to its own end for it, then ask again', () => {
  const { state, log } = follower([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 4 }, { epoch: 4, startOffset: 6 }], 9, 4);
  const first = asEpochQuery(state.nextRequest());
  assert.equal(first.requestedEpoch, 4);
  // Leader history: 1@0, 3@4, 5@10. Largest epoch <= 4 is 3, which ends at 10.
  assert.deepEqual(state.onOffsetForLeaderEpochAnswer(first, { errorCode: 0, epoch: 3, endOffset: 10 }), [{ kind: 'truncate', endOffset: 6 }]);
  assert.ok(!state.isFetching);
  const second = asEpochQuery(state.nextRequest());
  assert.equal(second.requestedEpoch, 2);
  assert.deepEqual(state.onOffsetForLeaderEpochAnswer(second, { errorCode: 0, epoch: 1, endOffset: 4 }), [{ kind: 'truncate', endOffset: 4 }]);
  assert.ok(state.isFetching);
  assert.equal(log.logEndOffset, 4);
});

test('an epoch that wrote nothing is dropped from the history even without cutting records', () => {
  const { state, log } = follower([{ epoch: 1, startOffset: 0 }], 6, 6);
  log.epochs.assign(4, 6); // it led epoch 4 without writing, then lost leadership (no restart in between)
  const query = asEpochQuery(state.nextRequest());
  assert.deepEqual(state.onOffsetForLeaderEpochAnswer(query, { errorCode: 0, epoch: 3, endOffset: 9 }), [{ kind: 'truncate', endOffset: 6 }]);
  assert.equal(log.epochs.latestEpoch(), 1);
  assert.equal(asEpochQuery(state.nextRequest()).requestedEpoch, 1);
});

test('epoch errors and stale answers change nothing', () => {
  const { state, log } = follower([{ epoch: 1, startOffset: 0 }], 3, 0);
  const query = asEpochQuery(state.nextRequest());
  assert.deepEqual(state.onOffsetForLeaderEpochAnswer(query, { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, epoch: -1, endOffset: -1 }), []);
  assert.ok(!state.isFetching);
  assert.deepEqual(state.onOffsetForLeaderEpochAnswer({ ...query, requestedEpoch: 0 }, { errorCode: 0, epoch: 0, endOffset: 0 }), []);
  assert.equal(log.logEndOffset, 3);
});

test('fetching appends in order, moves the HW to min(leader HW, own end) and never back', () => {
  const { state, log } = follower([], 0, 0, { truncateOnFetch: true });
  const request = asFetch(state.nextRequest());
  assert.deepEqual(request.request, { replicaId: 2, fetchOffset: 0, currentLeaderEpoch: 5, lastFetchedEpoch: -1 });
  const effects = state.onFetchAnswer(request, fetched({ highWatermark: 7, logEndOffset: 10, readToOffset: 3 }), [{ nextOffset: 2, epoch: 3 }, { nextOffset: 3, epoch: 5 }]);
  assert.deepEqual(effects, [{ kind: 'append', fromOffset: 0, toOffset: 3 }, { kind: 'high-watermark', highWatermark: 3 }]);
  assert.deepEqual(log.epochs.list(), [{ epoch: 3, startOffset: 0 }, { epoch: 5, startOffset: 2 }]);
  const next = asFetch(state.nextRequest());
  assert.equal(next.request.lastFetchedEpoch, 5);
  assert.deepEqual(state.onFetchAnswer(next, fetched({ highWatermark: 1, readFromOffset: 3, readToOffset: 3 }), []), [], 'a lower leader HW does not move ours back');
  assert.equal(state.highWatermark, 3);
  assert.deepEqual(state.onFetchAnswer(request, fetched({ highWatermark: 9 }), [{ nextOffset: 9, epoch: 5 }]), [], 'an answer to an old request is ignored');
});

test('a diverging-epoch answer truncates and the next fetch starts from the cut', () => {
  const { state, log } = follower([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 5 }], 8, 5, { truncateOnFetch: true });
  const request = asFetch(state.nextRequest());
  const effects = state.onFetchAnswer(request, fetched({ readFromOffset: 8, readToOffset: 8, divergingEpoch: { epoch: 1, endOffset: 6 } }), []);
  assert.deepEqual(effects, [{ kind: 'truncate', endOffset: 5 }], 'our epoch 1 ends at 5, before the leader says');
  assert.equal(log.logEndOffset, 5);
  assert.equal(asFetch(state.nextRequest()).request.fetchOffset, 5);
});

test('OFFSET_OUT_OF_RANGE sends the follower back to find its truncation point', () => {
  const { state } = follower([{ epoch: 1, startOffset: 0 }], 3, 0, { truncateOnFetch: true });
  const request = asFetch(state.nextRequest());
  state.onFetchAnswer(request, fetched({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE }), []);
  assert.equal(asEpochQuery(state.nextRequest()).requestedEpoch, 1);
});

test('OFFSET_OUT_OF_RANGE below the leader\'s log start: the follower empties its log and fetches from that start', () => {
  const { state, log } = follower([{ epoch: 1, startOffset: 0 }], 3, 2, { flushSync: true, truncateOnFetch: true });
  const request = asFetch(state.nextRequest());
  const effects = state.onFetchAnswer(request, fetched({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: 40, highWatermark: 90 }), []);
  assert.deepEqual(effects, [{ kind: 'restart', offset: 40 }]);
  assert.deepEqual([log.logStartOffset, log.logEndOffset, log.flushedOffset, log.highWatermark, log.epochs.list()], [40, 40, 40, 40, []]);
  const next = asFetch(state.nextRequest());
  assert.deepEqual([next.request.fetchOffset, next.request.lastFetchedEpoch], [40, -1], 'no epoch to check against: nothing left from before');
  const appended = state.onFetchAnswer(next, fetched({ highWatermark: 90, logStartOffset: 40, readFromOffset: 40, readToOffset: 45 }), [{ nextOffset: 45, epoch: 5 }]);
  assert.deepEqual(appended, [{ kind: 'append', fromOffset: 40, toOffset: 45 }, { kind: 'high-watermark', highWatermark: 45 }]);
});

test('the leader\'s log start moving (retention, DeleteRecords) moves ours, never past our end', () => {
  const { state, log } = follower([{ epoch: 1, startOffset: 0 }], 10, 10, { truncateOnFetch: true });
  const first = asFetch(state.nextRequest());
  assert.deepEqual(state.onFetchAnswer(first, fetched({ highWatermark: 20, logStartOffset: 6, readFromOffset: 10, readToOffset: 12 }), [{ nextOffset: 12, epoch: 1 }]),
    [{ kind: 'append', fromOffset: 10, toOffset: 12 }, { kind: 'high-watermark', highWatermark: 12 }, { kind: 'log-start', offset: 6 }]);
  assert.deepEqual(log.epochs.list(), [{ epoch: 1, startOffset: 6 }]);
  const second = asFetch(state.nextRequest());
  assert.deepEqual(state.onFetchAnswer(second, fetched({ highWatermark: 20, logStartOffset: 18, readFromOffset: 12, readToOffset: 12 }), []),
    [{ kind: 'log-start', offset: 12 }], 'at most our end, which is also our HW');
  assert.deepEqual([log.logStartOffset, log.logEndOffset, log.highWatermark], [12, 12, 12]);
  assert.deepEqual(state.onFetchAnswer(asFetch(state.nextRequest()), fetched({ highWatermark: 20, logStartOffset: 3, readFromOffset: 12, readToOffset: 12 }), []), [], 'never backwards');
});

test('flush=sync: no fetch until what was appended is fsynced, so the fetch offset is durable', () => {
  const { state } = follower([], 0, 0, { flushSync: true, truncateOnFetch: true });
  const request = asFetch(state.nextRequest());
  state.onFetchAnswer(request, fetched({ highWatermark: 0, readToOffset: 4 }), [{ nextOffset: 4, epoch: 5 }]);
  assert.equal(state.nextRequest(), undefined);
  state.onFlushed(4);
  assert.equal(asFetch(state.nextRequest()).request.fetchOffset, 4);
});
