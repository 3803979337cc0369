// Reading one segment: walk batches from an index position through a read window (one
// positional read usually covers the scan and the answer), then hand back whole batches as one
// Buffer. Every batch the walk steps on is CRC-checked, including the ones it skips on the way to
// the target: header fields steer the walk (lastOffsetDelta, maxTimestamp, length), so a batch
// damaged on disk after it was written must stop the walk, never be served or jumped over.
import { crc32c } from '@node-rs/crc32';
import { BATCH_HEADER_BYTES, RecordBatchView, checkBatchFrame } from '../protocol/record-batch.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import type { Segment } from './segment.ts';

const MAX_READ_WINDOW_BYTES = 16 * 1024 * 1024;
const CRC_START = 21;
const BATCH_LENGTH_AT = 8;
const LOG_OVERHEAD_BYTES = 12;

/** Walks batch headers of a segment from a position up to a byte limit, reading windows as needed. */
export class BatchWalker {
  private readonly segment: Segment;
  private readonly limit: number;
  private readonly windowBytes: number;
  buffer: Buffer = Buffer.alloc(0);
  bufferStart = 0;
  position: number;
  /** Why the walk stopped early on malformed bytes, or null. */
  problem: string | null = null;
  /** The index pointed at something that is not the batch it names (set on the first step only). */
  indexMismatch = false;
  private expectedFirstOffset: number | null;
  /** Bytes from this file position on are kept in `buffer` when it is refilled (-1: none). */
  keepFrom = -1;
  /** The walk ends (without a problem) at a batch ending past this file position. */
  stopAt = Number.POSITIVE_INFINITY;

  /** `expectedFirstOffset`: the offset the index entry for `fromPosition` names (null when not from an entry). */
  constructor(segment: Segment, fromPosition: number, limit: number, windowBytes: number, expectedFirstOffset: number | null = null) {
    this.segment = segment;
    this.position = fromPosition;
    this.limit = limit;
    this.windowBytes = Math.max(BATCH_HEADER_BYTES, Math.min(windowBytes, MAX_READ_WINDOW_BYTES));
    this.expectedFirstOffset = expectedFirstOffset;
  }

  /** The batch at the current position (header guaranteed in `buffer`), or null at the end. Call advance() to move on. */
  async current(): Promise<RecordBatchView | null> {
    const view = await this.readCurrent();
    if (this.expectedFirstOffset !== null) {
      // An index entry must point at a batch starting exactly at the offset it names. One that
      // does, but fails its CRC, is damage in the log, not in the index.
      if (view === null ? this.problem !== null && !this.headerNames(this.expectedFirstOffset) : view.baseOffset !== this.expectedFirstOffset) {
        this.indexMismatch = true;
        this.expectedFirstOffset = null;
        return null;
      }
      this.expectedFirstOffset = null;
    }
    return view;
  }

  /** Whether the bytes at the current position start with `baseOffset` (read before a failed check). */
  private headerNames(baseOffset: number): boolean {
    const at = this.position - this.bufferStart;
    return at >= 0 && at + 8 <= this.buffer.length && Number(this.buffer.readBigInt64BE(at)) === baseOffset;
  }

  private async readCurrent(): Promise<RecordBatchView | null> {
    if (this.position >= this.limit) return null;
    if (this.position + BATCH_HEADER_BYTES > this.bufferStart + this.buffer.length || this.position < this.bufferStart) {
      if (this.stopAt < this.limit && !(await this.fitsBeforeStop())) return null;
      await this.cover(this.position + BATCH_HEADER_BYTES);
      if (this.position + BATCH_HEADER_BYTES > this.bufferStart + this.buffer.length) {
        this.problem = `${this.bufferStart + this.buffer.length - this.position} bytes where a batch header should be`;
        return null;
      }
    }
    let at = this.position - this.bufferStart;
    const frame = checkBatchFrame(this.buffer, at, at + (this.limit - this.position));
    if (frame !== null) {
      this.problem = frame.message;
      return null;
    }
    let view = new RecordBatchView(this.buffer, at);
    const sizeBytes = view.sizeBytes;
    if (this.position + sizeBytes > this.stopAt) return null;
    if (at + sizeBytes > this.buffer.length) {
      // The window ends inside this batch: bring the rest in, so the CRC below and the answer
      // come from one read of each byte (checkBatchFrame bounded sizeBytes by the limit).
      await this.cover(this.position + sizeBytes);
      at = this.position - this.bufferStart;
      if (at + sizeBytes > this.buffer.length) {
        this.problem = `batch at position ${this.position} ends past the end of the file`;
        return null;
      }
      view = new RecordBatchView(this.buffer, at);
    }
    if (crc32c(this.buffer.subarray(at + CRC_START, at + sizeBytes)) !== view.crc) {
      this.problem = `CRC-32C mismatch at position ${this.position}`;
      return null;
    }
    return view;
  }

