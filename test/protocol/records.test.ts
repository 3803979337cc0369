// Proves records survive buildRecordBatch -> decodeBatchRecords with every codec (keys, values,
// nulls, headers, timestamps, offsets); that decoding refuses any length reaching past its bytes
// (and fails only with RecordDecodeError on arbitrary damage); and that the codecs interoperate
// with the framings clients use (xerial snappy, lz4 frames, zstd frames without a declared size)
// while every decompression stops at its output cap instead of allocating a bomb's output.
// (Compression tests live here because compression.ts only exists to serve record blocks.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import snappy from 'snappy';
import lz4 from 'lz4-napi';
import { RecordBatchView } from '../../src/protocol/record-batch.ts';
import {
  buildRecordBatch, buildRecordBatchSync, decodeBatchRecords, decodeBatchRecordsSync, decodeRecordsBlock, RecordDecodeError,
} from '../../src/protocol/records.ts';
import {
  compress, CompressionCodec, CompressionError, decompress, decompressSync, initCompression, isXerialSnappy, lz4FrameOutputBound,
  xerialSnappyFrame, zstdDeclaredSize,
} from '../../src/protocol/compression.ts';
import { ByteCursor, VarintError, varintSize, writeVarint } from '../../src/protocol/varint-buffer.ts';

const codecs = [CompressionCodec.NONE, CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4, CompressionCodec.ZSTD];

const sampleRecords = [
  { key: 'k1', value: 'hello', timestamp: 1_700_000_000_000, headers: [{ key: 'trace', value: 'abc' }, { key: 'none', value: null }] },
  { key: null, value: null, timestamp: 1_699_999_999_000 },
  { key: Buffer.alloc(0), value: Buffer.alloc(3000, 7), timestamp: 1_700_000_000_123 },
];

test('records round-trip through every codec', async () => {
  for (const compression of codecs) {
    const buf = await buildRecordBatch({ baseOffset: 100, records: sampleRecords, compression });
    const view = new RecordBatchView(buf, 0);
    assert.equal(view.compression, compression);
    assert.equal(view.isCrcValid(), true);
    assert.equal(view.maxTimestamp, 1_700_000_000_123);
    const records = await decodeBatchRecords(view);
    assert.equal(records.length, 3, `codec ${compression}`);
    assert.deepEqual(records.map((record) => record.offset), [100, 101, 102]);
    assert.deepEqual(records.map((record) => record.timestamp), [1_700_000_000_000, 1_699_999_999_000, 1_700_000_000_123]);
    assert.equal(records[0]!.key!.toString(), 'k1');
    assert.equal(records[0]!.value!.toString(), 'hello');
    assert.deepEqual(records[0]!.headers.map((header) => [header.key, header.value?.toString() ?? null]), [['trace', 'abc'], ['none', null]]);
    assert.equal(records[1]!.key, null);
    assert.equal(records[1]!.value, null);
    assert.equal(records[2]!.key!.length, 0);
    assert.deepEqual(records[2]!.value, Buffer.alloc(3000, 7));
  }
});

test('sync build and decode agree with the async ones', async () => {
  await initCompression();
  for (const compression of codecs) {
    const buf = buildRecordBatchSync({ records: sampleRecords, compression, timestamp: 1_700_000_000_000 });
    const records = decodeBatchRecordsSync(new RecordBatchView(buf, 0));
    assert.equal(records.length, 3);
    assert.equal(records[2]!.value!.length, 3000);
  }
});

test('LogAppendTime batches report maxTimestamp for every record', () => {
  const buf = buildRecordBatchSync({ records: [{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }], logAppendTimeMs: 5000 });
  const records = decodeBatchRecordsSync(new RecordBatchView(buf, 0));
  assert.deepEqual(records.map((record) => record.timestamp), [5000, 5000]);
});

test('random records round-trip exactly', () => {
  const recordArb = fc.record({
    key: fc.option(fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)), { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)), { nil: null }),
    timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    headers: fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)), { nil: null }) }), { maxLength: 3 }),
  });
  fc.assert(fc.property(fc.array(recordArb, { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 2 ** 50 }), (records, baseOffset) => {
    const decoded = decodeBatchRecordsSync(new RecordBatchView(buildRecordBatchSync({ baseOffset, records }), 0));
    assert.equal(decoded.length, records.length);
    decoded.forEach((record, index) => {
      const input = records[index]!;
      assert.equal(record.offset, baseOffset + index);
      assert.equal(record.timestamp, input.timestamp);
      assert.deepEqual(record.key, input.key);
      assert.deepEqual(record.value, input.value);
      assert.deepEqual(record.headers.map((header) => header.key), input.headers.map((header) => header.key));
      assert.deepEqual(record.headers.map((header) => header.value), input.headers.map((header) => header.value));
    });
  }), { numRuns: 200 });
});

