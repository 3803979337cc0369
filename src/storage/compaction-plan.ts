// What one compaction pass of a log may touch, decided from segment summaries alone (pure).
//
// Cleanable: the leading inactive segments that end at or below the high watermark and whose
// newest record is older than min.compaction.lag.ms; the first one that is not stops the range
// (the active segment always does). Clean part: segments wholly below the cleaner checkpoint
// (compacted before); dirty part: the cleanable segments after it. The dirty ratio is dirty bytes
// over cleanable bytes, as Kafka computes it.

import { MAX_RELATIVE_OFFSET } from './segment-list.ts';

/** Positions in a segment's offset index are int32. */
const MAX_SEGMENT_BYTES = 2 ** 31 - 1;

export interface SegmentSummary {
  baseOffset: number;
  sizeBytes: number;
  /** Newest record timestamp (or file mtime when none): the age used by the lag and tombstones. */
  newestTimestampMs: number;
}

export interface PlanInput {
  /** Oldest first; the last is the active segment. */
  segments: readonly SegmentSummary[];
  /** Offsets below this were compacted by an earlier pass (the cleaner checkpoint). */
  firstDirtyOffset: number;
  /** Nothing at or above this offset is compacted. */
  highWatermark: number;
  nowMs: number;
  minCompactionLagMs: number;
}

export interface CompactionPlan {
  /** Segments [0, cleanableCount) may be compacted. */
  cleanableCount: number;
  /** The first cleanable segment holding dirty offsets (cleanableCount when none). */
  firstDirtyIndex: number;
  cleanBytes: number;
  dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes); 0 when nothing is cleanable. */
  dirtyRatio: number;
}

export function planCompaction(input: PlanInput): CompactionPlan {
  const { segments } = input;
  let cleanableCount = 0;
  // Bounded by the segment count.
  while (cleanableCount < segments.length - 1) {
    const segment = segments[cleanableCount]!;
    const nextBaseOffset = segments[cleanableCount + 1]!.baseOffset;
    if (nextBaseOffset > input.highWatermark) break;
    if (segment.newestTimestampMs > input.nowMs - input.minCompactionLagMs) break;
    cleanableCount++;
  }
  let firstDirtyIndex = 0;
  let cleanBytes = 0;
  while (firstDirtyIndex < cleanableCount && segments[firstDirtyIndex + 1]!.baseOffset <= input.firstDirtyOffset) {
    cleanBytes += segments[firstDirtyIndex]!.sizeBytes;
    firstDirtyIndex++;
  }
  let dirtyBytes = 0;
  for (let index = firstDirtyIndex; index < cleanableCount; index++) dirtyBytes += segments[index]!.sizeBytes;
  const total = cleanBytes + dirtyBytes;
  return { cleanableCount, firstDirtyIndex, cleanBytes, dirtyBytes, dirtyRatio: total === 0 ? 0 : dirtyBytes / total };
}

/**
 * Splits segments [0, count) into runs that become one cleaned segment each: a run stays within
 * `maxGroupBytes` (before cleaning, so the cleaned copy fits too) and the int32 offset range of
 * one segment. Every run holds at least one segment. `segments[count]` must exist (its base ends
 * the last run).
 */
export function groupSegments(segments: readonly SegmentSummary[], count: number, maxGroupBytes: number): number[][] {
  const limitBytes = Math.min(maxGroupBytes, MAX_SEGMENT_BYTES);
  const groups: number[][] = [];
  let index = 0;
  while (index < count) {
    const group = [index];
    const baseOffset = segments[index]!.baseOffset;
    let bytes = segments[index]!.sizeBytes;
    index++;
    while (index < count) {
      const nextBytes = bytes + segments[index]!.sizeBytes;
      const lastOffset = segments[index + 1]!.baseOffset - 1;
      if (nextBytes > limitBytes || lastOffset - baseOffset > MAX_RELATIVE_OFFSET) break;
      group.push(index);
      bytes = nextBytes;
      index++;
    }
    groups.push(group);
  }
  return groups;
}
