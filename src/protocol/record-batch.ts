// Zero-copy view over magic v2 record batch headers (layout: /work/shared/kafka-protocol/RECORD_FORMAT.md).
// The data path never decodes records: it checks headers and the CRC here, then rewrites
// baseOffset and partitionLeaderEpoch in place (neither is under the CRC) and stores the bytes.
import { crc32c } from '@node-rs/crc32';

/** Kafka error codes this module can answer with (kept local: the protocol error catalog is another file). */
export const BatchErrorCode = {
  CORRUPT_MESSAGE: 2,
  MESSAGE_TOO_LARGE: 10,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_RECORD: 87,
} as const;
export type BatchErrorCode = (typeof BatchErrorCode)[keyof typeof BatchErrorCode];

/** Bytes before batchLength's count starts: baseOffset (8) + batchLength (4). */
export const LOG_OVERHEAD_BYTES = 12;
/** Full v2 header; records start here. */
export const BATCH_HEADER_BYTES = 61;
/** Smallest legal batchLength value (header after the log overhead, zero records). */
export const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
export const CURRENT_MAGIC = 2;

// Field positions inside a batch.
const BASE_OFFSET = 0;
const BATCH_LENGTH = 8;
const PARTITION_LEADER_EPOCH = 12;
const MAGIC = 16;
const CRC = 17;
const ATTRIBUTES = 21;
const LAST_OFFSET_DELTA = 23;
const BASE_TIMESTAMP = 27;
const MAX_TIMESTAMP = 35;
const PRODUCER_ID = 43;
const PRODUCER_EPOCH = 51;
const BASE_SEQUENCE = 53;
const RECORD_COUNT = 57;

const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;
const DELETE_HORIZON_BIT = 0x40;
const MAX_COMPRESSION_CODEC = 4;

const TWO_POW_32 = 2 ** 32;

/** Reads an int64 as a JS number (exact below 2^53, which offsets, ids and timestamps stay under). */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}

/**
 * One batch inside `buffer` starting at `position`. Getters read the header on demand;
 * construct it only after the 61 header bytes are known to be present.
 */
export class RecordBatchView {
  readonly buffer: Buffer;
  readonly position: number;

  constructor(buffer: Buffer, position: number) {
    this.buffer = buffer;
    this.position = position;
  }

  get baseOffset(): number { return readInt64(this.buffer, this.position + BASE_OFFSET); }
  get batchLength(): number { return this.buffer.readInt32BE(this.position + BATCH_LENGTH); }
  /** Whole batch including the 12-byte log overhead. */
  get sizeBytes(): number { return this.batchLength + LOG_OVERHEAD_BYTES; }
  get partitionLeaderEpoch(): number { return this.buffer.readInt32BE(this.position + PARTITION_LEADER_EPOCH); }
  get magic(): number { return this.buffer.readInt8(this.position + MAGIC); }
  get crc(): number { return this.buffer.readUInt32BE(this.position + CRC); }
  get attributes(): number { return this.buffer.readInt16BE(this.position + ATTRIBUTES); }
  get compression(): number { return this.attributes & COMPRESSION_MASK; }
  get isLogAppendTime(): boolean { return (this.attributes & TIMESTAMP_TYPE_BIT) !== 0; }
  get isTransactional(): boolean { return (this.attributes & TRANSACTIONAL_BIT) !== 0; }
  get isControl(): boolean { return (this.attributes & CONTROL_BIT) !== 0; }
  get hasDeleteHorizon(): boolean { return (this.attributes & DELETE_HORIZON_BIT) !== 0; }
  get lastOffsetDelta(): number { return this.buffer.readInt32BE(this.position + LAST_OFFSET_DELTA); }
  get lastOffset(): number { return this.baseOffset + this.lastOffsetDelta; }
  get baseTimestamp(): number { return readInt64(this.buffer, this.position + BASE_TIMESTAMP); }
  get maxTimestamp(): number { return readInt64(this.buffer, this.position + MAX_TIMESTAMP); }
  get producerId(): number { return readInt64(this.buffer, this.position + PRODUCER_ID); }
  get producerEpoch(): number { return this.buffer.readInt16BE(this.position + PRODUCER_EPOCH); }
  get baseSequence(): number { return this.buffer.readInt32BE(this.position + BASE_SEQUENCE); }
  get recordCount(): number { return this.buffer.readInt32BE(this.position + RECORD_COUNT); }

