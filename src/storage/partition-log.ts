// The log of one topic-partition: a directory of segments, the active one last.
//
// Offsets: `logEndOffset` moves synchronously when append() assigns offsets (call order is
// offset order); `readableEndOffset` once the bytes are in the file; `flushedOffset` once they
// are fdatasynced. flushedOffset <= readableEndOffset <= logEndOffset, always.
// File changes all go through one LogWriter queue (see log-writer.ts), so they happen in issue
// order; the in-memory view (segment list, offsets, indexes) changes synchronously.
// After any I/O failure the log refuses everything with KAFKA_STORAGE_ERROR; reopen it to recover.
import { join } from 'node:path';
import type { Logger } from '../util/log.ts';
import { assignOffsets, setLogAppendTime, validateBatches, type RecordBatchView } from '../protocol/record-batch.ts';
import { fsyncDirectory, writeFileAtomic, type FsyncHook } from './checkpoint-file.ts';
import { isFsyncFailure, OffsetOutOfRangeError, StorageError, StorageErrorCode } from './errors.ts';
import { LeaderEpochCache, LEADER_EPOCH_FILE, type EpochEntry } from './leader-epoch-cache.ts';
import { resolveLogConfig, type LogConfig } from './log-config.ts';
import { fdatasyncFd, LogWriter } from './log-writer.ts';
import {
  CLEAN_SHUTDOWN_FILE, encodeCleanShutdownMarker, encodeLogStartOffset, LOG_START_OFFSET_FILE, rebuildInactiveIndexes, recoverLog, type DataLoss,
} from './recovery.ts';
import { LoadedIndexes } from './loaded-indexes.ts';
import type { AppendResult, LogDamage, PartitionLogOptions, ReadResult } from './partition-log-types.ts';
import { Segment } from './segment.ts';
import { countPastRetention, floorSegment, frameBatches, mustRoll } from './segment-list.ts';
import { findCutPosition, readSegmentBatches } from './segment-reader.ts';
import { firstUnreadableOffset } from './segment-scan.ts';
import { cutSegmentFiles, dropSegmentFiles } from './log-truncation.ts';
import { RecentBatches } from './recent-batches.ts';
import { cleanedLogPath, commitSwap, completeSwap, intactGroupAt } from './segment-swap.ts';
import { findMaxTimestampOffset, findOffsetForTimestamp } from './timestamp-lookup.ts';
import { unlink } from 'node:fs/promises';

export type { LogConfig } from './log-config.ts';
export type { AppendResult, LogDamage, PartitionLogOptions, ReadResult } from './partition-log-types.ts';
export { isFsyncFailure } from './errors.ts';

const DEFAULT_MAX_LOADED_INACTIVE_INDEXES = 8;

type LogState = 'open' | 'truncating' | 'closing' | 'closed';

export class PartitionLog {
  readonly dir: string;
  private config: LogConfig;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly onFsync: FsyncHook | undefined;
  /** Replaced, never mutated in place: a read holding the old array stays consistent. */
  private segments: readonly Segment[];
  private nextOffset: number;
  private readableEnd: number;
  private flushed: number;
  private startOffset: number;
  private readonly epochs: LeaderEpochCache;
  private readonly writer: LogWriter;
  private lastWrittenSegment: Segment | null = null;
  private state: LogState = 'open';
  private failure: StorageError | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Which segments' indexes are in memory (an LRU of inactive ones; see loaded-indexes.ts). */
  private readonly indexes: LoadedIndexes;
  private readonly onFsyncFailure: ((error: Error) => void) | undefined;
  /** What recovery found this log lost at open (see DataLoss in recovery.ts); null when nothing. */
  readonly recoveryLoss: DataLoss | null;
  private damageFound: LogDamage | null = null;
  private damageCheck: Promise<void> | null = null;
  /** Told once when a read finds damaged bytes (and again after a truncation if new damage is found). */
  onDamage: ((damage: LogDamage) => void) | null = null;
  /**
   * Told each time written bytes become readable (before their fdatasync): replication wakes
   * followers' long-polls here, so a follower's copy and fsync overlap the leader's own.
   */
  onReadable: ((readableEndOffset: number) => void) | null = null;
  /** Recent single-batch leader appends, for followers' fetches (see recent-batches.ts). */
  private readonly recent: RecentBatches;

