// Log compaction of one partition (cleanup.policy=compact): keep the latest record of every key.
//
// One pass, as Kafka's cleaner does it:
// 1. Plan (compaction-plan.ts): the cleanable segments (inactive, below the high watermark, older
//    than min.compaction.lag.ms) and their dirty part, after the cleaner checkpoint.
// 2. Offset map: key -> latest offset over the dirty part, segment by segment, until the map's
//    memory budget is spent; the pass then cleans up to the end of the last mapped segment.
// 3. Rewrite every segment from the log start to that point, a few merged into one (same base
//    offset as the first), keeping a record unless a later offset of its key is in the map, or it
//    is a tombstone whose segment is older than delete.retention.ms. Offsets never change: a
//    rewritten batch keeps its base offset, lastOffsetDelta, producer id/epoch/base sequence and
//    leader epoch (records keep their offset deltas; gaps are legal). A batch losing every record
//    is dropped, unless it is an idempotent producer's last batch (then its header stays, so
//    producer state rebuilt from the log still deduplicates). Transactional and control batches
//    are kept whole. Records without a key are kept (Kafka refuses them at produce instead).
// 4. Swap each rewritten group in (PartitionLog.replaceWithCleaned, crash-safe), then write the
//    checkpoint `cleaner-offset-checkpoint` (offsets below it are clean).
// The active segment is never read or touched; appends go on while a pass runs.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/log.ts';
import { RecordBatchView } from '../protocol/record-batch.ts';
import { buildRecordBatch, decodeRecordsBlock, type DecodedRecord } from '../protocol/records.ts';
import { decompress } from '../protocol/compression.ts';
import { encodeCheckpoint, parseCheckpoint, readFileIfExists, writeFileAtomic } from './checkpoint-file.ts';
import { groupSegments, planCompaction, type CompactionPlan, type SegmentSummary } from './compaction-plan.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import { writeFully } from '../io/write-fully.ts';
import type { PartitionLog } from './partition-log.ts';
import { Segment } from './segment.ts';
import { BatchWalker } from './segment-reader.ts';
import { cleanedLogPath } from './segment-swap.ts';
import { open } from 'node:fs/promises';

export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
const CHECKPOINT_VERSION = 0;
const READ_WINDOW_BYTES = 1024 * 1024;
const WRITE_BUFFER_BYTES = 1024 * 1024;
const MAX_SEGMENT_BYTES = 2 ** 31 - 1;
/** Estimated bytes per offset-map entry beyond the key itself (Map slot, string header, number). */
const MAP_ENTRY_OVERHEAD_BYTES = 64;
export const DEFAULT_MAX_OFFSET_MAP_BYTES = 64 * 1024 * 1024;

export interface CleanOptions {
  logger: Logger;
  nowMs: number;
  /** Offsets at or above this are never compacted (the high watermark; default: the readable end). */
  highWatermark?: number;
  /** The cleaner checkpoint; read from the partition directory when not given. */
  firstDirtyOffset?: number;
  /** Memory budget of the key -> offset map (estimated bytes). */
  maxOffsetMapBytes?: number;
  /** Clean even below min.cleanable.dirty.ratio. */
  force?: boolean;
  /** Abandons the pass at the next batch (shutdown); the old segments stay as they were. */
  signal?: AbortSignal;
  /** Called after every batch read or written with its size; resolves when the I/O budget allows more. */
  throttle?: (bytes: number) => Promise<void>;
  /**
   * Whether the batch of `producerId` ending at `lastOffset` is that producer's last batch (its
   * header must survive even when no record does). Default: every emptied idempotent batch stays.
   */
  isLastBatchOfProducer?: (producerId: number, lastOffset: number) => boolean;
}

export interface CleanResult {
  /** false: nothing was due (see `reason`). */
  cleaned: boolean;
  reason?: string;
  plan: CompactionPlan;
  /** Offsets below this are now compacted (the new checkpoint). */
  firstDirtyOffset: number;
  bytesRead: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  segmentsReplaced: number;
}

