// The file side of cutting a log at either end. At the end (a follower's truncation): the
// segments after the cut go, the cut segment's file ends at a batch boundary, and its in-memory
// indexes are brought back to what the file holds. At the start (DeleteRecords, retention): the
// checkpoints move, then the segments wholly below the new log start go.
import { join } from 'node:path';
import { fsyncDirectory, writeFileAtomic, type FsyncHook } from './checkpoint-file.ts';
import { LEADER_EPOCH_FILE } from './leader-epoch-cache.ts';
import { LOG_START_OFFSET_FILE } from './recovery.ts';
import type { Segment } from './segment.ts';
import { scanBatches } from './segment-scan.ts';

/**
 * Deletes `doomed` (the segments after `segment`), cuts `segment`'s file at `position`, re-observes
 * the batches from its last index entry up to the cut, and fdatasyncs the file (and the directory
 * when files went). `indexIntervalBytes` is read per batch, as the log's config may change meanwhile.
 */
export async function cutSegmentFiles(
  dir: string, segment: Segment, doomed: readonly Segment[], position: number, indexIntervalBytes: () => number, onFsync: FsyncHook | undefined,
): Promise<void> {
  for (const dead of doomed) await dead.deleteFiles();
  if (position < segment.writtenBytes) await segment.handle!.truncate(position);
  segment.logicalBytes = position;
  segment.writtenBytes = position;
  const rescanFrom = segment.rewindForScan(position);
  await scanBatches(segment.handle!, {
    fromPosition: rescanFrom, endPosition: position, minNextOffset: segment.nextOffset, segmentBaseOffset: segment.baseOffset, verifyCrc: false,
  }, (batch) => segment.observeBatch(batch.position, batch.baseOffset, batch.lastOffset, batch.maxTimestamp, batch.sizeBytes, indexIntervalBytes()));
  await segment.handle!.datasync();
  onFsync?.(segment.logPath);
  if (doomed.length > 0) await fsyncDirectory(dir, onFsync);
}

/** Writes the log-start checkpoint (and the epoch checkpoint when `epochText` is not null), then deletes `doomed`. */
export async function dropSegmentFiles(
  dir: string, startText: string, epochText: string | null, doomed: readonly Segment[], onFsync: FsyncHook | undefined,
): Promise<void> {
  // The checkpoint first: a crash before the unlinks leaves segments that open() drops.
  await writeFileAtomic(join(dir, LOG_START_OFFSET_FILE), startText, onFsync);
  if (epochText !== null) await writeFileAtomic(join(dir, LEADER_EPOCH_FILE), epochText, onFsync);
  for (const segment of doomed) await segment.deleteFiles();
  if (doomed.length > 0) await fsyncDirectory(dir, onFsync);
}
