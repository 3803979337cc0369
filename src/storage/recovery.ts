// Opening a partition directory: find the segments, check or rebuild their indexes, and make sure
// the log ends at the last good batch. The first batch with a bad length, a truncated tail, an
// offset going backwards or a CRC mismatch ends the log: the file is cut there (one WARN line
// with file, position and bytes cut) and any later segment is removed. A bad batch is never kept.
//
// How much is scanned: after a clean close (the `clean-shutdown` marker matches the last
// segment) only the tail of the last segment from its last index entry; after a crash the whole
// last segment; any segment whose index files are missing or damaged is rebuilt by a full scan.
// Older segments need no scan after a crash: the writer fsyncs a segment before it creates the
// next one, so only the last segment can hold a torn tail.
import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/log.ts';
import {
  encodeCheckpoint, fsyncDirectory, parseCheckpoint, readFileIfExists, removeStaleTempFiles, writeFileAtomic, type FsyncHook,
} from './checkpoint-file.ts';
import { LeaderEpochCache, LEADER_EPOCH_FILE } from './leader-epoch-cache.ts';
import type { LogConfig } from './log-config.ts';
import { OFFSET_INDEX_ENTRY_BYTES } from './offset-index.ts';
import { TIME_INDEX_ENTRY_BYTES } from './time-index.ts';
import { INDEX_SUFFIX, LOG_SUFFIX, parseSegmentFileName, Segment, segmentFileName, TIME_INDEX_SUFFIX } from './segment.ts';
import { readAt, scanBatches } from './segment-scan.ts';
import { finishInterruptedSwaps } from './segment-swap.ts';
import { BATCH_HEADER_BYTES, BatchField, readInt64 } from '../protocol/record-batch.ts';

export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown';
export const LOG_START_OFFSET_FILE = 'log-start-offset';
const CHECKPOINT_VERSION = 0;

export interface RecoveryContext {
  dir: string;
  config: LogConfig;
  logger: Logger;
  nowMs: number;
  onFsync?: FsyncHook;
}

export interface RecoveredLog {
  segments: Segment[];
  logStartOffset: number;
  logEndOffset: number;
  epochs: LeaderEpochCache;
  cleanShutdown: boolean;
  /** Data this log may have held before and lacks now (see `DataLoss`); null when none. */
  loss: DataLoss | null;
}

/**
 * Recovery found (or must assume) that this replica lost data it held before: a corrupt or
 * missing part of a segment that had been made durable, or an unflushed tail after a crash with
 * flush=async. In a cluster such a replica must leave the partition's ISR before it could lead
 * it (it rejoins by catching up). Offsets from `fromOffset` on may be missing here.
 *
 * The rules: after a clean shutdown, any log shorter than the `clean-shutdown` marker says; any
 * cut inside an older segment (fsynced before the next one was created); after a crash, a cut of
 * the last segment unless it only removed a torn final write (the bad batch is the file's last:
 * it ends at or past the end of the file; with flush=sync such a write was never acknowledged);
 * and after a crash with flush=async, always (Kafka's KIP-966 rule: an unclean shutdown may have
 * dropped acknowledged but unflushed data, and nothing on disk says how much).
 */
export interface DataLoss {
  fromOffset: number;
  reason: string;
  /**
   * True when the only cause is a crash with flush=async (what it dropped was never flushed, as that
   * mode allows); false for damage: a corrupt batch, or a log shorter than its clean shutdown left it.
   */
  unflushedOnly: boolean;
}

export interface CleanShutdownMarker {
  segmentBaseOffset: number;
  segmentBytes: number;
  logEndOffset: number;
}

export function encodeCleanShutdownMarker(marker: CleanShutdownMarker): string {
  return JSON.stringify({ version: 1, ...marker }) + '\n';
}

export function encodeLogStartOffset(offset: number): string {
  return encodeCheckpoint(CHECKPOINT_VERSION, [[offset]]);
}

/** Epoch cache plus whether recovery changed it (then it is written back). */
interface EpochState {
  cache: LeaderEpochCache;
  dirty: boolean;
}