function blockOf(buf: Buffer): { block: Buffer; view: RecordBatchView } {
  const view = new RecordBatchView(buf, 0);
  return { block: view.recordsBytes(), view };
}

test('decoding refuses lengths that reach past the bytes', () => {
  const { block, view } = blockOf(buildRecordBatchSync({ records: [{ key: 'key', value: 'value', headers: [{ key: 'h', value: 'v' }] }] }));
  // Record layout: [length][attr][tsDelta][offsetDelta][keyLen=3]key[valueLen=5]value[1 header]...
  const longRecord = Buffer.from(block);
  longRecord[0] = 126; // zigzag 63: more than the block holds
  assert.throws(() => decodeRecordsBlock(longRecord, view), RecordDecodeError);
  const longKey = Buffer.from(block);
  longKey[4] = 2 * 60; // key length 60 inside a ~20-byte record
  assert.throws(() => decodeRecordsBlock(longKey, view), RecordDecodeError);
  const truncated = block.subarray(0, block.length - 1);
  assert.throws(() => decodeRecordsBlock(truncated, view), RecordDecodeError);
  const extra = Buffer.concat([block, Buffer.from([0])]);
  assert.throws(() => decodeRecordsBlock(extra, view), RecordDecodeError);
  assert.throws(() => decodeRecordsBlock(block, { ...view, baseOffset: 0, baseTimestamp: 0, maxTimestamp: 0, isLogAppendTime: false, recordCount: 1_000_000 }), RecordDecodeError);
});

test('damaged record blocks fail only with RecordDecodeError', () => {
  const { block, view } = blockOf(buildRecordBatchSync({ records: sampleRecords.slice(0, 2) }));
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (flips, cut) => {
    const damaged = Buffer.from(block.subarray(0, Math.max(1, block.length - (cut % 4))));
    for (const [at, mask] of flips) damaged[at % damaged.length]! ^= mask;
    try {
      decodeRecordsBlock(damaged, view);
    } catch (err) {
      assert.ok(err instanceof RecordDecodeError, String(err));
    }
  }), { numRuns: 500 });
});

test('varints round-trip and refuse overlong or truncated encodings', () => {
  fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 }), (small, large) => {
    const buf = Buffer.alloc(20);
    let end = writeVarint(buf, 0, small);
    assert.equal(end, varintSize(small));
    end = writeVarint(buf, end, large);
    const cursor = new ByteCursor(buf, 0, end);
    assert.equal(cursor.readVarint(), small);
    assert.equal(cursor.readVarlong(), large);
    assert.equal(cursor.remaining, 0);
  }));
  assert.throws(() => new ByteCursor(Buffer.from([0x80, 0x80])).readVarint(), VarintError);
  assert.throws(() => new ByteCursor(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).readVarint(), VarintError);
});

// ------------------------------------------------------------------ compression

test('every codec round-trips through compress/decompress', async () => {
  const data = Buffer.from('tide '.repeat(10_000));
  for (const codec of codecs) {
    const packed = await compress(codec, data);
    assert.deepEqual(await decompress(codec, packed), data, `codec ${codec}`);
  }
});

test('snappy reads both the raw block and the xerial framing of the Java client', async () => {
  const data = Buffer.from('abcdefgh'.repeat(20_000)); // several 32 KiB xerial chunks
  const framed = xerialSnappyFrame(data);
  assert.equal(isXerialSnappy(framed), true);
  assert.deepEqual(await decompress(CompressionCodec.SNAPPY, framed), data);
  const raw = snappy.compressSync(data);
  assert.equal(isXerialSnappy(raw), false);
  assert.deepEqual(await decompress(CompressionCodec.SNAPPY, raw), data);
});

test('snappy compression writes a raw block (what librdkafka and Java both read)', async () => {
  const data = Buffer.from('raw block please '.repeat(100));
  const packed = await compress(CompressionCodec.SNAPPY, data);
  assert.equal(isXerialSnappy(packed), false);
  assert.deepEqual(snappy.uncompressSync(packed, { asBuffer: true }), data);
});