export class CleaningAbortedError extends Error {
  override readonly name = 'CleaningAbortedError';
}

export async function readCleanerCheckpoint(dir: string, logger: Logger): Promise<number> {
  try {
    const bytes = await readFileIfExists(join(dir, CLEANER_CHECKPOINT_FILE), 4096);
    if (bytes === null) return 0;
    return Math.max(0, parseCheckpoint(bytes.toString('utf8'), CHECKPOINT_VERSION, 1, 1)[0]?.[0] ?? 0);
  } catch (err) {
    logger.warn('ignoring damaged cleaner checkpoint; the whole log counts as dirty', { dir, error: (err as Error).message });
    return 0;
  }
}

export function summarizeSegments(log: PartitionLog): { segments: readonly Segment[]; summaries: SegmentSummary[] } {
  const segments = log.segmentsForCleaning();
  const summaries = segments.map((segment) => ({
    baseOffset: segment.baseOffset, sizeBytes: segment.writtenBytes, newestTimestampMs: segment.retentionTimestampMs,
  }));
  return { segments, summaries };
}

/** The plan a pass would follow now (the service ranks partitions by its dirty ratio). */
export function planFor(log: PartitionLog, nowMs: number, highWatermark: number, firstDirtyOffset: number): CompactionPlan {
  return planCompaction({
    segments: summarizeSegments(log).summaries,
    firstDirtyOffset,
    highWatermark: Math.min(highWatermark, log.readableEndOffset),
    nowMs,
    minCompactionLagMs: log.currentConfig.minCompactionLagMs ?? 0,
  });
}