type ScanResult = 'ok' | 'cut' | 'index-mismatch';

/** What the scans of one recovery found, for the DataLoss decision. */
interface CutNotes {
  /** A bad batch was cut that is not a torn final write of the last segment (or an older segment was cut). */
  corruption: string | null;
  /** A torn final write was cut from the last segment. */
  tornTail: boolean;
}

export async function recoverLog(context: RecoveryContext): Promise<RecoveredLog> {
  const { dir, logger } = context;
  await mkdir(dir, { recursive: true });
  await removeStaleTempFiles(dir);
  await finishInterruptedSwaps(dir, logger, context.onFsync);
  const marker = await takeCleanShutdownMarker(context);
  let logStartOffset = await readLogStartOffset(context);
  const epochs = await readEpochs(context);
  const bases = await listSegments(dir);

  // Segments wholly below the log start were being deleted when the node stopped.
  while (bases.length > 1 && bases[1]! <= logStartOffset) await deleteSegmentFiles(dir, bases.shift()!);

  const notes: CutNotes = { corruption: null, tornTail: false };
  const segments: Segment[] = [];
  if (bases.length === 0) {
    const segment = new Segment(dir, Math.max(0, logStartOffset), context.nowMs);
    await segment.createFile();
    await fsyncDirectory(dir, context.onFsync);
    segments.push(segment);
  }
  for (let index = 0; index < bases.length; index++) {
    const segment = new Segment(dir, bases[index]!, context.nowMs);
    await segment.openExisting();
    segments.push(segment);
    const isLast = index === bases.length - 1;
    if (isLast) {
      await recoverLastSegment(segment, marker, epochs, context, notes);
      break;
    }
    if (await checkInactiveSegment(segment, bases[index + 1]!, epochs, context)) continue;
    notes.corruption ??= `corrupt batch in the older segment ${segment.logPath}`;
    // The log ends inside this segment: every later segment is after the cut.
    const removed = bases.slice(index + 1);
    for (const base of removed) await deleteSegmentFiles(dir, base);
    await fsyncDirectory(dir, context.onFsync);
    logger.warn('deleted segments after a corrupt batch', { dir, segments: removed.map((base) => segmentFileName(base, LOG_SUFFIX)) });
    await setRollAnchor(segment, context.nowMs);
    break;
  }

  const last = segments.at(-1)!;
  // The active segment must be fully indexed in memory (it keeps growing).
  if (last.offsetIndex === null && !(await last.loadIndexes())) {
    last.resetIndexes();
    await scanInto(last, 0, last.writtenBytes, epochs, context);
  }
  const logEndOffset = last.nextOffset;
  if (last.handle !== null) {
    // Everything recovered counts as flushed from here on.
    await last.handle.datasync();
    context.onFsync?.(last.logPath);
  }
  logStartOffset = Math.min(Math.max(logStartOffset, segments[0]!.baseOffset), logEndOffset);
  if (epochs.cache.truncateFromEnd(logEndOffset)) epochs.dirty = true;
  if (epochs.cache.truncateFromStart(logStartOffset)) epochs.dirty = true;
  if (epochs.dirty) await writeFileAtomic(join(dir, LEADER_EPOCH_FILE), epochs.cache.encode(), context.onFsync);
  // A directory without segments is a partition created just now: it held nothing to lose.
  const loss = bases.length === 0 ? null : dataLoss(marker, notes, logEndOffset, context);
  if (loss !== null) logger.error('this replica lost data it held before', { dir, fromOffset: loss.fromOffset, reason: loss.reason, unflushedOnly: loss.unflushedOnly });
  return { segments, logStartOffset, logEndOffset, epochs: epochs.cache, cleanShutdown: marker !== null, loss };
}