  /** The whole batch, zero-copy. */
  bytes(): Buffer {
    return this.buffer.subarray(this.position, this.position + this.sizeBytes);
  }

  /** The (possibly compressed) records block after the header, zero-copy. */
  recordsBytes(): Buffer {
    return this.buffer.subarray(this.position + BATCH_HEADER_BYTES, this.position + this.sizeBytes);
  }

  computeCrc(): number {
    return crc32c(this.buffer.subarray(this.position + ATTRIBUTES, this.position + this.sizeBytes));
  }

  isCrcValid(): boolean {
    return this.computeCrc() === this.crc;
  }
}

export type BatchProblem = { errorCode: BatchErrorCode; message: string; position: number };

/**
 * Structural check of the batch starting at `position` (not the CRC): enough bytes for the
 * header, magic 2, a sane batchLength, the whole batch present. Returns null when it is fine.
 */
export function checkBatchFrame(buf: Buffer, position: number, end = buf.length): BatchProblem | null {
  const remaining = end - position;
  if (remaining < MAGIC + 1) {
    return { errorCode: BatchErrorCode.CORRUPT_MESSAGE, message: `${remaining} trailing bytes are not a batch`, position };
  }
  const magic = buf.readInt8(position + MAGIC);
  if (magic !== CURRENT_MAGIC) {
    return { errorCode: BatchErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, message: `magic ${magic} (only 2 is supported)`, position };
  }
  const batchLength = buf.readInt32BE(position + BATCH_LENGTH);
  if (batchLength < MIN_BATCH_LENGTH) {
    return { errorCode: BatchErrorCode.CORRUPT_MESSAGE, message: `batchLength ${batchLength} below ${MIN_BATCH_LENGTH}`, position };
  }
  if (batchLength + LOG_OVERHEAD_BYTES > remaining) {
    return { errorCode: BatchErrorCode.CORRUPT_MESSAGE, message: `batch of ${batchLength + LOG_OVERHEAD_BYTES} bytes truncated at ${remaining}`, position };
  }
  return null;
}

/**
 * The complete batches in a record set, as views. A truncated trailing batch is skipped (a fetch
 * response may end mid-batch); anything else malformed ends the list. Use validateBatches for
 * input that must be entirely valid. An array, not a generator: the produce and replication paths
 * call it per request.
 */
export function iterateBatches(buf: Buffer): RecordBatchView[] {
  const views: RecordBatchView[] = [];
  let position = 0;
  // Each step advances by at least MIN_BATCH_LENGTH + 12 bytes, so the loop is bounded by buf.length.
  while (position < buf.length && checkBatchFrame(buf, position) === null) {
    const view = new RecordBatchView(buf, position);
    views.push(view);
    position += view.sizeBytes;
  }
  return views;
}

export interface ValidateOptions {
  /** Largest whole batch (including the 12-byte log overhead) accepted. */
  maxBatchBytes: number;
  /**
   * true (default): input written by a producer, checked as strictly as Kafka's leader does
   * (recordCount == lastOffsetDelta + 1 > 0, no control batches, a sequence when there is a
   * producer id). false: batches copied from another log (replication, restore), which may be
   * compacted or be control batches; only framing, CRC and counts >= 0 are checked.
   */
  producerInput?: boolean;
  /** Produce v3+ allows exactly one batch per partition. */
  requireSingleBatch?: boolean;
}

export type ValidateResult =
  | { ok: true; batches: RecordBatchView[]; recordCount: number }
  | ({ ok: false } & BatchProblem);

/** Checks a whole record set; the first problem found decides the Kafka error. */
export function validateBatches(buf: Buffer, options: ValidateOptions): ValidateResult {
  const producerInput = options.producerInput ?? true;
  const batches: RecordBatchView[] = [];
  let recordCount = 0;
  let position = 0;
  if (buf.length === 0) {
    return { ok: false, errorCode: BatchErrorCode.INVALID_RECORD, message: 'empty record set', position: 0 };
  }
  while (position < buf.length) {
    const frameProblem = checkBatchFrame(buf, position);
    if (frameProblem !== null) return { ok: false, ...frameProblem };
    const view = new RecordBatchView(buf, position);
    const problem = checkBatchContent(view, options.maxBatchBytes, producerInput);
    if (problem !== null) return { ok: false, errorCode: problem.errorCode, message: problem.message, position };
    batches.push(view);
    recordCount += view.recordCount;
    position += view.sizeBytes;
  }
  if (options.requireSingleBatch && batches.length !== 1) {
    return { ok: false, errorCode: BatchErrorCode.INVALID_RECORD, message: `${batches.length} batches where exactly one is allowed`, position: 0 };
  }
  return { ok: true, batches, recordCount };
}

