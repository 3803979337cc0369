// One segment: `<base>.log` (batches exactly as on the wire, offsets assigned) with its sparse
// `<base>.index` and `<base>.timeindex`. File names are the 20-digit zero-padded base offset.
//
// Sizes: `logicalBytes` counts every batch assigned to the segment, `writtenBytes` only those the
// writer has put in the file; reads never look past writtenBytes. The in-memory indexes follow
// logicalBytes (entries for queued batches are harmless: lookups only ask about written offsets).
import { open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { OffsetIndex } from './offset-index.ts';
import { TimeIndex } from './time-index.ts';
import { readFileIfExists, writeFileAtomic, type FsyncHook } from './checkpoint-file.ts';
import { readAt } from './segment-scan.ts';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
const SEGMENT_NAME = /^(\d{20})\.(log|index|timeindex)$/;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

export function parseSegmentFileName(name: string): { baseOffset: number; suffix: string } | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return null;
  const baseOffset = Number(match[1]);
  if (!Number.isSafeInteger(baseOffset)) return null;
  return { baseOffset, suffix: '.' + match[2] };
}

export class Segment {
  readonly baseOffset: number;
  readonly dir: string;
  /** null until the writer creates the file (a freshly rolled segment). */
  handle: FileHandle | null = null;
  logicalBytes = 0;
  writtenBytes = 0;
  /** Last offset of the last batch assigned here; baseOffset - 1 while empty. */
  lastOffset: number;
  /** Largest batch maxTimestamp seen (-1 none) and the base offset of the batch holding it. */
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** When this segment counts as started, for roll by age. */
  rollAnchorMs: number;
  /** File modification time, the retention fallback when no batch carries a timestamp. */
  fileMtimeMs: number;
  /** null while not loaded (inactive segments load them lazily). */
  offsetIndex: OffsetIndex | null = new OffsetIndex();
  timeIndex: TimeIndex | null = new TimeIndex();
  /** The index files on disk hold everything in memory (so memory may be dropped). */
  indexesPersisted = false;
  private bytesSinceIndexEntry = 0;
  private readers = 0;
  private closeRequested = false;
  private closed = false;

  constructor(dir: string, baseOffset: number, nowMs: number) {
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.lastOffset = baseOffset - 1;
    this.rollAnchorMs = nowMs;
    this.fileMtimeMs = nowMs;
  }

  get logPath(): string { return join(this.dir, segmentFileName(this.baseOffset, LOG_SUFFIX)); }
  get indexPath(): string { return join(this.dir, segmentFileName(this.baseOffset, INDEX_SUFFIX)); }
  get timeIndexPath(): string { return join(this.dir, segmentFileName(this.baseOffset, TIME_INDEX_SUFFIX)); }

  /** Offset after the last batch assigned here. */
  get nextOffset(): number { return this.lastOffset + 1; }

  /** Newest timestamp for retention: the largest batch timestamp, else the file's mtime. */
  get retentionTimestampMs(): number {
    return this.maxTimestamp >= 0 ? this.maxTimestamp : this.fileMtimeMs;
  }

  /**
   * Accounts one batch at `position` (append, replication or a recovery scan). An index point is
   * taken BEFORE the batch: its time entry then holds the maximum of everything before the point,
   * which lets truncation and tail scans restore the running maximum exactly (rewindForScan).
   */
  observeBatch(position: number, baseOffset: number, lastOffset: number, maxTimestamp: number, sizeBytes: number, indexIntervalBytes: number): void {
    if (this.bytesSinceIndexEntry >= indexIntervalBytes) {
      this.requireIndexes().offsetIndex.append(baseOffset - this.baseOffset, position);
      if (this.maxTimestamp >= 0) this.timeIndex!.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
      this.bytesSinceIndexEntry = 0;
    }
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    this.bytesSinceIndexEntry += sizeBytes;
    this.lastOffset = lastOffset;
    this.indexesPersisted = false;
  }

  /** When the segment stops being active (roll, close): one last time entry holding its maximum. */
  sealTimeIndex(): void {
    if (this.maxTimestamp >= 0) this.requireIndexes().timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
  }