/** One compaction pass over `log` (see the top of this file). */
export async function cleanLog(log: PartitionLog, options: CleanOptions): Promise<CleanResult> {
  const config = log.currentConfig;
  const firstDirtyOffset = options.firstDirtyOffset ?? await readCleanerCheckpoint(log.dir, options.logger);
  const highWatermark = Math.min(options.highWatermark ?? log.readableEndOffset, log.readableEndOffset);
  const { segments, summaries } = summarizeSegments(log);
  const plan = planCompaction({
    segments: summaries, firstDirtyOffset, highWatermark, nowMs: options.nowMs, minCompactionLagMs: config.minCompactionLagMs ?? 0,
  });
  const result: CleanResult = {
    cleaned: false, plan, firstDirtyOffset, bytesRead: 0, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, segmentsReplaced: 0,
  };
  if (plan.dirtyBytes === 0) return { ...result, reason: 'nothing dirty' };
  if (!options.force && plan.dirtyRatio < (config.minCleanableDirtyRatio ?? 0.5)) return { ...result, reason: 'below min.cleanable.dirty.ratio' };

  const io = { bytesRead: 0, throttle: options.throttle ?? (async () => {}) };
  const checkOpen = () => {
    if (!log.isOpen) throw new CleaningAbortedError(`log ${log.dir} closed during compaction`);
    if (options.signal?.aborted) throw new CleaningAbortedError('compaction stopped');
  };
  const map = new Map<string, number>();
  const maxMapBytes = options.maxOffsetMapBytes ?? DEFAULT_MAX_OFFSET_MAP_BYTES;
  let mapBytes = 0;
  let endIndex = plan.firstDirtyIndex;
  // Whole segments only: the map must hold every key of every segment it says it covers.
  while (endIndex < plan.cleanableCount && (endIndex === plan.firstDirtyIndex || mapBytes < maxMapBytes)) {
    for await (const view of walkSegment(segments[endIndex]!, summaries[endIndex]!.sizeBytes, io, checkOpen)) {
      if (view.isControl || view.isTransactional) continue;
      for (const record of await decodeKeepingDeltas(view, options.logger) ?? []) {
        if (record.key === null) continue;
        const key = record.key.toString('latin1');
        if (!map.has(key)) mapBytes += record.key.length + MAP_ENTRY_OVERHEAD_BYTES;
        map.set(key, record.offset);
      }
    }
    endIndex++;
  }
  const cleanEndOffset = summaries[endIndex]!.baseOffset;

  const deleteHorizonMs = options.nowMs - (config.deleteRetentionMs ?? 86_400_000);
  const isLast = options.isLastBatchOfProducer ?? (() => true);
  for (const group of groupSegments(summaries, endIndex, config.segmentBytes)) {
    checkOpen();
    const groupSegmentsList = group.map((index) => segments[index]!);
    const groupBytes = group.map((index) => summaries[index]!.sizeBytes);
    const writer = await CleanedSegmentWriter.create(log.dir, groupSegmentsList[0]!.baseOffset, options.nowMs, config.indexIntervalBytes);
    let changed = group.length > 1;
    try {
      for (const index of group) {
        const tombstonesExpired = summaries[index]!.newestTimestampMs < deleteHorizonMs;
        for await (const view of walkSegment(segments[index]!, summaries[index]!.sizeBytes, io, checkOpen)) {
          const filtered = await filterBatch(view, (record) => {
            if (record.key === null) return true;
            const latest = map.get(record.key.toString('latin1'));
            if (latest !== undefined && record.offset < latest) return false;
            return !(record.value === null && tombstonesExpired);
          }, isLast, options.logger);
          result.recordsRemoved += filtered.removed;
          if (filtered.removed > 0) changed = true;
          if (filtered.bytes !== null) {
            await writer.add(filtered.bytes);
            await io.throttle(filtered.bytes.length);
          }
        }
      }
      const endOffset = summaries[group.at(-1)! + 1]!.baseOffset;
      if (!changed) {
        await writer.abort();
        continue;
      }
      const cleaned = await writer.finish(endOffset);
      result.bytesBefore += groupBytes.reduce((sum, bytes) => sum + bytes, 0);
      result.bytesAfter += cleaned.writtenBytes;
      if (!(await log.replaceWithCleaned(groupSegmentsList, groupBytes, cleaned))) {
        throw new CleaningAbortedError(`log ${log.dir} changed during compaction`);
      }
      result.segmentsReplaced += group.length;
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }
  checkOpen();
  await writeFileAtomic(join(log.dir, CLEANER_CHECKPOINT_FILE), encodeCheckpoint(CHECKPOINT_VERSION, [[cleanEndOffset]]));
  return { ...result, cleaned: true, firstDirtyOffset: cleanEndOffset, bytesRead: io.bytesRead };
}

/** Every batch of an inactive segment, CRC-checked, each as a view over its whole bytes. */
async function* walkSegment(segment: Segment, sizeBytes: number, io: { bytesRead: number; throttle: (bytes: number) => Promise<void> }, checkOpen: () => void): AsyncGenerator<RecordBatchView> {
  segment.acquire();
  try {
    const walker = new BatchWalker(segment, 0, sizeBytes, READ_WINDOW_BYTES);
    // Each round advances by a whole batch or stops: bounded by the segment size.
    for (let view = await walker.current(); view !== null; view = await walker.current()) {
      checkOpen();
      yield await walker.wholeBatch(view);
      io.bytesRead += view.sizeBytes;
      await io.throttle(view.sizeBytes);
      walker.advance(view);
    }
    if (walker.problem !== null) {
      throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `compaction stopped at a bad batch in ${segment.logPath} (position ${walker.position}): ${walker.problem}`);
    }
  } finally {
    segment.release();
  }
}

/**
 * Decodes records with their own timestamps even in LogAppendTime batches, so a rebuild keeps
 * them. null when the records cannot be decoded (CRC-valid but malformed): such a batch is kept
 * whole and its keys are not mapped, never guessed at.
 */