  private constructor(dir: string, config: LogConfig, options: PartitionLogOptions, recovered: Awaited<ReturnType<typeof recoverLog>>) {
    this.dir = dir;
    this.config = config;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.onFsync = options.onFsync;
    this.onFsyncFailure = options.onFsyncFailure;
    this.recoveryLoss = recovered.loss;
    this.segments = recovered.segments;
    this.nextOffset = recovered.logEndOffset;
    this.readableEnd = recovered.logEndOffset;
    this.flushed = recovered.logEndOffset;
    this.startOffset = recovered.logStartOffset;
    this.epochs = recovered.epochs;
    this.recent = new RecentBatches(this.now);
    this.indexes = new LoadedIndexes({
      maxLoadedInactive: options.maxLoadedInactiveIndexes ?? DEFAULT_MAX_LOADED_INACTIVE_INDEXES,
      activeSegment: () => this.segments.at(-1),
      rebuild: (segment) => rebuildInactiveIndexes(segment, this.config, this.logger, this.onFsync),
    });
    this.writer = new LogWriter({
      onWritten: (segment, _bytes, endOffset) => {
        this.lastWrittenSegment = segment;
        this.readableEnd = endOffset;
        segment.fileMtimeMs = this.now();
        this.onReadable?.(endOffset);
      },
      syncEveryWrite: () => this.config.flush === 'sync',
      fsyncWritten: () => this.fsyncWritten(),
      onFailure: (err) => this.markFailed(err),
    });
    this.startFlushTimer();
  }

  /** Opens (creating if needed) the partition directory and runs recovery. */
  static async open(dir: string, config: Partial<LogConfig>, options: PartitionLogOptions): Promise<PartitionLog> {
    const resolved = resolveLogConfig(config);
    const now = options.now ?? Date.now;
    const recovered = await recoverLog({ dir, config: resolved, logger: options.logger, nowMs: now(), onFsync: options.onFsync });
    options.logger.debug('partition log opened', {
      dir, logStartOffset: recovered.logStartOffset, logEndOffset: recovered.logEndOffset, segments: recovered.segments.length, clean: recovered.cleanShutdown,
    });
    return new PartitionLog(dir, resolved, options, recovered);
  }

  get logStartOffset(): number { return this.startOffset; }
  /** Offset the next appended record gets (includes appends still being written). */
  get logEndOffset(): number { return this.nextOffset; }
  /** Offsets below this are in the file and can be read. */
  get readableEndOffset(): number { return this.readableEnd; }
  /** Offsets below this are fdatasynced. */
  get flushedOffset(): number { return this.flushed; }
  get currentConfig(): Readonly<LogConfig> { return this.config; }
  /** Damage a read found in bytes that were durable; cleared by a truncation below it. */
  get damage(): LogDamage | null { return this.damageFound; }

  /** Open and not failed: appends and cleaning may proceed. */
  get isOpen(): boolean { return this.state === 'open' && this.failure === null; }

  /** The segments, oldest first, the active one last. For the log cleaner, which only reads them. */
  segmentsForCleaning(): readonly Segment[] {
    return this.segments;
  }

  segmentBaseOffsets(): number[] {
    return this.segments.map((segment) => segment.baseOffset);
  }

  sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.logicalBytes;
    return total;
  }

  updateConfig(config: Partial<LogConfig>): void {
    const before = this.config;
    this.config = resolveLogConfig({ ...this.config, ...config });
    // Restarting the timer on every call would postpone the periodic flush forever when metadata
    // images (which call this) arrive more often than flush.ms.
    if (before.flush !== this.config.flush || before.flushMs !== this.config.flushMs) this.startFlushTimer();
  }

  // ------------------------------------------------------------------ leader epochs

  latestEpoch(): number {
    return this.epochs.latestEpoch();
  }

  epochEntries(): EpochEntry[] {
    return this.epochs.list();
  }

  /** OffsetForLeaderEpoch: where `epoch` ended in this log (see LeaderEpochCache.endOffsetForEpoch). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetForEpoch(epoch, this.nextOffset);
  }

  // ------------------------------------------------------------------ appends

  /**
   * Leader append of batches already checked by validateBatches. Offsets and the leader epoch
   * are written into `batches` in place, synchronously, in call order; the buffer must not be
   * reused until the promise settles. Resolves once written (and fdatasynced for flush=sync).
   * `framed`: the caller's views of `batches` (produce framed them already); they must cover it.
   */
  async append(batches: Buffer, leaderEpoch: number, framed?: readonly RecordBatchView[]): Promise<AppendResult> {
    this.ensureWritable();
    const views = framed ?? frameBatches(batches);
    let span = 0;
    for (const view of views) span += view.lastOffsetDelta + 1;
    const baseOffset = this.nextOffset;
    const segment = this.segmentForAppend(batches.length, baseOffset, baseOffset + span - 1);
    // A failed write reaches markFailed through the writer; the append after it fails too.
    if (this.epochs.assign(leaderEpoch, baseOffset)) this.persistEpochs().catch(() => {});
    const logAppendTimeMs = this.config.messageTimestampType === 'LogAppendTime' ? this.now() : -1;
    let position = segment.logicalBytes;
    let offset = baseOffset;
    for (const view of views) {
      const lastOffset = assignOffsets(view, offset, leaderEpoch);
      if (logAppendTimeMs >= 0) setLogAppendTime(view, logAppendTimeMs);
      segment.observeBatch(position, offset, lastOffset, view.maxTimestamp, view.sizeBytes, this.config.indexIntervalBytes);
      position += view.sizeBytes;
      offset = lastOffset + 1;
    }
    segment.logicalBytes = position;
    this.nextOffset = offset;
    if (views.length === 1 && views[0]!.sizeBytes === batches.length) this.recent.remember(segment, baseOffset, offset, batches);
    else this.recent.clear();
    await this.writer.write(segment, batches, offset);
    return { baseOffset, lastOffset: offset - 1, logAppendTimeMs, logStartOffset: this.startOffset };
  }

  /**
   * Follower append: batches keep the leader's offsets and epochs. The first must start at or
   * after logEndOffset (after, only across a gap left by compaction) and offsets must increase.
   * Checked here (framing, CRC, counts), since these bytes come from another node.
   */
  async appendReplicated(batches: Buffer): Promise<{ lastOffset: number }> {
    this.ensureWritable();
    const checked = validateBatches(batches, { maxBatchBytes: Number.MAX_SAFE_INTEGER, producerInput: false });
    if (!checked.ok) throw new StorageError(StorageErrorCode.CORRUPT_MESSAGE, `replicated batches: ${checked.message}`);
    let expected = this.nextOffset;
    for (const view of checked.batches) {
      if (view.baseOffset < expected) {
        throw new StorageError(StorageErrorCode.INVALID_RECORD, `replicated batch at offset ${view.baseOffset} but the log continues at ${expected}`);
      }
      expected = view.lastOffset + 1;
    }
    const firstOffset = checked.batches[0]!.baseOffset;
    const segment = this.segmentForAppend(batches.length, firstOffset, expected - 1);
    let position = segment.logicalBytes;
    for (const view of checked.batches) {
      if (this.epochs.assign(view.partitionLeaderEpoch, view.baseOffset)) this.persistEpochs().catch(() => {});
      segment.observeBatch(position, view.baseOffset, view.lastOffset, view.maxTimestamp, view.sizeBytes, this.config.indexIntervalBytes);
      position += view.sizeBytes;
    }
    segment.logicalBytes = position;
    this.nextOffset = expected;
    // A follower's appends are not kept (it serves no followers); what a leader kept before is stale.
    this.recent.clear();
    await this.writer.write(segment, batches, expected);
    return { lastOffset: expected - 1 };
  }

  /** The active segment, rolled first when this append would overflow it or it is too old. */
  private segmentForAppend(bytes: number, firstOffset: number, lastOffset: number): Segment {
    const active = this.segments.at(-1)!;
    return mustRoll(active, bytes, lastOffset, this.config, this.now()) ? this.roll(active, firstOffset) : active;
  }

  private roll(previous: Segment, baseOffset: number): Segment {
    previous.sealTimeIndex();
    const next = new Segment(this.dir, baseOffset, this.now());
    this.segments = [...this.segments, next];
    this.indexes.rememberLoadedInactive(previous);
    void this.writer.task(async () => {
      // The old segment is durable before the new file exists: after a crash only the last
      // segment can have a torn tail, which is all recovery scans.
      if (previous.handle !== null) {
        await previous.handle.datasync();
        await this.onFsync?.(previous.logPath);
        this.flushed = Math.max(this.flushed, this.readableEnd);
      }
      await previous.writeIndexFiles(this.onFsync);
      await next.createFile();
      await fsyncDirectory(this.dir, this.onFsync);
    }).catch(() => {}); // failures reach markFailed through the writer
    this.logger.debug('rolled segment', { dir: this.dir, baseOffset });
    return next;
  }

  /**
   * This replica became leader in `epoch`: the epoch starts at the log end, recorded and persisted
   * now (Kafka's makeLeader), queued ahead of any batch of it. The checkpoint then holds the epoch
   * the replication logic already answers OffsetForLeaderEpoch with, even if the leader dies
   * before writing anything. Resolves once fsynced; a refused (not newer) epoch changes nothing.
   */
  assignLeaderEpoch(epoch: number): Promise<void> {
    this.ensureWritable();
    if (!this.epochs.assign(epoch, this.nextOffset)) return Promise.resolve();
    return this.persistEpochs();
  }

  /** Queued ahead of any batch appended after the call, so the checkpoint is on disk first. */
  private persistEpochs(): Promise<void> {
    const text = this.epochs.encode();
    return this.writer.task(() => writeFileAtomic(join(this.dir, LEADER_EPOCH_FILE), text, this.onFsync));
  }

  // ------------------------------------------------------------------ flushing

  async flush(): Promise<void> {
    this.ensureUsable();
    await this.writer.flush();
  }

  private async fsyncWritten(): Promise<void> {
    const target = this.readableEnd;
    const segment = this.lastWrittenSegment;
    if (segment === null || segment.handle === null || target <= this.flushed) return;
    await fdatasyncFd(segment.handle.fd);
    await this.onFsync?.(segment.logPath); // the slow-disk test hook (src/chaos/slow-fsync.ts) returns a promise
    this.flushed = Math.max(this.flushed, target);
  }

  private startFlushTimer(): void {
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    this.flushTimer = null;
    if (this.config.flush !== 'async' || this.state === 'closed') return;
    this.flushTimer = setInterval(() => {
      if (this.state === 'open' && this.failure === null && this.flushed < this.readableEnd) void this.writer.flush().catch(() => {});
    }, this.config.flushMs);
    this.flushTimer.unref();
  }

  // ------------------------------------------------------------------ reads

  /**
   * Whole batches from the one containing `offset`, up to `maxBytes` but at least one batch when
   * one exists below `maxOffset` (exclusive, e.g. the high watermark); never a batch whose
   * baseOffset >= maxOffset. Reads come from one segment per call.
   */
  async read(offset: number, maxBytes: number, maxOffset: number): Promise<ReadResult> {
    this.ensureUsable();
    if (offset < this.startOffset || offset > this.nextOffset) throw new OffsetOutOfRangeError(offset, this.startOffset, this.nextOffset);
    const limitOffset = Math.min(maxOffset, this.readableEnd);
    const empty = { records: Buffer.alloc(0), nextOffset: offset };
    if (offset >= limitOffset) return empty;
    const segments = this.segments;
    // Bounded by the segment count; usually one round (more only across gaps).
    for (let index = floorSegment(segments, offset); index < segments.length; index++) {
      const segment = segments[index]!;
      if (segment.baseOffset >= limitOffset) break;
      const result = await this.indexes.withSegment(segment, offset,
        (start) => readSegmentBatches(segment, start, offset, Math.max(1, maxBytes), limitOffset, this.config.indexIntervalBytes));
      if (result === null) continue;
      if (result.corruptPosition !== null) {
        this.logger.error('refusing a corrupt batch on disk', { file: segment.logPath, position: result.corruptPosition });
        this.noteDamage(segment, result.corruptPosition);
        if (result.records.length === 0) {
          throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `corrupt batch in ${segment.logPath} at position ${result.corruptPosition}`);
        }
      }
      return { records: result.records, nextOffset: result.nextOffset };
    }
    return empty;
  }

  /**
   * read() for a follower's fetch: a batch this node appended as leader moments ago comes from
   * memory (the bytes handed to the writer, checked on the way in) instead of a read back from the
   * segment with a second CRC pass; anything else, or anything older, is read from disk as usual.
   */
  async readForReplica(offset: number, maxBytes: number, maxOffset: number): Promise<ReadResult> {
    this.ensureUsable();
    if (offset >= this.startOffset && offset <= this.nextOffset) {
      const recent = this.recent.read(offset, Math.max(1, maxBytes), Math.min(maxOffset, this.readableEnd));
      if (recent !== null) return recent;
    }
    return this.read(offset, maxBytes, maxOffset);
  }

  /**
   * A read met a batch failing its CRC (or framing) at `position` of `segment`: finds the first
   * offset that cannot be read back (a CRC-checked walk of the segment up to the bad batch; batch
   * headers are not trusted past it) and tells `onDamage`. Once per damage; runs in the background.
   */
  private noteDamage(segment: Segment, position: number): void {
    if (this.damageFound !== null || this.damageCheck !== null || segment.handle === null) return;
    const file = segment.logPath;
    this.damageCheck = (async () => {
      const { fromOffset, problem } = await firstUnreadableOffset(segment.handle!, segment.baseOffset, position);
      if (!this.segments.includes(segment) || fromOffset >= this.nextOffset) return; // truncated away meanwhile
      const damage = { fromOffset, reason: `corrupt batch in ${file} at position ${position}${problem === null ? '' : ` (${problem})`}` };
      this.damageFound = damage;
      this.logger.error('log damaged: offsets from here on cannot be served until repaired', { dir: this.dir, fromOffset, reason: damage.reason });
      this.onDamage?.(damage);
    })().catch((error: unknown) => {
      this.logger.error('could not locate damaged bytes', { file, error: (error as Error).message });
    }).finally(() => { this.damageCheck = null; });
  }

  /** First record at or after `timestampMs` (by batch maxTimestamp, then record timestamps), at or above the log start. */
  async offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    this.ensureUsable();
    return findOffsetForTimestamp(this.segments, this.indexes, timestampMs, this.startOffset);
  }

  /**
   * ListOffsets MAX_TIMESTAMP (KIP-734): the first record carrying the largest timestamp among
   * offsets in [logStartOffset, maxOffset). null when no batch there has a timestamp.
   */
  async maxTimestampOffset(maxOffset: number = this.readableEnd): Promise<{ offset: number; timestamp: number } | null> {
    this.ensureUsable();
    const limitOffset = Math.min(maxOffset, this.readableEnd);
    return findMaxTimestampOffset(this.segments, this.indexes, this.startOffset, limitOffset, () => this.config.indexIntervalBytes);
  }

  // ------------------------------------------------------------------ deletion and truncation

  /** DeleteRecords: moves the log start forward (checkpointed) and deletes segments wholly below it. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.ensureWritable();
    if (offset < 0 || offset > this.nextOffset) throw new OffsetOutOfRangeError(offset, this.startOffset, this.nextOffset);
    if (offset <= this.startOffset) return this.startOffset;
    this.startOffset = offset;
    await this.dropSegmentsBelowStart();
    return this.startOffset;
  }

  /**
   * Deletes the oldest inactive segments past retention (by time and by size; see
   * countPastRetention in segment-list.ts): never the active segment, nor one reaching `highWatermark`.
   */
  async enforceRetention(nowMs: number, highWatermark = Number.POSITIVE_INFINITY): Promise<{ deletedSegments: number }> {
    this.ensureWritable();
    if (this.config.cleanupPolicy?.delete === false) return { deletedSegments: 0 };
    const segments = this.segments;
    const count = countPastRetention(segments, this.config, nowMs, highWatermark);
    if (count === 0) return { deletedSegments: 0 };
    this.startOffset = Math.max(this.startOffset, segments[count]!.baseOffset);
    const deleted = await this.dropSegmentsBelowStart();
    this.logger.info('retention deleted segments', { dir: this.dir, deletedSegments: deleted, logStartOffset: this.startOffset });
    return { deletedSegments: deleted };
  }

  private async dropSegmentsBelowStart(): Promise<number> {
    let count = 0;
    while (count < this.segments.length - 1 && this.segments[count + 1]!.baseOffset <= this.startOffset) count++;
    const doomed = this.segments.slice(0, count);
    this.segments = this.segments.slice(count);
    this.indexes.forget(doomed);
    const epochsChanged = this.epochs.truncateFromStart(this.startOffset);
    const startText = encodeLogStartOffset(this.startOffset);
    const epochText = this.epochs.encode();
    await this.writer.task(() => dropSegmentFiles(this.dir, startText, epochsChanged ? epochText : null, doomed, this.onFsync));
    return count;
  }

  /**
   * Follower truncation: removes every batch holding an offset >= `offset`. The log then ends at
   * `offset`, or at the base of a batch that straddled it. Below the log start, the log is emptied
   * and restarts at `offset`. Appends are refused while this runs.
   */
  async truncateTo(offset: number): Promise<void> {
    this.ensureWritable();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new StorageError(StorageErrorCode.OFFSET_OUT_OF_RANGE, `cannot truncate to ${offset}`);
    if (offset >= this.nextOffset) return;
    await this.whileTruncating(() => (offset < this.startOffset ? this.truncateFully(offset) : this.truncateWithin(offset)));
  }

  /**
   * A follower whose log ends below its leader's log start (what it lacks was deleted there, by
   * retention or DeleteRecords): empties the log and starts it again at `offset`, as Kafka's
   * truncateFullyAndStartAt. Appends are refused while this runs.
   */
  async restartAt(offset: number): Promise<void> {
    this.ensureWritable();
    if (!Number.isSafeInteger(offset) || offset < this.nextOffset) throw new StorageError(StorageErrorCode.OFFSET_OUT_OF_RANGE, `cannot restart the log at ${offset}, below its end ${this.nextOffset}`);
    await this.whileTruncating(() => this.truncateFully(offset));
  }

  private async whileTruncating(task: () => Promise<void>): Promise<void> {
    this.state = 'truncating';
    try {
      await this.writer.task(task);
    } finally {
      if (this.state === 'truncating') this.state = 'open';
    }
  }

  private async truncateWithin(offset: number): Promise<void> {
    const segments = this.segments;
    const index = Math.max(0, floorSegment(segments, offset));
    const segment = segments[index]!;
    const doomed = segments.slice(index + 1);
    const cut = await this.indexes.withSegment(segment, offset, (start) => findCutPosition(segment, start, offset));
    this.segments = segments.slice(0, index + 1);
    this.indexes.forget([segment, ...doomed]);
    // Now the active segment, so its indexes stay in memory; reload them if the LRU dropped them meanwhile.
    await this.indexes.ensureIndexes(segment);
    await cutSegmentFiles(this.dir, segment, doomed, cut.position, () => this.config.indexIntervalBytes, this.onFsync);
    // Cut at a batch: the log ends at `offset`, or at that batch's base if it straddled `offset`.
    // Nothing to cut here (a gap, or damaged bytes, which were cut): it ends after what remains.
    const newEnd = cut.baseOffset === null ? Math.min(offset, segment.nextOffset) : Math.min(offset, cut.baseOffset);
    this.setEnd(newEnd);
    if (this.startOffset > newEnd) {
      // The batch straddling the log start went too: the log cannot start after its end.
      this.startOffset = newEnd;
      await writeFileAtomic(join(this.dir, LOG_START_OFFSET_FILE), encodeLogStartOffset(newEnd), this.onFsync);
    }
    if (this.epochs.truncateFromEnd(newEnd)) await writeFileAtomic(join(this.dir, LEADER_EPOCH_FILE), this.epochs.encode(), this.onFsync);
    this.logger.info('truncated log', { dir: this.dir, requestedOffset: offset, logEndOffset: newEnd });
  }

  private async truncateFully(offset: number): Promise<void> {
    const doomed = this.segments;
    const fresh = new Segment(this.dir, offset, this.now());
    for (const segment of doomed) await segment.deleteFiles();
    await fresh.createFile();
    this.segments = [fresh];
    this.indexes.forgetAll();
    this.startOffset = offset;
    this.setEnd(offset);
    this.epochs.truncateFromEnd(0);
    await writeFileAtomic(join(this.dir, LOG_START_OFFSET_FILE), encodeLogStartOffset(offset), this.onFsync);
    await writeFileAtomic(join(this.dir, LEADER_EPOCH_FILE), this.epochs.encode(), this.onFsync);
    await fsyncDirectory(this.dir, this.onFsync);
    // All there is (nothing, from `offset` on) is durable now, also when `offset` is past the old end.
    this.flushed = offset;
    this.logger.info('emptied log', { dir: this.dir, logStartOffset: offset });
  }

  private setEnd(offset: number): void {
    this.recent.clear();
    if (this.damageFound !== null && offset <= this.damageFound.fromOffset) this.damageFound = null;
    this.nextOffset = offset;
    this.readableEnd = offset;
    this.flushed = Math.min(this.flushed, offset);
    this.lastWrittenSegment = this.segments.at(-1)!;
  }

  // ------------------------------------------------------------------ compaction

  /**
   * Puts `cleaned` (written by the log cleaner as `<base>.log.cleaned`, fdatasynced, with its
   * indexes in memory) in place of `group`, consecutive inactive segments starting at the same
   * base offset, whose sizes were `groupBytes` when cleaned (see segment-swap.ts for the
   * crash-safe order). Runs in the writer queue, so it is
   * ordered with rolls, retention and truncation; only renames, unlinks and fsyncs happen there.
   * false, with the cleaned file deleted, when the log changed meanwhile (the group is no longer
   * there, inactive and the same size) or is closing.
   */
  async replaceWithCleaned(group: readonly Segment[], groupBytes: readonly number[], cleaned: Segment): Promise<boolean> {
    const discard = async (): Promise<false> => {
      await cleaned.close();
      await unlink(cleanedLogPath(this.dir, cleaned.baseOffset)).catch(() => {});
      return false;
    };
    if (!this.isOpen) return discard();
    let replaced = false;
    await this.writer.task(async () => {
      const intactAt = (segments: readonly Segment[]): number => (this.state === 'open' ? intactGroupAt(segments, group, groupBytes) : -1);
      if (intactAt(this.segments) < 0 || cleaned.baseOffset !== group[0]!.baseOffset) return;
      // Readers already inside an old segment must never load its index files (they are about to
      // be deleted or replaced): keep those indexes in memory and out of the LRU.
      for (const segment of group) {
        await this.indexes.ensureIndexes(segment);
        this.indexes.forget([segment]);
      }
      // Checked and switched in one synchronous step: rolls and retention change the segment list
      // outside the writer queue. Reads use the cleaned file from here on (its handle does not
      // care about the name); a failure of the renames below fails the whole log.
      const segments = this.segments;
      const first = intactAt(segments);
      if (first < 0) return;
      const endOffset = segments[first + group.length]!.baseOffset;
      this.segments = [...segments.slice(0, first), cleaned, ...segments.slice(first + group.length)];
      this.recent.clear();
      await commitSwap(this.dir, cleaned.baseOffset, endOffset, this.onFsync);
      await completeSwap(this.dir, cleaned.baseOffset, endOffset, this.onFsync);
      await cleaned.writeIndexFiles(this.onFsync);
      this.indexes.rememberLoadedInactive(cleaned);
      // Handles close once the last reader releases them; the files are already gone or replaced.
      for (const segment of group) void segment.close().catch(() => {});
      replaced = true;
    });
    if (!replaced) await discard();
    return replaced;
  }

  // ------------------------------------------------------------------ closing

  /** Writes what is queued, fdatasyncs, writes the indexes and the clean-shutdown marker, closes files. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    this.recent.clear();
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    this.flushTimer = null;
    if (this.failure === null) {
      try {
        await this.writer.task(async () => {
          const active = this.segments.at(-1)!;
          if (active.handle !== null) {
            await active.handle.datasync();
            this.onFsync?.(active.logPath);
          }
          this.flushed = this.readableEnd;
          active.sealTimeIndex();
          await active.writeIndexFiles(this.onFsync);
          const marker = { segmentBaseOffset: active.baseOffset, segmentBytes: active.writtenBytes, logEndOffset: this.readableEnd };
          await writeFileAtomic(join(this.dir, CLEAN_SHUTDOWN_FILE), encodeCleanShutdownMarker(marker), this.onFsync);
        });
      } catch (err) {
        this.logger.error('partition log did not close cleanly', { dir: this.dir, error: err });
      }
    }
    for (const segment of this.segments) await segment.close();
    this.state = 'closed';
  }

  // ------------------------------------------------------------------ state checks

  private ensureUsable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.state === 'closed' || this.state === 'closing') throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
  }

  private ensureWritable(): void {
    this.ensureUsable();
    if (this.state === 'truncating') throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is being truncated`);
  }

  private markFailed(err: Error): void {
    if (this.failure !== null) return;
    this.recent.clear();
    this.failure = new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} failed: ${err.message}`, { cause: err });
    this.logger.error('partition log failed; reopen to recover', { dir: this.dir, error: err });
    if (isFsyncFailure(err)) this.onFsyncFailure?.(err);
  }
}