  /**
   * Whether the batch at `position` (its header read on its own, outside the buffer) ends by
   * `stopAt`; a batch that does not fit ends the walk without its bytes being read.
   */
  private async fitsBeforeStop(): Promise<boolean> {
    const header = await this.segment.read(this.position, Math.min(BATCH_HEADER_BYTES, this.limit - this.position));
    if (header.length < BATCH_HEADER_BYTES) return true; // the full check below reports it
    // A damaged length stops the walk here at worst; the next read starts at this batch and
    // checks it in full (and never serves it).
    const sizeBytes = header.readInt32BE(BATCH_LENGTH_AT) + LOG_OVERHEAD_BYTES;
    return sizeBytes <= LOG_OVERHEAD_BYTES || this.position + sizeBytes <= this.stopAt;
  }

  /**
   * Makes `buffer` cover [position, end) (and usually a window beyond). Bytes from `keepFrom` on
   * stay in the buffer, so an answer being collected never needs a second read.
   */
  private async cover(end: number): Promise<void> {
    const bufferEnd = this.bufferStart + this.buffer.length;
    if (this.keepFrom >= this.bufferStart && this.keepFrom <= this.position && this.position <= bufferEnd && this.buffer.length > 0) {
      const wanted = Math.max(end, this.keepFrom + this.windowBytes);
      const more = await this.segment.read(bufferEnd, Math.max(0, Math.min(wanted, this.limit) - bufferEnd));
      const kept = this.buffer.subarray(this.keepFrom - this.bufferStart);
      this.buffer = kept.length === 0 ? more : Buffer.concat([kept, more]);
      this.bufferStart = this.keepFrom;
      return;
    }
    const length = Math.min(Math.max(end - this.position, this.windowBytes), this.limit - this.position);
    this.buffer = await this.segment.read(this.position, length);
    this.bufferStart = this.position;
  }

  /** Throws when the walk stopped on damaged bytes (for searches, where skipping would give a wrong answer). */
  throwIfDamaged(): void {
    if (this.problem === null) return;
    throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `corrupt batch in ${this.segment.logPath} at position ${this.position}: ${this.problem}`);
  }

  advance(view: RecordBatchView): void {
    this.position += view.sizeBytes;
  }

  /** The whole batch at the current position as its own bytes (reads more when the window ends inside it). */
  async wholeBatch(view: RecordBatchView): Promise<RecordBatchView> {
    if (view.position + view.sizeBytes <= this.buffer.length) return view;
    const bytes = await this.segment.read(this.position, view.sizeBytes);
    return new RecordBatchView(bytes, 0);
  }
}

/** Returned when a walk started from an index entry that does not match the log (rebuild the index, retry). */
export const INDEX_MISMATCH = Symbol('index-mismatch');

/** Where a walk starts: a position and, when it comes from an index entry, the offset that entry names. */
export interface StartPoint {
  position: number;
  expectedOffset: number | null;
}

export interface SegmentReadResult {
  records: Buffer;
  nextOffset: number;
  /** A batch failed its CRC check at this file position (the result stops before it). */
  corruptPosition: number | null;
}

/**
 * Whole batches from the one containing `offset`, at most `maxBytes` (but at least one batch),
 * none starting at or past `maxOffset`. null when the segment holds nothing at or after `offset`.
 */
export async function readSegmentBatches(segment: Segment, start: StartPoint, offset: number, maxBytes: number, maxOffset: number, indexIntervalBytes: number): Promise<SegmentReadResult | null | typeof INDEX_MISMATCH> {
  const limit = segment.writtenBytes;
  const walker = new BatchWalker(segment, start.position, limit, maxBytes + indexIntervalBytes + BATCH_HEADER_BYTES, start.expectedOffset);
  let first = -1;
  let end = -1;
  let lastOffset = offset - 1;
  // Each round advances by a whole batch or stops: bounded by the segment size.
  for (let view = await walker.current(); view !== null; view = await walker.current()) {
    const sizeBytes = view.sizeBytes;
    if (first < 0) {
      if (view.lastOffset < offset) {
        walker.advance(view);
        continue;
      }
      first = walker.position;
      walker.keepFrom = first;
    }
    if (view.baseOffset >= maxOffset) break;
    if (walker.position > first && walker.position + sizeBytes - first > maxBytes) break;
    end = walker.position + sizeBytes;
    // Past the first batch only what fits in maxBytes is wanted: the walk need not read beyond.
    walker.stopAt = first + Math.max(maxBytes, end - first);
    lastOffset = view.lastOffset;
    walker.advance(view);
    if (end - first >= maxBytes) break;
  }
  if (walker.indexMismatch) return INDEX_MISMATCH;
  if (first < 0 || end < 0) {
    if (walker.problem !== null && first < 0 && walker.position < limit) {
      return { records: Buffer.alloc(0), nextOffset: offset, corruptPosition: walker.position };
    }
    return null;
  }
  const inWindow = first >= walker.bufferStart && end <= walker.bufferStart + walker.buffer.length;
  if (inWindow) {
    // Verified by the walk just now (the walk keeps everything from `first` in its buffer).
    return { records: walker.buffer.subarray(first - walker.bufferStart, end - walker.bufferStart), nextOffset: lastOffset + 1, corruptPosition: null };
  }
  return verifyBatches(await segment.read(first, end - first), first, offset);
}