function dataLoss(marker: CleanShutdownMarker | null, notes: CutNotes, logEndOffset: number, context: RecoveryContext): DataLoss | null {
  if (marker !== null) {
    // Everything up to the marker's end was fsynced at the clean close: any shortfall is damage.
    if (logEndOffset < marker.logEndOffset) return { fromOffset: logEndOffset, reason: notes.corruption ?? `log ends at ${logEndOffset}, below ${marker.logEndOffset} at the clean shutdown`, unflushedOnly: false };
    return notes.corruption === null ? null : { fromOffset: logEndOffset, reason: notes.corruption, unflushedOnly: false };
  }
  if (notes.corruption !== null) return { fromOffset: logEndOffset, reason: notes.corruption, unflushedOnly: false };
  if (context.config.flush !== 'sync') return { fromOffset: logEndOffset, reason: notes.tornTail ? 'torn tail cut after a crash with flush=async' : 'crash with flush=async: unflushed data may be lost', unflushedOnly: true };
  return null;
}

async function listSegments(dir: string): Promise<number[]> {
  const logs = new Set<number>();
  const indexFiles: { name: string; baseOffset: number }[] = [];
  for (const name of await readdir(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed === null) continue;
    if (parsed.suffix === LOG_SUFFIX) logs.add(parsed.baseOffset);
    else indexFiles.push({ name, baseOffset: parsed.baseOffset });
  }
  for (const file of indexFiles) {
    if (!logs.has(file.baseOffset)) await unlink(join(dir, file.name)).catch(() => {});
  }
  return [...logs].sort((a, b) => a - b);
}

async function deleteSegmentFiles(dir: string, baseOffset: number): Promise<void> {
  for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
    await unlink(join(dir, segmentFileName(baseOffset, suffix))).catch(() => {});
  }
}

async function takeCleanShutdownMarker(context: RecoveryContext): Promise<CleanShutdownMarker | null> {
  const path = join(context.dir, CLEAN_SHUTDOWN_FILE);
  const bytes = await readFileIfExists(path, 4096).catch(() => null);
  if (bytes === null) return null;
  // Removed before anything else happens: a crash from here on must look unclean.
  await unlink(path);
  await fsyncDirectory(context.dir, context.onFsync);
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<CleanShutdownMarker> & { version?: number };
    const fieldsValid = [parsed.segmentBaseOffset, parsed.segmentBytes, parsed.logEndOffset].every((value) => Number.isSafeInteger(value));
    if (parsed.version !== 1 || !fieldsValid) return null;
    return { segmentBaseOffset: parsed.segmentBaseOffset!, segmentBytes: parsed.segmentBytes!, logEndOffset: parsed.logEndOffset! };
  } catch {
    return null;
  }
}

async function readLogStartOffset(context: RecoveryContext): Promise<number> {
  const bytes = await readFileIfExists(join(context.dir, LOG_START_OFFSET_FILE), 4096);
  if (bytes === null) return 0;
  try {
    return Math.max(0, parseCheckpoint(bytes.toString('utf8'), CHECKPOINT_VERSION, 1, 1)[0]?.[0] ?? 0);
  } catch (err) {
    context.logger.warn('ignoring damaged log start offset checkpoint', { dir: context.dir, error: err });
    return 0;
  }
}

async function readEpochs(context: RecoveryContext): Promise<EpochState> {
  const bytes = await readFileIfExists(join(context.dir, LEADER_EPOCH_FILE), 64 * 1024 * 1024);
  if (bytes === null) return { cache: new LeaderEpochCache(), dirty: false };
  try {
    return { cache: LeaderEpochCache.parse(bytes.toString('utf8')), dirty: false };
  } catch (err) {
    // Epochs still present in the scanned tail are learned again; older ones are lost, so
    // OffsetForLeaderEpoch answers "undefined" for them and the follower falls back to its
    // high watermark, the safe choice.
    context.logger.warn('ignoring damaged leader epoch checkpoint', { dir: context.dir, error: err });
    return { cache: new LeaderEpochCache(), dirty: true };
  }
}

