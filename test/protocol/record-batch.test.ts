// Proves the zero-copy batch header view reads every v2 field, that validateBatches answers each
// kind of bad producer input with the Kafka error Kafka would use (and accepts good input), and
// that offset assignment and LogAppendTime stamping keep the batch CRC-valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import {
  assignOffsets, BatchErrorCode, iterateBatches, RecordBatchView, setLogAppendTime, validateBatches, BatchField,
} from '../../src/protocol/record-batch.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';

const limits = { maxBatchBytes: 1048588 };

function sampleBatch(overrides: Partial<Parameters<typeof buildRecordBatchSync>[0]> = {}): Buffer {
  return buildRecordBatchSync({
    records: [{ key: 'a', value: 'one', timestamp: 1_700_000_000_000 }, { key: 'b', value: 'two', timestamp: 1_700_000_000_500 }],
    producerId: 42, producerEpoch: 3, baseSequence: 7, ...overrides,
  });
}

function recrc(buf: Buffer, position = 0): void {
  const view = new RecordBatchView(buf, position);
  buf.writeUInt32BE(crc32c(buf.subarray(position + BatchField.ATTRIBUTES, position + view.sizeBytes)), position + BatchField.CRC);
}

test('the view reads every header field', () => {
  const buf = sampleBatch({ baseOffset: 5_000_000_000, partitionLeaderEpoch: 9, transactional: true, compression: 1 });
  const view = new RecordBatchView(buf, 0);
  assert.equal(view.baseOffset, 5_000_000_000);
  assert.equal(view.sizeBytes, buf.length);
  assert.equal(view.batchLength, buf.length - 12);
  assert.equal(view.partitionLeaderEpoch, 9);
  assert.equal(view.magic, 2);
  assert.equal(view.compression, 1);
  assert.equal(view.isTransactional, true);
  assert.equal(view.isControl, false);
  assert.equal(view.isLogAppendTime, false);
  assert.equal(view.lastOffsetDelta, 1);
  assert.equal(view.lastOffset, 5_000_000_001);
  assert.equal(view.baseTimestamp, 1_700_000_000_000);
  assert.equal(view.maxTimestamp, 1_700_000_000_500);
  assert.equal(view.producerId, 42);
  assert.equal(view.producerEpoch, 3);
  assert.equal(view.baseSequence, 7);
  assert.equal(view.recordCount, 2);
  assert.equal(view.isCrcValid(), true);
});

test('negative int64 sentinels read back as -1', () => {
  const view = new RecordBatchView(sampleBatch({ producerId: -1, producerEpoch: -1, baseSequence: -1 }), 0);
  assert.equal(view.producerId, -1);
  assert.equal(view.producerEpoch, -1);
  assert.equal(view.baseSequence, -1);
});

test('validateBatches accepts several good batches and counts their records', () => {
  const set = Buffer.concat([sampleBatch(), sampleBatch({ records: [{ value: 'x' }], producerId: -1 })]);
  const result = validateBatches(set, limits);
  assert.equal(result.ok, true);
  if (result.ok) {
    assert.equal(result.batches.length, 2);
    assert.equal(result.recordCount, 3);
    assert.equal(result.batches[1]!.position, sampleBatch().length);
  }
});

function expectError(buf: Buffer, code: number, options = limits): void {
  const result = validateBatches(buf, options);
  assert.equal(result.ok, false, 'expected a rejection');
  if (!result.ok) assert.equal(result.errorCode, code, result.message);
}

test('empty record set is INVALID_RECORD', () => {
  expectError(Buffer.alloc(0), BatchErrorCode.INVALID_RECORD);
});

