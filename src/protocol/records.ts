// Records inside a v2 batch: decoding (message browser, REST, compaction, offset-by-timestamp)
// and building whole batches (tests, REST produce, compaction, benchmarks). The produce/fetch hot
// path never comes here: it moves batches as bytes (record-batch.ts).
//
// Decoding trusts nothing: every length is checked against the bytes left in its record before
// anything is sliced, counts are bounded by what the bytes could hold, and the records must fill
// the block exactly.
import { crc32c } from '@node-rs/crc32';
import {
  BATCH_HEADER_BYTES, BatchAttribute, BatchErrorCode, BatchField, CURRENT_MAGIC, LOG_OVERHEAD_BYTES,
  RecordBatchView, writeInt64,
} from './record-batch.ts';
import { compress, compressSync, decompress, decompressSync, CompressionCodec, DEFAULT_MAX_DECOMPRESSED_BYTES } from './compression.ts';
import { ByteCursor, VarintError, varintSize, writeVarint } from './varint-buffer.ts';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export class RecordDecodeError extends Error {
  override readonly name = 'RecordDecodeError';
  readonly kafkaErrorCode = BatchErrorCode.CORRUPT_MESSAGE;
}

/** The header fields record decoding needs (a RecordBatchView has them all). */
export interface RecordBlockContext {
  baseOffset: number;
  baseTimestamp: number;
  maxTimestamp: number;
  recordCount: number;
  isLogAppendTime: boolean;
}

// length varint (1) + attributes (1) + timestampDelta (1) + offsetDelta (1) + key length (1) +
// value length (1) + header count (1): the smallest possible record.
const MIN_RECORD_BYTES = 7;
const MIN_RECORD_BODY_BYTES = MIN_RECORD_BYTES - 1;
// header key length (1) + header value length (1).
const MIN_HEADER_BYTES = 2;

/** Decodes an uncompressed records block. Throws RecordDecodeError on any inconsistency. */
export function decodeRecordsBlock(block: Buffer, context: RecordBlockContext): DecodedRecord[] {
  const count = context.recordCount;
  if (count < 0 || count > Math.floor(block.length / MIN_RECORD_BYTES)) {
    throw new RecordDecodeError(`record count ${count} impossible in ${block.length} bytes`);
  }
  const cursor = new ByteCursor(block);
  const records: DecodedRecord[] = new Array(count);
  try {
    for (let index = 0; index < count; index++) records[index] = decodeRecord(cursor, context);
  } catch (err) {
    if (err instanceof VarintError) throw new RecordDecodeError(`record: ${err.message}`);
    throw err;
  }
  if (cursor.remaining !== 0) throw new RecordDecodeError(`${cursor.remaining} bytes left after ${count} records`);
  return records;
}

