// Pure questions about a log's segment list (oldest first, the active one last) and the bytes of
// an append: which segment holds an offset, which segments retention deletes.
import { checkBatchFrame, RecordBatchView } from '../protocol/record-batch.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import type { LogConfig } from './log-config.ts';
import type { Segment } from './segment.ts';

/** Offsets in a segment's index are 32-bit deltas from its base offset. */
export const MAX_RELATIVE_OFFSET = 2 ** 31 - 1;

/** Whether an append of `bytes` ending at `lastOffset` must go to a new segment: full, old, or past the deltas' range. */
export function mustRoll(active: Segment, bytes: number, lastOffset: number, config: Pick<LogConfig, 'segmentBytes' | 'segmentMs'>, nowMs: number): boolean {
  if (active.logicalBytes === 0) return false;
  return active.logicalBytes + bytes > config.segmentBytes
    || nowMs - active.rollAnchorMs >= config.segmentMs
    || lastOffset - active.baseOffset > MAX_RELATIVE_OFFSET;
}

/** Index of the last segment whose base offset is <= offset (0 when offset is below all of them). */
export function floorSegment(segments: readonly Segment[], offset: number): number {
  let low = 0;
  let high = segments.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (segments[middle]!.baseOffset <= offset) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/**
 * How many of the oldest segments are past retention: by time (newest timestamp older than
 * retentionMs) and by size (while the log stays at or above retentionBytes without them).
 * Never the active segment, and never a segment reaching `highWatermark` or beyond.
 */
export function countPastRetention(segments: readonly Segment[], config: LogConfig, nowMs: number, highWatermark: number): number {
  const deletable = (index: number) => index < segments.length - 1 && segments[index + 1]!.baseOffset <= highWatermark;
  let count = 0;
  if (config.retentionMs >= 0) {
    const cutoffMs = nowMs - config.retentionMs;
    while (deletable(count) && segments[count]!.retentionTimestampMs < cutoffMs) count++;
  }
  if (config.retentionBytes >= 0) {
    let total = 0;
    for (const segment of segments) total += segment.logicalBytes;
    let excess = total - config.retentionBytes;
    for (let index = 0; index < count; index++) excess -= segments[index]!.logicalBytes;
    while (deletable(count) && excess - segments[count]!.logicalBytes >= 0) excess -= segments[count++]!.logicalBytes;
  }
  return count;
}

/** Splits an append's bytes into batch views, refusing anything that is not whole v2 batches. */
export function frameBatches(batches: Buffer): RecordBatchView[] {
  const views: RecordBatchView[] = [];
  let position = 0;
  while (position < batches.length) {
    const problem = checkBatchFrame(batches, position);
    if (problem !== null) throw new StorageError(StorageErrorCode.CORRUPT_MESSAGE, `append: ${problem.message}`);
    const view = new RecordBatchView(batches, position);
    views.push(view);
    position += view.sizeBytes;
  }
  if (views.length === 0) throw new StorageError(StorageErrorCode.INVALID_RECORD, 'append: no batches');
  return views;
}
