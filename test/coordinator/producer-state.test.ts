// Proves idempotent-producer checks of a partition: a retry of any of a producer's last 5 batches
// is answered with its original offsets and not appended, the 6th-oldest is not recognised
// (OUT_OF_ORDER_SEQUENCE_NUMBER), a gap is 45, an older epoch is 47, a new epoch must start at 0,
// unknown producers follow Kafka >= 2.5 (or the strict rule, 59), sequences wrap at int32 max;
// and the state survives snapshot/restore and rebuild from log batch headers unchanged.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../../src/coordinator/binary.ts';
import { ErrorCode } from '../../src/coordinator/error-codes.ts';
import { PartitionProducerState, lastSequenceOf } from '../../src/coordinator/producer-state.ts';
import type { LogBatchHeader, ProducerBatch } from '../../src/coordinator/producer-state.ts';

/** A partition log that appends through the producer state, like a leader would. */
class FakePartition {
  readonly state = new PartitionProducerState();
  readonly headers: LogBatchHeader[] = [];
  nextOffset = 0;

  produce(batch: ProducerBatch, recordCount: number, timestampMs = 1000) {
    const verdict = this.state.check(batch);
    if (verdict.kind !== 'append') return verdict;
    const baseOffset = this.nextOffset;
    const lastOffset = baseOffset + recordCount - 1;
    this.nextOffset = lastOffset + 1;
    this.state.record(batch, baseOffset, lastOffset, timestampMs);
    this.headers.push({
      baseOffset,
      lastOffsetDelta: recordCount - 1,
      producerId: batch.producerId,
      producerEpoch: batch.producerEpoch,
      baseSequence: batch.baseSequence,
      maxTimestamp: timestampMs,
      isTransactional: batch.isTransactional,
      isControl: false,
    });
    return { kind: 'appended' as const, baseOffset, lastOffset };
  }
}

function batch(producerId: number, producerEpoch: number, baseSequence: number, recordCount: number): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, lastSequence: lastSequenceOf(baseSequence, recordCount), isTransactional: false };
}

/** Sends `count` batches of 2 records each for producer 7, epoch 0; returns their offsets. */
function sendBatches(partition: FakePartition, count: number): { baseOffset: number; lastOffset: number }[] {
  const offsets = [];
  for (let index = 0; index < count; index++) {
    const result = partition.produce(batch(7, 0, index * 2, 2), 2);
    assert.equal(result.kind, 'appended');
    offsets.push(result as { baseOffset: number; lastOffset: number });
  }
  return offsets;
}