test('bad length, truncation and CRC mismatch are CORRUPT_MESSAGE', () => {
  const good = sampleBatch();
  expectError(good.subarray(0, 10), BatchErrorCode.CORRUPT_MESSAGE);
  expectError(good.subarray(0, good.length - 1), BatchErrorCode.CORRUPT_MESSAGE);
  const shortLength = Buffer.from(good);
  shortLength.writeInt32BE(20, BatchField.BATCH_LENGTH);
  expectError(shortLength, BatchErrorCode.CORRUPT_MESSAGE);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1]! ^= 0x40;
  expectError(flipped, BatchErrorCode.CORRUPT_MESSAGE);
  expectError(Buffer.concat([good, Buffer.from([1, 2, 3])]), BatchErrorCode.CORRUPT_MESSAGE);
});

test('magic other than 2 is UNSUPPORTED_FOR_MESSAGE_FORMAT', () => {
  const old = sampleBatch();
  old.writeInt8(1, BatchField.MAGIC);
  expectError(old, BatchErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
});

test('a batch above maxBatchBytes is MESSAGE_TOO_LARGE', () => {
  const big = buildRecordBatchSync({ records: [{ value: Buffer.alloc(2000) }] });
  expectError(big, BatchErrorCode.MESSAGE_TOO_LARGE, { maxBatchBytes: 1000 });
});

test('record count inconsistent with lastOffsetDelta is INVALID_RECORD for producer input only', () => {
  const mismatched = sampleBatch();
  mismatched.writeInt32BE(5, BatchField.LAST_OFFSET_DELTA);
  recrc(mismatched);
  expectError(mismatched, BatchErrorCode.INVALID_RECORD);
  assert.equal(validateBatches(mismatched, { ...limits, producerInput: false }).ok, true, 'a compacted batch from another log may have gaps');
  const negative = sampleBatch();
  negative.writeInt32BE(-1, BatchField.RECORD_COUNT);
  recrc(negative);
  expectError(negative, BatchErrorCode.INVALID_RECORD, { ...limits, producerInput: false } as typeof limits);
  expectError(buildRecordBatchSync({ records: [] }), BatchErrorCode.INVALID_RECORD);
});

test('control batches and idempotent batches without a sequence are INVALID_RECORD', () => {
  expectError(sampleBatch({ control: true }), BatchErrorCode.INVALID_RECORD);
  expectError(sampleBatch({ producerId: 5, baseSequence: -1 }), BatchErrorCode.INVALID_RECORD);
});

test('unknown compression codec is UNSUPPORTED_COMPRESSION_TYPE', () => {
  const weird = sampleBatch();
  weird.writeInt16BE(5, BatchField.ATTRIBUTES);
  recrc(weird);
  expectError(weird, BatchErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
});

test('requireSingleBatch refuses two batches', () => {
  expectError(Buffer.concat([sampleBatch(), sampleBatch()]), BatchErrorCode.INVALID_RECORD, { ...limits, requireSingleBatch: true } as typeof limits);
});

test('assignOffsets rewrites offset and epoch without breaking the CRC', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 52 }), fc.integer({ min: -1, max: 2 ** 31 - 1 }), (offset, epoch) => {
    const buf = sampleBatch();
    const view = new RecordBatchView(buf, 0);
    const last = assignOffsets(view, offset, epoch);
    assert.equal(last, offset + 1);
    assert.equal(view.baseOffset, offset);
    assert.equal(view.partitionLeaderEpoch, epoch);
    assert.equal(view.isCrcValid(), true);
  }));
});

test('setLogAppendTime stamps maxTimestamp and the type bit and recomputes the CRC', () => {
  const view = new RecordBatchView(sampleBatch(), 0);
  setLogAppendTime(view, 1_800_000_000_000);
  assert.equal(view.isLogAppendTime, true);
  assert.equal(view.maxTimestamp, 1_800_000_000_000);
  assert.equal(view.isCrcValid(), true);
});

test('iterateBatches skips a truncated trailing batch (fetch responses may end mid-batch)', () => {
  const one = sampleBatch();
  const set = Buffer.concat([one, one, one.subarray(0, 30)]);
  assert.equal([...iterateBatches(set)].length, 2);
});

test('validateBatches never throws on arbitrary bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const result = validateBatches(Buffer.from(bytes), limits);
    assert.equal(typeof result.ok, 'boolean');
  }));
});