function checkBatchContent(view: RecordBatchView, maxBatchBytes: number, producerInput: boolean): Omit<BatchProblem, 'position'> | null {
  if (view.sizeBytes > maxBatchBytes) {
    return { errorCode: BatchErrorCode.MESSAGE_TOO_LARGE, message: `batch of ${view.sizeBytes} bytes exceeds ${maxBatchBytes}` };
  }
  if (!view.isCrcValid()) {
    return { errorCode: BatchErrorCode.CORRUPT_MESSAGE, message: `CRC-32C mismatch (stored ${view.crc}, computed ${view.computeCrc()})` };
  }
  if (view.compression > MAX_COMPRESSION_CODEC) {
    return { errorCode: BatchErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message: `compression codec ${view.compression}` };
  }
  const count = view.recordCount;
  const lastOffsetDelta = view.lastOffsetDelta;
  if (count < 0 || lastOffsetDelta < 0) {
    return { errorCode: BatchErrorCode.INVALID_RECORD, message: `recordCount ${count}, lastOffsetDelta ${lastOffsetDelta}` };
  }
  if (!producerInput) return null;
  if (count === 0 || count !== lastOffsetDelta + 1) {
    return { errorCode: BatchErrorCode.INVALID_RECORD, message: `recordCount ${count} does not match lastOffsetDelta ${lastOffsetDelta} + 1` };
  }
  if (view.isControl) {
    return { errorCode: BatchErrorCode.INVALID_RECORD, message: 'clients may not produce control batches' };
  }
  if (view.producerId >= 0 && view.baseSequence < 0) {
    return { errorCode: BatchErrorCode.INVALID_RECORD, message: `producer ${view.producerId} sent no sequence number` };
  }
  return null;
}

/**
 * Leader offset assignment: rewrites baseOffset and partitionLeaderEpoch in place. Neither is
 * under the CRC, so the batch stays valid. Returns the batch's last offset.
 */
export function assignOffsets(view: RecordBatchView, baseOffset: number, partitionLeaderEpoch: number): number {
  writeInt64(view.buffer, view.position + BASE_OFFSET, baseOffset);
  view.buffer.writeInt32BE(partitionLeaderEpoch, view.position + PARTITION_LEADER_EPOCH);
  return baseOffset + view.lastOffsetDelta;
}

/**
 * LogAppendTime topics: sets the timestamp-type bit and maxTimestamp to the broker's clock.
 * Both are under the CRC, so it is recomputed (the only header rewrite that costs a CRC pass).
 */
export function setLogAppendTime(view: RecordBatchView, appendTimeMs: number): void {
  const attributes = view.attributes | TIMESTAMP_TYPE_BIT;
  view.buffer.writeInt16BE(attributes, view.position + ATTRIBUTES);
  writeInt64(view.buffer, view.position + MAX_TIMESTAMP, appendTimeMs);
  view.buffer.writeUInt32BE(view.computeCrc(), view.position + CRC);
}

/** Field positions, for code that writes headers (records.ts) without duplicating the layout. */
export const BatchField = {
  BASE_OFFSET, BATCH_LENGTH, PARTITION_LEADER_EPOCH, MAGIC, CRC, ATTRIBUTES, LAST_OFFSET_DELTA,
  BASE_TIMESTAMP, MAX_TIMESTAMP, PRODUCER_ID, PRODUCER_EPOCH, BASE_SEQUENCE, RECORD_COUNT,
} as const;

export const BatchAttribute = {
  COMPRESSION_MASK, TIMESTAMP_TYPE_BIT, TRANSACTIONAL_BIT, CONTROL_BIT, DELETE_HORIZON_BIT,
} as const;