async function decodeKeepingDeltas(view: RecordBatchView, logger: Logger): Promise<DecodedRecord[] | null> {
  try {
    const block = await decompress(view.compression, view.recordsBytes());
    return decodeRecordsBlock(block, {
      baseOffset: view.baseOffset, baseTimestamp: view.baseTimestamp, maxTimestamp: view.maxTimestamp, recordCount: view.recordCount, isLogAppendTime: false,
    });
  } catch (err) {
    logger.warn('compaction keeps an undecodable batch as it is', { baseOffset: view.baseOffset, error: (err as Error).message });
    return null;
  }
}

/**
 * The batch with only the records `keep` accepts: the same bytes when all stay, a rebuilt batch
 * with the same header fields when some go, null when none stay (an idempotent producer's last
 * batch then stays as an empty header).
 */
async function filterBatch(view: RecordBatchView, keep: (record: DecodedRecord) => boolean, isLast: (producerId: number, lastOffset: number) => boolean, logger: Logger): Promise<{ bytes: Buffer | null; removed: number }> {
  const original = view.bytes();
  if (view.isControl || view.isTransactional) return { bytes: original, removed: 0 };
  const records = await decodeKeepingDeltas(view, logger);
  if (records === null) return { bytes: original, removed: 0 };
  const kept = records.filter(keep);
  if (kept.length === records.length) return { bytes: original, removed: 0 };
  const removed = records.length - kept.length;
  if (kept.length === 0 && !(view.producerId >= 0 && isLast(view.producerId, view.lastOffset))) return { bytes: null, removed };
  const bytes = await buildRecordBatch({
    baseOffset: view.baseOffset,
    records: kept.map((record) => ({
      key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp, offsetDelta: record.offset - view.baseOffset,
    })),
    compression: view.compression,
    producerId: view.producerId,
    producerEpoch: view.producerEpoch,
    baseSequence: view.baseSequence,
    timestamp: view.baseTimestamp,
    partitionLeaderEpoch: view.partitionLeaderEpoch,
    logAppendTimeMs: view.isLogAppendTime ? view.maxTimestamp : undefined,
    lastOffsetDelta: view.lastOffsetDelta,
  });
  return { bytes, removed };
}

/** Writes `<base>.log.cleaned` batch by batch, indexing as it goes (the Segment that replaces the group). */
class CleanedSegmentWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private position = 0;

  private constructor(private readonly segment: Segment, private readonly path: string, private readonly indexIntervalBytes: number) {}

  static async create(dir: string, baseOffset: number, nowMs: number, indexIntervalBytes: number): Promise<CleanedSegmentWriter> {
    const segment = new Segment(dir, baseOffset, nowMs);
    const path = cleanedLogPath(dir, baseOffset);
    segment.handle = await open(path, 'w+');
    return new CleanedSegmentWriter(segment, path, indexIntervalBytes);
  }

  async add(batch: Buffer): Promise<void> {
    const view = new RecordBatchView(batch, 0);
    if (this.position + batch.length > MAX_SEGMENT_BYTES) throw new CleaningAbortedError(`cleaned segment ${this.path} would exceed ${MAX_SEGMENT_BYTES} bytes`);
    this.segment.observeBatch(this.position, view.baseOffset, view.lastOffset, view.maxTimestamp, batch.length, this.indexIntervalBytes);
    this.position += batch.length;
    this.pending.push(batch);
    this.pendingBytes += batch.length;
    if (this.pendingBytes >= WRITE_BUFFER_BYTES) await this.writePending();
  }

  /** fdatasyncs the file; the segment then stands for offsets up to `endOffset` (exclusive). */
  async finish(endOffset: number): Promise<Segment> {
    await this.writePending();
    await this.segment.handle!.datasync();
    this.segment.sealTimeIndex();
    this.segment.logicalBytes = this.position;
    this.segment.lastOffset = endOffset - 1;
    return this.segment;
  }

  async abort(): Promise<void> {
    await this.segment.close().catch(() => {});
    await unlink(this.path).catch(() => {});
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    await writeFully(this.segment.handle!, this.pending, this.segment.writtenBytes);
    this.segment.writtenBytes += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