  /**
   * Rewinds the index state to the last index point before `limitPosition` and returns the
   * position to rescan from (the batch at that point). Every batch before the point is accounted
   * by what is kept; a scan from the returned position must observe the rest.
   */
  rewindForScan(limitPosition: number): number {
    const { offsetIndex, timeIndex } = this.requireIndexes();
    const entry = offsetIndex.lastEntryBefore(limitPosition);
    if (entry < 0) {
      this.resetIndexes();
      return 0;
    }
    const relativeOffset = offsetIndex.relativeOffsetAt(entry);
    offsetIndex.truncateToEntries(entry + 1);
    timeIndex.truncateFromRelativeOffset(relativeOffset);
    this.maxTimestamp = timeIndex.lastTimestamp();
    this.offsetOfMaxTimestamp = timeIndex.entryCount > 0 ? this.baseOffset + timeIndex.lastRelativeOffset() : -1;
    this.bytesSinceIndexEntry = 0;
    this.lastOffset = this.baseOffset + relativeOffset - 1;
    this.indexesPersisted = false;
    return offsetIndex.positionAt(entry);
  }

  /** Forgets everything indexed (a full rescan follows). */
  resetIndexes(): void {
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceIndexEntry = 0;
    this.lastOffset = this.baseOffset - 1;
    this.indexesPersisted = false;
  }

  requireIndexes(): { offsetIndex: OffsetIndex; timeIndex: TimeIndex } {
    if (this.offsetIndex === null || this.timeIndex === null) throw new Error(`indexes of segment ${this.baseOffset} not loaded`);
    return { offsetIndex: this.offsetIndex, timeIndex: this.timeIndex };
  }

  /** Loads both index files; false when either is missing or damaged (caller rebuilds). */
  async loadIndexes(): Promise<boolean> {
    const [indexBytes, timeIndexBytes] = await Promise.all([readFileIfExists(this.indexPath, 2 ** 31), readFileIfExists(this.timeIndexPath, 2 ** 31)]);
    if (indexBytes === null || timeIndexBytes === null) return false;
    const offsetIndex = OffsetIndex.decode(indexBytes, this.writtenBytes);
    const timeIndex = TimeIndex.decode(timeIndexBytes);
    if (offsetIndex === null || timeIndex === null) return false;
    if (timeIndex.entryCount > 0 && this.baseOffset + timeIndex.lastRelativeOffset() > this.lastOffsetBound()) return false;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.indexesPersisted = true;
    return true;
  }

  /** Drops in-memory indexes of an inactive segment whose files are current. */
  unloadIndexes(): void {
    if (!this.indexesPersisted) return;
    this.offsetIndex = null;
    this.timeIndex = null;
  }

  async writeIndexFiles(onFsync?: FsyncHook): Promise<void> {
    const { offsetIndex, timeIndex } = this.requireIndexes();
    await writeFileAtomic(this.indexPath, offsetIndex.encode(), onFsync);
    await writeFileAtomic(this.timeIndexPath, timeIndex.encode(), onFsync);
    this.indexesPersisted = true;
  }

  async createFile(): Promise<void> {
    // 'w+': a file left under this name belongs to a log state that no longer exists.
    this.handle = await open(this.logPath, 'w+');
  }

  async openExisting(): Promise<void> {
    this.handle = await open(this.logPath, 'r+');
    const stats = await this.handle.stat();
    this.logicalBytes = stats.size;
    this.writtenBytes = stats.size;
    this.fileMtimeMs = stats.mtimeMs;
  }

  async read(position: number, length: number): Promise<Buffer> {
    if (this.handle === null) return Buffer.alloc(0);
    return readAt(this.handle, position, length);
  }

  /** Keeps the file handle open while a read uses it (deletion waits for release). */
  acquire(): void {
    this.readers++;
  }

  release(): void {
    this.readers--;
    if (this.readers === 0 && this.closeRequested) void this.closeNow();
  }

  /** Closes the handle now, or after the last reader releases it. */
  async close(): Promise<void> {
    this.closeRequested = true;
    if (this.readers === 0) await this.closeNow();
  }

  async deleteFiles(): Promise<void> {
    await this.close();
    await Promise.all([this.logPath, this.indexPath, this.timeIndexPath].map((path) => unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    })));
  }

  private lastOffsetBound(): number {
    // Without scanning, the last offset of a segment is only known to be below the next base;
    // callers that know better (recovery) set lastOffset first. Unknown: allow the int32 range.
    return this.lastOffset >= this.baseOffset ? this.lastOffset : this.baseOffset + 2 ** 31 - 1;
  }

  private async closeNow(): Promise<void> {
    if (this.closed || this.handle === null) return;
    this.closed = true;
    const handle = this.handle;
    await handle.close();
  }
}