function decodeRecord(cursor: ByteCursor, context: RecordBlockContext): DecodedRecord {
  const length = cursor.readVarint();
  if (length < MIN_RECORD_BODY_BYTES || length > cursor.remaining) {
    throw new RecordDecodeError(`record length ${length} with ${cursor.remaining} bytes left`);
  }
  const recordEnd = cursor.pos + length;
  const outerEnd = cursor.end;
  cursor.end = recordEnd; // every field read below is bounded by this record
  cursor.readInt8(); // attributes: unused
  const timestampDelta = cursor.readVarlong();
  const offsetDelta = cursor.readVarint();
  const key = readNullableBytes(cursor, 'key');
  const value = readNullableBytes(cursor, 'value');
  const headerCount = cursor.readVarint();
  if (headerCount < 0 || headerCount > Math.floor(cursor.remaining / MIN_HEADER_BYTES)) {
    throw new RecordDecodeError(`header count ${headerCount} with ${cursor.remaining} bytes left`);
  }
  const headers: RecordHeader[] = new Array(headerCount);
  for (let index = 0; index < headerCount; index++) {
    const keyLength = cursor.readVarint();
    if (keyLength < 0) throw new RecordDecodeError(`header key length ${keyLength}`);
    const headerKey = cursor.readBytes(keyLength).toString('utf8');
    headers[index] = { key: headerKey, value: readNullableBytes(cursor, 'header value') };
  }
  if (cursor.pos !== recordEnd) throw new RecordDecodeError(`record declared ${length} bytes but fields used ${length - (recordEnd - cursor.pos)}`);
  cursor.end = outerEnd;
  return {
    offset: context.baseOffset + offsetDelta,
    timestamp: context.isLogAppendTime ? context.maxTimestamp : context.baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

function readNullableBytes(cursor: ByteCursor, what: string): Buffer | null {
  const length = cursor.readVarint();
  if (length === -1) return null;
  if (length < -1 || length > cursor.remaining) throw new RecordDecodeError(`${what} length ${length} with ${cursor.remaining} bytes left`);
  return cursor.readBytes(length);
}

export interface DecodeOptions {
  /** Cap on the decompressed records block (zip-bomb guard). */
  maxDecompressedBytes?: number;
}

/** Decompresses (if needed) and decodes every record of one batch. */
export async function decodeBatchRecords(view: RecordBatchView, options: DecodeOptions = {}): Promise<DecodedRecord[]> {
  const block = await decompress(view.compression, view.recordsBytes(), options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  return decodeRecordsBlock(block, view);
}

/** Synchronous variant; zstd batches need `await initCompression()` first. */
export function decodeBatchRecordsSync(view: RecordBatchView, options: DecodeOptions = {}): DecodedRecord[] {
  const block = decompressSync(view.compression, view.recordsBytes(), options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  return decodeRecordsBlock(block, view);
}

// ---------------------------------------------------------------- building batches

export type BytesInput = Buffer | string | null | undefined;

export interface RecordInput {
  key?: BytesInput;
  value?: BytesInput;
  headers?: { key: string; value?: BytesInput }[];
  /** Defaults to the batch timestamp. */
  timestamp?: number;
  /** Defaults to the record's index; compaction keeps original deltas (gaps allowed). */
  offsetDelta?: number;
}

export interface BuildBatchOptions {
  baseOffset?: number;
  records: RecordInput[];
  compression?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Base timestamp; defaults to the first record's timestamp, else Date.now(). */
  timestamp?: number;
  partitionLeaderEpoch?: number;
  transactional?: boolean;
  control?: boolean;
  /** Sets the LogAppendTime type and this maxTimestamp. */
  logAppendTimeMs?: number;
  /** Defaults to the largest record offsetDelta (0 for an empty batch). */
  lastOffsetDelta?: number;
}

interface PreparedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: Buffer; value: Buffer | null }[];
  timestampDelta: number;
  offsetDelta: number;
  bodyBytes: number;
}

function toBytes(input: BytesInput): Buffer | null {
  if (input === null || input === undefined) return null;
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

function nullableSize(bytes: Buffer | null): number {
  return bytes === null ? varintSize(-1) : varintSize(bytes.length) + bytes.length;
}

function prepare(options: BuildBatchOptions, baseTimestamp: number): PreparedRecord[] {
  return options.records.map((record, index) => {
    const key = toBytes(record.key);
    const value = toBytes(record.value);
    const headers = (record.headers ?? []).map((header) => ({ key: Buffer.from(header.key, 'utf8'), value: toBytes(header.value) }));
    const timestampDelta = (record.timestamp ?? baseTimestamp) - baseTimestamp;
    const offsetDelta = record.offsetDelta ?? index;
    let bodyBytes = 1 + varintSize(timestampDelta) + varintSize(offsetDelta) + nullableSize(key) + nullableSize(value) + varintSize(headers.length);
    for (const header of headers) bodyBytes += varintSize(header.key.length) + header.key.length + nullableSize(header.value);
    return { key, value, headers, timestampDelta, offsetDelta, bodyBytes };
  });
}

function writeNullable(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  bytes.copy(buf, pos);
  return pos + bytes.length;
}

/** Encodes the uncompressed records block. */
function encodeRecordsBlock(records: PreparedRecord[]): Buffer {
  let total = 0;
  for (const record of records) total += varintSize(record.bodyBytes) + record.bodyBytes;
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const record of records) {
    pos = writeVarint(buf, pos, record.bodyBytes);
    buf[pos++] = 0; // attributes
    pos = writeVarint(buf, pos, record.timestampDelta);
    pos = writeVarint(buf, pos, record.offsetDelta);
    pos = writeNullable(buf, pos, record.key);
    pos = writeNullable(buf, pos, record.value);
    pos = writeVarint(buf, pos, record.headers.length);
    for (const header of record.headers) {
      pos = writeVarint(buf, pos, header.key.length);
      header.key.copy(buf, pos);
      pos += header.key.length;
      pos = writeNullable(buf, pos, header.value);
    }
  }
  return buf;
}

function baseTimestampOf(options: BuildBatchOptions): number {
  return options.timestamp ?? options.records[0]?.timestamp ?? Date.now();
}

/** Builds a complete v2 batch (header, records, CRC). */
export async function buildRecordBatch(options: BuildBatchOptions): Promise<Buffer> {
  const baseTimestamp = baseTimestampOf(options);
  const prepared = prepare(options, baseTimestamp);
  const block = await compress(options.compression ?? CompressionCodec.NONE, encodeRecordsBlock(prepared));
  return assembleBatch(options, prepared, baseTimestamp, block);
}

/** Synchronous buildRecordBatch; zstd needs `await initCompression()` first. */
export function buildRecordBatchSync(options: BuildBatchOptions): Buffer {
  const baseTimestamp = baseTimestampOf(options);
  const prepared = prepare(options, baseTimestamp);
  const block = compressSync(options.compression ?? CompressionCodec.NONE, encodeRecordsBlock(prepared));
  return assembleBatch(options, prepared, baseTimestamp, block);
}

function assembleBatch(options: BuildBatchOptions, prepared: PreparedRecord[], baseTimestamp: number, block: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + block.length);
  let attributes = (options.compression ?? 0) & BatchAttribute.COMPRESSION_MASK;
  if (options.transactional) attributes |= BatchAttribute.TRANSACTIONAL_BIT;
  if (options.control) attributes |= BatchAttribute.CONTROL_BIT;
  let maxTimestamp = prepared.length === 0 ? baseTimestamp : -Infinity;
  let lastOffsetDelta = 0;
  for (const record of prepared) {
    maxTimestamp = Math.max(maxTimestamp, baseTimestamp + record.timestampDelta);
    lastOffsetDelta = Math.max(lastOffsetDelta, record.offsetDelta);
  }
  if (options.logAppendTimeMs !== undefined) {
    attributes |= BatchAttribute.TIMESTAMP_TYPE_BIT;
    maxTimestamp = options.logAppendTimeMs;
  }
  writeInt64(buf, BatchField.BASE_OFFSET, options.baseOffset ?? 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD_BYTES, BatchField.BATCH_LENGTH);
  buf.writeInt32BE(options.partitionLeaderEpoch ?? -1, BatchField.PARTITION_LEADER_EPOCH);
  buf.writeInt8(CURRENT_MAGIC, BatchField.MAGIC);
  buf.writeInt16BE(attributes, BatchField.ATTRIBUTES);
  buf.writeInt32BE(options.lastOffsetDelta ?? lastOffsetDelta, BatchField.LAST_OFFSET_DELTA);
  writeInt64(buf, BatchField.BASE_TIMESTAMP, baseTimestamp);
  writeInt64(buf, BatchField.MAX_TIMESTAMP, maxTimestamp);
  writeInt64(buf, BatchField.PRODUCER_ID, options.producerId ?? -1);
  buf.writeInt16BE(options.producerEpoch ?? -1, BatchField.PRODUCER_EPOCH);
  buf.writeInt32BE(options.baseSequence ?? -1, BatchField.BASE_SEQUENCE);
  buf.writeInt32BE(prepared.length, BatchField.RECORD_COUNT);
  block.copy(buf, BATCH_HEADER_BYTES);
  buf.writeUInt32BE(crc32c(buf.subarray(BatchField.ATTRIBUTES)), BatchField.CRC);
  return buf;
}