/** Cheap checks of an inactive segment's index files, a full rebuild when they fail. False: the log ends here. */
async function checkInactiveSegment(segment: Segment, nextBaseOffset: number, epochs: EpochState, context: RecoveryContext): Promise<boolean> {
  segment.lastOffset = nextBaseOffset - 1; // an upper bound; compaction may leave a gap before the next base
  const tail = await readIndexTails(segment);
  if (tail !== null) {
    segment.maxTimestamp = tail.maxTimestamp;
    segment.offsetOfMaxTimestamp = tail.offsetOfMaxTimestamp;
    segment.indexesPersisted = true;
    segment.unloadIndexes();
    return true;
  }
  context.logger.info('rebuilding missing or damaged segment index', { file: segment.logPath });
  segment.resetIndexes();
  if ((await scanInto(segment, 0, segment.writtenBytes, epochs, context)) !== 'ok') return false;
  segment.sealTimeIndex();
  await segment.writeIndexFiles(context.onFsync);
  segment.unloadIndexes();
  return true;
}

/** The last entry of both index files, read without loading them; null when missing or implausible. */
async function readIndexTails(segment: Segment): Promise<{ maxTimestamp: number; offsetOfMaxTimestamp: number } | null> {
  let indexBytes: number;
  let timeIndexBytes: number;
  try {
    indexBytes = (await stat(segment.indexPath)).size;
    timeIndexBytes = (await stat(segment.timeIndexPath)).size;
  } catch {
    return null;
  }
  if (indexBytes % OFFSET_INDEX_ENTRY_BYTES !== 0 || timeIndexBytes % TIME_INDEX_ENTRY_BYTES !== 0) return null;
  const maxRelativeOffset = segment.lastOffset - segment.baseOffset;
  if (indexBytes > 0) {
    const last = await readFileRange(segment.indexPath, indexBytes - OFFSET_INDEX_ENTRY_BYTES, OFFSET_INDEX_ENTRY_BYTES);
    if (last === null) return null;
    const relativeOffset = last.readInt32BE(0);
    const position = last.readInt32BE(4);
    if (relativeOffset < 0 || relativeOffset > maxRelativeOffset || position < 0 || position >= segment.writtenBytes) return null;
  }
  if (timeIndexBytes === 0) return { maxTimestamp: -1, offsetOfMaxTimestamp: -1 };
  const last = await readFileRange(segment.timeIndexPath, timeIndexBytes - TIME_INDEX_ENTRY_BYTES, TIME_INDEX_ENTRY_BYTES);
  if (last === null) return null;
  const maxTimestamp = readInt64(last, 0);
  const relativeOffset = last.readInt32BE(8);
  if (maxTimestamp < 0 || relativeOffset < 0 || relativeOffset > maxRelativeOffset) return null;
  return { maxTimestamp, offsetOfMaxTimestamp: segment.baseOffset + relativeOffset };
}

async function readFileRange(path: string, position: number, length: number): Promise<Buffer | null> {
  const handle = await open(path, 'r');
  try {
    const bytes = await readAt(handle, position, length);
    return bytes.length === length ? bytes : null;
  } finally {
    await handle.close();
  }
}

async function recoverLastSegment(segment: Segment, marker: CleanShutdownMarker | null, epochs: EpochState, context: RecoveryContext, notes: CutNotes): Promise<void> {
  const size = segment.writtenBytes;
  const markerMatches = marker !== null && marker.segmentBaseOffset === segment.baseOffset && marker.segmentBytes === size;
  let result: ScanResult = 'index-mismatch';
  if (markerMatches && (await segment.loadIndexes())) {
    const from = segment.rewindForScan(size);
    // From an index point the first batch must be the one the entry names; from 0 anything goes
    // (a compacted segment may start above its base offset).
    result = await scanInto(segment, from, size, epochs, context, from > 0 ? segment.nextOffset : undefined, notes);
  }
  if (result === 'index-mismatch') {
    segment.resetIndexes();
    await scanInto(segment, 0, size, epochs, context, undefined, notes);
  }
  await setRollAnchor(segment, context.nowMs);
}

/** Whether the bad batch at `position` is the file's last (it ends at or past `end`): what a torn write leaves. */
async function endsTheFile(segment: Segment, position: number, end: number): Promise<boolean> {
  if (end - position < 12) return true;
  const header = await segment.read(position, 12);
  if (header.length < 12) return true;
  const sizeBytes = header.readInt32BE(8) + 12;
  return sizeBytes <= 12 || position + sizeBytes >= end;
}

