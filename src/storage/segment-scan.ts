// Walks the batches of a segment file from a position, checking each one the way recovery must:
// header present, magic 2, sane length, whole batch present, offsets moving forward and within
// the segment's int32 relative range, and (optionally) the CRC-32C. The first failure ends the
// walk and is reported with its position; nothing after it is trusted.
import type { FileHandle } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { BATCH_HEADER_BYTES, CURRENT_MAGIC, MIN_BATCH_LENGTH, LOG_OVERHEAD_BYTES, readInt64 } from '../protocol/record-batch.ts';
import { MAX_RELATIVE_OFFSET } from './segment-list.ts';

export const SCAN_CHUNK_BYTES = 1024 * 1024;
const CRC_START = 21;

export interface ScannedBatch {
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  partitionLeaderEpoch: number;
}

export interface ScanOptions {
  fromPosition: number;
  /** Bytes of the file to consider (its size). */
  endPosition: number;
  /** Offsets must not go below this (the previous batch's last offset + 1). */
  minNextOffset: number;
  segmentBaseOffset: number;
  verifyCrc: boolean;
}

export interface ScanOutcome {
  /** Position after the last good batch. */
  validEndPosition: number;
  /** Why the walk stopped before endPosition, or null. */
  problem: string | null;
}

/** Reads exactly what it can of [position, position + length); shorter only at end of file. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let filled = 0;
  // Each round reads at least one byte or stops: bounded by length.
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

export async function scanBatches(handle: FileHandle, options: ScanOptions, onBatch: (batch: ScannedBatch) => void): Promise<ScanOutcome> {
  const { endPosition, segmentBaseOffset } = options;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = 0;
  let position = options.fromPosition;
  let minNextOffset = options.minNextOffset;
  const stop = (problem: string): ScanOutcome => ({ validEndPosition: position, problem });

  // Each iteration advances position by a whole batch (>= 61 bytes) or returns.
  while (position < endPosition) {
    const remaining = endPosition - position;
    if (remaining < BATCH_HEADER_BYTES) return stop(`truncated batch header (${remaining} bytes)`);
    if (position < chunkStart || position + BATCH_HEADER_BYTES > chunkStart + chunk.length) {
      chunk = await readAt(handle, position, Math.min(SCAN_CHUNK_BYTES, remaining));
      chunkStart = position;
      if (chunk.length < BATCH_HEADER_BYTES) return stop('file shorter than expected');
    }
    const at = position - chunkStart;
    const magic = chunk.readInt8(at + 16);
    if (magic !== CURRENT_MAGIC) return stop(`bad magic ${magic}`);
    const batchLength = chunk.readInt32BE(at + 8);
    if (batchLength < MIN_BATCH_LENGTH) return stop(`bad batch length ${batchLength}`);
    const sizeBytes = batchLength + LOG_OVERHEAD_BYTES;
    if (sizeBytes > remaining) return stop(`truncated batch (${sizeBytes} bytes declared, ${remaining} left)`);
    const baseOffset = readInt64(chunk, at);
    const lastOffsetDelta = chunk.readInt32BE(at + 23);
    const lastOffset = baseOffset + lastOffsetDelta;
    if (baseOffset < minNextOffset) return stop(`offset ${baseOffset} below the expected ${minNextOffset}`);
    if (lastOffsetDelta < 0 || chunk.readInt32BE(at + 57) < 0) return stop('negative lastOffsetDelta or record count');
    if (lastOffset - segmentBaseOffset > MAX_RELATIVE_OFFSET) return stop(`offset ${lastOffset} outside the segment's range`);
    const batch: ScannedBatch = {
      position, sizeBytes, baseOffset, lastOffset,
      maxTimestamp: readInt64(chunk, at + 35),
      partitionLeaderEpoch: chunk.readInt32BE(at + 12),
    };
    if (options.verifyCrc) {
      const storedCrc = chunk.readUInt32BE(at + 17);
      let computed: number;
      if (at + sizeBytes <= chunk.length) {
        computed = crc32c(chunk.subarray(at + CRC_START, at + sizeBytes));
      } else {
        const result = await crcFromFile(handle, position + CRC_START, sizeBytes - CRC_START);
        if (result === null) return stop('file shorter than expected');
        computed = result;
      }
      if (computed !== storedCrc) return stop(`CRC-32C mismatch (stored ${storedCrc}, computed ${computed})`);
    }
    onBatch(batch);
    minNextOffset = lastOffset + 1;
    position += sizeBytes;
  }
  return { validEndPosition: position, problem: null };
}

/** CRC-32C of a file range read in bounded chunks, so a huge (or lying) batch never needs one big buffer. */
export async function crcFromFile(handle: FileHandle, position: number, length: number): Promise<number | null> {
  let crc = 0;
  let done = 0;
  while (done < length) {
    const piece = await readAt(handle, position + done, Math.min(SCAN_CHUNK_BYTES, length - done));
    if (piece.length === 0) return null;
    crc = crc32c(piece, crc);
    done += piece.length;
  }
  return crc;
}

/**
 * A read met bytes it could not serve at `position`: the first offset of the segment that cannot
 * be read back, from a CRC-checked walk up to that position (batch headers past it are not trusted).
 */
export async function firstUnreadableOffset(handle: FileHandle, segmentBaseOffset: number, position: number): Promise<{ fromOffset: number; problem: string | null }> {
  let fromOffset = segmentBaseOffset;
  const outcome = await scanBatches(handle, {
    fromPosition: 0, endPosition: position, minNextOffset: segmentBaseOffset, segmentBaseOffset, verifyCrc: true,
  }, (batch) => { fromOffset = batch.lastOffset + 1; });
  return { fromOffset, problem: outcome.problem };
}
