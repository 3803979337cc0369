// Finding records by timestamp (ListOffsets): the first record at or after a timestamp, and the
// first record carrying the largest timestamp. Segments are narrowed by their recorded maximum
// timestamp and time index, then walked batch by batch (every batch CRC-checked on the way).
import { RecordBatchView } from '../protocol/record-batch.ts';
import { decodeBatchRecords } from '../protocol/records.ts';
import type { LoadedIndexes } from './loaded-indexes.ts';
import { findBatchByTimestamp, findMaxTimestampBatch, INDEX_MISMATCH, readSegmentBatches } from './segment-reader.ts';
import type { Segment } from './segment.ts';

/** First record at or after `timestampMs` (by batch maxTimestamp, then record timestamps), at or above `minOffset`. */
export async function findOffsetForTimestamp(
  segments: readonly Segment[], indexes: LoadedIndexes, timestampMs: number, minOffset: number,
): Promise<{ offset: number; timestamp: number } | null> {
  for (const segment of segments) {
    if (segment.maxTimestamp < timestampMs || segment.writtenBytes === 0) continue;
    const batch = await indexes.withSegment(segment, (loaded) => {
      const relative = loaded.timeIndex!.lookup(timestampMs);
      return Math.max(relative < 0 ? segment.baseOffset : segment.baseOffset + relative, minOffset);
    }, (start) => findBatchByTimestamp(segment, start, timestampMs, minOffset));
    if (batch !== null) return firstRecordAtOrAfter(batch, timestampMs, minOffset);
  }
  return null;
}

/**
 * The first record carrying the largest timestamp among offsets in [minOffset, limitOffset).
 * null when no batch there has a timestamp. `indexIntervalBytes` is read when the final read
 * happens (the log's config may change meanwhile).
 */
export async function findMaxTimestampOffset(
  segments: readonly Segment[], indexes: LoadedIndexes, minOffset: number, limitOffset: number, indexIntervalBytes: () => number,
): Promise<{ offset: number; timestamp: number } | null> {
  // The segment to look in: the largest recorded maximum (the first of equals) among segments
  // whose maximum sits inside the range; segments where it does not are walked to find theirs.
  let best: { segment: Segment; timestamp: number; batch: RecordBatchView | null } | null = null;
  for (const segment of segments) {
    if (segment.baseOffset >= limitOffset) break;
    if (segment.maxTimestamp < 0 || segment.writtenBytes === 0 || (best !== null && segment.maxTimestamp <= best.timestamp)) continue;
    const inRange = segment.offsetOfMaxTimestamp >= minOffset && segment.offsetOfMaxTimestamp < limitOffset;
    if (inRange) {
      best = { segment, timestamp: segment.maxTimestamp, batch: null };
      continue;
    }
    const batch = await indexes.withSegment(segment, Math.max(minOffset, segment.baseOffset), (start) => findMaxTimestampBatch(segment, start, minOffset, limitOffset));
    if (batch !== null && (best === null || batch.maxTimestamp > best.timestamp)) best = { segment, timestamp: batch.maxTimestamp, batch };
  }
  if (best === null) return null;
  const segment = best.segment;
  const batch = best.batch ?? await indexes.withSegment(segment, segment.offsetOfMaxTimestamp, async (start) => {
    const found = await readSegmentBatches(segment, start, segment.offsetOfMaxTimestamp, 1, limitOffset, indexIntervalBytes());
    if (found === INDEX_MISMATCH) return INDEX_MISMATCH;
    return found === null || found.records.length === 0 ? null : new RecordBatchView(found.records, 0);
  });
  if (batch === null) return null;
  return firstRecordAtOrAfter(batch, batch.maxTimestamp, minOffset);
}

/** Refines a batch hit to the first record at or after the timestamp (falls back to the batch when undecodable). */
async function firstRecordAtOrAfter(batch: RecordBatchView, timestampMs: number, minOffset: number): Promise<{ offset: number; timestamp: number }> {
  const fallback = { offset: Math.max(batch.baseOffset, minOffset), timestamp: batch.maxTimestamp };
  try {
    const records = await decodeBatchRecords(batch);
    const hit = records.find((record) => record.timestamp >= timestampMs && record.offset >= minOffset);
    return hit === undefined ? fallback : { offset: hit.offset, timestamp: hit.timestamp };
  } catch {
    return fallback;
  }
}