describe('checking batches', () => {
  it('recognises a retry of each of the last 5 batches with its original offsets', () => {
    const partition = new FakePartition();
    const offsets = sendBatches(partition, 7);
    for (let index = 2; index < 7; index++) {
      const verdict = partition.state.check(batch(7, 0, index * 2, 2));
      assert.deepEqual(verdict, { kind: 'duplicate', baseOffset: offsets[index]!.baseOffset, lastOffset: offsets[index]!.lastOffset });
    }
    const sixthOldest = partition.state.check(batch(7, 0, 2, 2));
    assert.equal(sixthOldest.kind, 'error');
    assert.equal(sixthOldest.kind === 'error' && sixthOldest.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(partition.nextOffset, 14, 'nothing was appended twice');
  });

  it('refuses a gap with OUT_OF_ORDER_SEQUENCE_NUMBER and accepts the next sequence', () => {
    const partition = new FakePartition();
    sendBatches(partition, 2);
    const gap = partition.state.check(batch(7, 0, 5, 1));
    assert.equal(gap.kind === 'error' && gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.deepEqual(partition.state.check(batch(7, 0, 4, 1)), { kind: 'append' });
  });

  it('refuses an older epoch with INVALID_PRODUCER_EPOCH', () => {
    const partition = new FakePartition();
    partition.produce(batch(7, 3, 0, 1), 1);
    const stale = partition.state.check(batch(7, 2, 1, 1));
    assert.equal(stale.kind === 'error' && stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('requires a new epoch to start at sequence 0, and forgets the old epoch’s batches', () => {
    const partition = new FakePartition();
    sendBatches(partition, 3);
    const badStart = partition.state.check(batch(7, 1, 6, 1));
    assert.equal(badStart.kind === 'error' && badStart.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(partition.produce(batch(7, 1, 0, 2), 2).kind, 'appended');
    assert.equal(partition.state.entry(7)?.batches.length, 1);
    assert.equal(partition.state.check(batch(7, 0, 0, 2)).kind, 'error', 'the old epoch is fenced');
  });

  it('accepts an unknown producer at any sequence (Kafka >= 2.5), or refuses it with UNKNOWN_PRODUCER_ID when strict', () => {
    assert.deepEqual(new PartitionProducerState().check(batch(9, 0, 17, 1)), { kind: 'append' });
    const strict = new PartitionProducerState({ unknownProducer: 'reject' });
    const verdict = strict.check(batch(9, 0, 17, 1));
    assert.equal(verdict.kind === 'error' && verdict.errorCode, ErrorCode.UNKNOWN_PRODUCER_ID);
    assert.deepEqual(strict.check(batch(9, 0, 0, 1)), { kind: 'append' });
  });

  it('lets batches without a producer id through untouched', () => {
    const partition = new FakePartition();
    assert.equal(partition.produce(batch(-1, -1, -1, 3), 3).kind, 'appended');
    assert.equal(partition.state.producerCount, 0);
    assert.equal(partition.state.endOffset, 3);
  });

  it('wraps sequences from int32 max to 0', () => {
    assert.equal(lastSequenceOf(0x7fffffff - 1, 3), 0);
    assert.equal(lastSequenceOf(0x7fffffff, 1), 0x7fffffff);
    assert.equal(lastSequenceOf(5, 1), 5);
    const partition = new FakePartition();
    partition.produce(batch(7, 0, 0x7fffffff - 1, 3), 3);
    assert.deepEqual(partition.state.check(batch(7, 0, 1, 1)), { kind: 'append' });
    const atMax = new FakePartition();
    atMax.produce(batch(7, 0, 0x7fffffff, 1), 1);
    assert.deepEqual(atMax.state.check(batch(7, 0, 0, 1)), { kind: 'append' });
  });
});

describe('persistence', () => {
  function busyPartition(): FakePartition {
    const partition = new FakePartition();
    for (let index = 0; index < 8; index++) {
      partition.produce(batch(1, 0, index, 1), 1, 1000 + index);
      partition.produce(batch(2, 4, index * 3, 3), 3, 2000 + index);
      if (index % 3 === 0) partition.produce(batch(-1, -1, -1, 2), 2, 3000);
    }
    partition.produce(batch(3, 0, 0, 1), 1, 5000);
    return partition;
  }

  it('snapshot and restore give back the same state', () => {
    const partition = busyPartition();
    const restored = new PartitionProducerState();
    restored.restore(partition.state.snapshot());
    assert.deepEqual(restored.entries(), partition.state.entries());
    assert.equal(restored.endOffset, partition.state.endOffset);
    assert.deepEqual(restored.snapshot(), partition.state.snapshot(), 'the encoding is deterministic');
  });

  it('refuses a damaged snapshot and leaves the state as it was', () => {
    const snapshot = busyPartition().state.snapshot();
    const state = new PartitionProducerState();
    for (const position of [0, 3, 10, snapshot.length - 1]) {
      const damaged = Buffer.from(snapshot);
      damaged[position] = damaged[position]! ^ 0x40;
      assert.throws(() => state.restore(damaged), DecodeError);
    }
    assert.throws(() => state.restore(snapshot.subarray(0, snapshot.length - 4)), DecodeError);
    assert.equal(state.producerCount, 0);
  });

  it('rebuilding from the log gives the same state, from the start or from a snapshot', () => {
    const partition = busyPartition();
    const rebuilt = new PartitionProducerState();
    rebuilt.rebuildFrom(partition.headers);
    assert.deepEqual(rebuilt.entries(), partition.state.entries());
    assert.equal(rebuilt.endOffset, partition.state.endOffset);

    const half = partition.headers.length >> 1;
    const early = new PartitionProducerState();
    early.rebuildFrom(partition.headers.slice(0, half));
    const resumed = new PartitionProducerState();
    resumed.restore(early.snapshot());
    resumed.rebuildFrom(partition.headers);
    assert.deepEqual(resumed.entries(), partition.state.entries(), 'batches before the snapshot offset are skipped');
  });

  it('truncation forgets batches at and after the offset', () => {
    const partition = new FakePartition();
    const offsets = sendBatches(partition, 4);
    partition.state.truncateTo(offsets[2]!.baseOffset);
    assert.equal(partition.state.endOffset, offsets[2]!.baseOffset);
    assert.deepEqual(partition.state.entry(7)?.batches.map((kept) => kept.firstSequence), [0, 2]);
    assert.deepEqual(partition.state.check(batch(7, 0, 4, 2)), { kind: 'append' }, 'the truncated batch may be appended again');
    partition.state.truncateTo(0);
    assert.equal(partition.state.producerCount, 0);
  });

  it('expires producers silent for producer.id.expiration.ms', () => {
    const state = new PartitionProducerState({ producerIdExpirationMs: 1000 });
    state.record(batch(1, 0, 0, 1), 0, 0, 5000);
    state.record(batch(2, 0, 0, 1), 1, 1, 5500);
    assert.equal(state.expireProducers(5999), 0);
    assert.equal(state.expireProducers(6000), 1);
    assert.deepEqual(state.entries().map((entry) => entry.producerId), [2]);
  });
});