/** Keeps the leading batches whose CRC and framing hold; reports where the first bad one sits. */
export function verifyBatches(bytes: Buffer, filePosition: number, fallbackNextOffset: number): SegmentReadResult {
  let position = 0;
  let nextOffset = fallbackNextOffset;
  while (position < bytes.length) {
    if (checkBatchFrame(bytes, position) !== null) break;
    const view = new RecordBatchView(bytes, position);
    if (crc32c(bytes.subarray(position + CRC_START, position + view.sizeBytes)) !== view.crc) break;
    nextOffset = view.lastOffset + 1;
    position += view.sizeBytes;
  }
  return {
    records: position === bytes.length ? bytes : bytes.subarray(0, position),
    nextOffset,
    corruptPosition: position === bytes.length ? null : filePosition + position,
  };
}

/**
 * First batch (at or after `fromPosition`) with maxTimestamp >= timestampMs and lastOffset >=
 * minOffset, as a view over its whole bytes; null when this segment has none.
 */
export async function findBatchByTimestamp(segment: Segment, start: StartPoint, timestampMs: number, minOffset: number): Promise<RecordBatchView | null | typeof INDEX_MISMATCH> {
  const walker = new BatchWalker(segment, start.position, segment.writtenBytes, 256 * 1024, start.expectedOffset);
  for (let view = await walker.current(); view !== null; view = await walker.current()) {
    if (view.maxTimestamp >= timestampMs && view.lastOffset >= minOffset) return walker.wholeBatch(view);
    walker.advance(view);
  }
  if (walker.indexMismatch) return INDEX_MISMATCH;
  walker.throwIfDamaged();
  return null;
}

/**
 * Where to cut a segment so that no batch with lastOffset >= offset remains: the position of
 * the first such batch (and its base offset), or the end of the segment.
 */
export async function findCutPosition(segment: Segment, start: StartPoint, offset: number): Promise<{ position: number; baseOffset: number | null } | typeof INDEX_MISMATCH> {
  const walker = new BatchWalker(segment, start.position, segment.writtenBytes, 256 * 1024, start.expectedOffset);
  for (let view = await walker.current(); view !== null; view = await walker.current()) {
    if (view.lastOffset >= offset) return { position: walker.position, baseOffset: view.baseOffset };
    walker.advance(view);
  }
  return walker.indexMismatch ? INDEX_MISMATCH : { position: walker.position, baseOffset: null };
}

/**
 * The batch with the largest maxTimestamp (the first of equals) among batches overlapping
 * [minOffset, limitOffset), walking the segment; null when none carries a timestamp.
 */
export async function findMaxTimestampBatch(segment: Segment, start: StartPoint, minOffset: number, limitOffset: number): Promise<RecordBatchView | null | typeof INDEX_MISMATCH> {
  const walker = new BatchWalker(segment, start.position, segment.writtenBytes, 1024 * 1024, start.expectedOffset);
  let best: { position: number; sizeBytes: number; maxTimestamp: number } | null = null;
  for (let view = await walker.current(); view !== null && view.baseOffset < limitOffset; view = await walker.current()) {
    if (view.lastOffset >= minOffset && view.maxTimestamp >= 0 && (best === null || view.maxTimestamp > best.maxTimestamp)) {
      best = { position: walker.position, sizeBytes: view.sizeBytes, maxTimestamp: view.maxTimestamp };
    }
    walker.advance(view);
  }
  if (walker.indexMismatch) return INDEX_MISMATCH;
  walker.throwIfDamaged();
  if (best === null) return null;
  const bytes = await segment.read(best.position, best.sizeBytes);
  return bytes.length === best.sizeBytes ? new RecordBatchView(bytes, 0) : null;
}