test('a batch compressed by a Java-style producer (xerial snappy) decodes', async () => {
  const plain = buildRecordBatchSync({ records: sampleRecords });
  const view = new RecordBatchView(plain, 0);
  const framedBlock = xerialSnappyFrame(view.recordsBytes(), 1024);
  const rebuilt = Buffer.concat([plain.subarray(0, 61), framedBlock]);
  rebuilt.writeInt32BE(rebuilt.length - 12, 8);
  rebuilt.writeInt16BE(CompressionCodec.SNAPPY, 21);
  const records = await decodeBatchRecords(new RecordBatchView(rebuilt, 0));
  assert.equal(records.length, 3);
  assert.equal(records[0]!.value!.toString(), 'hello');
});

const cap = 1024 * 1024;
const bomb = Buffer.alloc(8 * cap); // zeros: every codec shrinks this enormously

async function expectTooLarge(codec: number, packed: Buffer): Promise<void> {
  await assert.rejects(decompress(codec, packed, cap), (err: unknown) => err instanceof CompressionError && err.kind === 'too-large' && err.kafkaErrorCode === 10);
  assert.throws(() => decompressSync(codec, packed, cap), (err: unknown) => err instanceof CompressionError && err.kind === 'too-large');
}

test('decompression bombs stop at the output cap for every codec', async () => {
  await initCompression();
  await expectTooLarge(CompressionCodec.GZIP, gzipSync(bomb));
  await expectTooLarge(CompressionCodec.SNAPPY, snappy.compressSync(bomb));
  await expectTooLarge(CompressionCodec.SNAPPY, xerialSnappyFrame(bomb));
  await expectTooLarge(CompressionCodec.LZ4, lz4.compressFrameSync(bomb));
  await expectTooLarge(CompressionCodec.ZSTD, await compress(CompressionCodec.ZSTD, bomb));
  await expectTooLarge(CompressionCodec.NONE, bomb);
  // Output exactly at the cap is still fine.
  assert.equal((await decompress(CompressionCodec.GZIP, gzipSync(Buffer.alloc(cap)), cap)).length, cap);
});

/** A zstd frame of RLE blocks with no declared content size (as streaming producers write). */
function zstdRleFrame(blocks: number, blockBytes = 128 * 1024): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])];
  for (let index = 0; index < blocks; index++) {
    const header = (index === blocks - 1 ? 1 : 0) | (1 << 1) | (blockBytes << 3);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x41]));
  }
  return Buffer.concat(parts);
}

test('zstd frames without a declared size decode, and their bombs stop at the cap', async () => {
  const small = zstdRleFrame(4);
  assert.equal(zstdDeclaredSize(small), null);
  const out = await decompress(CompressionCodec.ZSTD, small, cap);
  assert.equal(out.length, 4 * 128 * 1024);
  assert.ok(out.every((byte) => byte === 0x41));
  await expectTooLarge(CompressionCodec.ZSTD, zstdRleFrame(64)); // 8 MiB from ~260 bytes
});

test('a zstd frame declaring more than the cap is refused before decoding', async () => {
  const frame = await compress(CompressionCodec.ZSTD, Buffer.alloc(2 * cap));
  assert.equal(zstdDeclaredSize(frame), 2 * cap);
  await expectTooLarge(CompressionCodec.ZSTD, frame);
});

test('the lz4 frame bound covers the real output', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300_000 }), (bytes) => {
    const data = Buffer.from(bytes);
    assert.ok(lz4FrameOutputBound(lz4.compressFrameSync(data)) >= data.length);
  }), { numRuns: 20 });
});

test('corrupt compressed input is a CompressionError, never a crash', async () => {
  const data = Buffer.from('some text that compresses '.repeat(50));
  for (const codec of [CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4, CompressionCodec.ZSTD]) {
    const packed = Buffer.from(await compress(codec, data));
    for (const cut of [1, Math.floor(packed.length / 2)]) {
      const damaged = packed.subarray(0, packed.length - cut);
      await assert.rejects(decompress(codec, damaged, cap), CompressionError, `codec ${codec} cut ${cut}`);
    }
  }
  await assert.rejects(decompress(7, data), (err: unknown) => err instanceof CompressionError && err.kind === 'unsupported');
});