async function setRollAnchor(segment: Segment, nowMs: number): Promise<void> {
  segment.rollAnchorMs = nowMs;
  if (segment.writtenBytes < BATCH_HEADER_BYTES) return;
  const header = await segment.read(0, BATCH_HEADER_BYTES);
  if (header.length < BATCH_HEADER_BYTES) return;
  // As in Kafka, a recovered segment's age counts from its first batch's timestamp when plausible.
  const firstTimestamp = readInt64(header, BatchField.MAX_TIMESTAMP);
  if (firstTimestamp > 0 && firstTimestamp <= nowMs) segment.rollAnchorMs = firstTimestamp;
}

/**
 * Scans [from, end) into the segment's indexes (and the epoch cache). On a bad batch the file is
 * cut there ('cut'). 'index-mismatch': the first batch is not at `expectedFirstOffset`, so the
 * index that pointed there is wrong and nothing was changed.
 */
async function scanInto(segment: Segment, from: number, end: number, epochs: EpochState, context: RecoveryContext, expectedFirstOffset?: number, notes?: CutNotes): Promise<ScanResult> {
  let first = true;
  let mismatch = false;
  const outcome = await scanBatches(segment.handle!, {
    fromPosition: from,
    endPosition: end,
    minNextOffset: segment.nextOffset,
    segmentBaseOffset: segment.baseOffset,
    verifyCrc: true,
  }, (batch) => {
    if (first && expectedFirstOffset !== undefined && batch.baseOffset !== expectedFirstOffset) mismatch = true;
    first = false;
    if (mismatch) return;
    segment.observeBatch(batch.position, batch.baseOffset, batch.lastOffset, batch.maxTimestamp, batch.sizeBytes, context.config.indexIntervalBytes);
    if (epochs.cache.assign(batch.partitionLeaderEpoch, batch.baseOffset)) epochs.dirty = true;
  });
  if (mismatch || (expectedFirstOffset !== undefined && first && from < end)) return 'index-mismatch';
  if (outcome.problem === null) return 'ok';
  if (notes !== undefined) {
    if (await endsTheFile(segment, outcome.validEndPosition, end)) notes.tornTail = true;
    else notes.corruption ??= `${outcome.problem} in ${segment.logPath} at position ${outcome.validEndPosition} with more data after it`;
  }
  const cutBytes = end - outcome.validEndPosition;
  await segment.handle!.truncate(outcome.validEndPosition);
  await segment.handle!.datasync();
  context.onFsync?.(segment.logPath);
  segment.logicalBytes = outcome.validEndPosition;
  segment.writtenBytes = outcome.validEndPosition;
  context.logger.warn('cut the log at a bad batch', { file: segment.logPath, position: outcome.validEndPosition, bytesCut: cutBytes, reason: outcome.problem });
  return 'cut';
}

/**
 * Rebuilds the indexes of an inactive segment whose index files turned out damaged when loaded
 * lazily. Nothing is cut here (the segment is not at the end of the log); batches past a bad one
 * stay unindexed and reads refuse them by CRC.
 */
export async function rebuildInactiveIndexes(segment: Segment, config: LogConfig, logger: Logger, onFsync?: FsyncHook): Promise<void> {
  logger.warn('rebuilding damaged segment index', { file: segment.logPath });
  segment.resetIndexes();
  const outcome = await scanBatches(segment.handle!, {
    fromPosition: 0, endPosition: segment.writtenBytes, minNextOffset: segment.baseOffset, segmentBaseOffset: segment.baseOffset, verifyCrc: true,
  }, (batch) => segment.observeBatch(batch.position, batch.baseOffset, batch.lastOffset, batch.maxTimestamp, batch.sizeBytes, config.indexIntervalBytes));
  if (outcome.problem !== null) logger.error('bad batch inside an older segment', { file: segment.logPath, position: outcome.validEndPosition, reason: outcome.problem });
  segment.sealTimeIndex();
  await segment.writeIndexFiles(onFsync);
}
