// Which segments have their sparse indexes in memory. The active segment's are built in memory
// by this process and always kept; inactive segments' are loaded on demand (one load per segment
// at a time) and kept only for the most recently used few (LRU).
import { INDEX_MISMATCH, type StartPoint } from './segment-reader.ts';
import type { Segment } from './segment.ts';
import { StorageError, StorageErrorCode } from './errors.ts';

export interface LoadedIndexesOptions {
  /** Inactive segments whose indexes stay in memory (least recently used are dropped). */
  maxLoadedInactive: number;
  /** The log's active segment now (the segment list changes under this object). */
  activeSegment: () => Segment | undefined;
  /** Rebuilds a segment's index files from its log (rebuildInactiveIndexes with the log's current config). */
  rebuild: (segment: Segment) => Promise<void>;
}

export class LoadedIndexes {
  private readonly options: LoadedIndexesOptions;
  private loadedInactive: Segment[] = [];
  private readonly indexLoads = new Map<Segment, Promise<void>>();

  constructor(options: LoadedIndexesOptions) {
    this.options = options;
  }

  /**
   * Runs `work` from the index position for `offset` with the segment's file held open and its
   * indexes loaded. When the index entry does not match the log (a damaged index file that looked
   * plausible) the index is rebuilt from the log and `work` runs once more.
   */
  async withSegment<T>(segment: Segment, offset: number | ((loaded: Segment) => number), work: (start: StartPoint) => Promise<T | typeof INDEX_MISMATCH>): Promise<T> {
    segment.acquire();
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        await this.ensureIndexes(segment);
        const target = typeof offset === 'number' ? offset : offset(segment);
        const result = await work(startPointFor(segment, target));
        if (result !== INDEX_MISMATCH) return result;
        if (segment === this.options.activeSegment()) break; // built in memory by this process: cannot be damaged
        await this.options.rebuild(segment);
      }
      throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `index of ${segment.logPath} does not match the log`);
    } finally {
      segment.release();
    }
  }

  async ensureIndexes(segment: Segment): Promise<void> {
    if (segment.offsetIndex !== null) {
      if (segment !== this.options.activeSegment()) this.rememberLoadedInactive(segment);
      return;
    }
    let loading = this.indexLoads.get(segment);
    if (loading === undefined) {
      loading = (async () => {
        if (!(await segment.loadIndexes())) await this.options.rebuild(segment);
      })().finally(() => this.indexLoads.delete(segment));
      this.indexLoads.set(segment, loading);
    }
    await loading;
    this.rememberLoadedInactive(segment);
  }

  /** LRU of inactive segments with indexes in memory; the oldest beyond the limit are dropped. */
  rememberLoadedInactive(segment: Segment): void {
    const list = this.loadedInactive.filter((entry) => entry !== segment);
    list.push(segment);
    while (list.length > this.options.maxLoadedInactive) {
      const dropped = list.shift()!;
      if (dropped !== this.options.activeSegment()) dropped.unloadIndexes();
    }
    this.loadedInactive = list;
  }

  /** Takes `segments` out of the LRU (their indexes stay loaded: they are deleted, replaced or active now). */
  forget(segments: readonly Segment[]): void {
    this.loadedInactive = this.loadedInactive.filter((entry) => !segments.includes(entry));
  }

  forgetAll(): void {
    this.loadedInactive = [];
  }
}

/** Where to start walking a segment (with loaded indexes) for `offset`. */
function startPointFor(segment: Segment, offset: number): StartPoint {
  const index = segment.offsetIndex!;
  const entry = index.floorEntry(Math.max(0, offset - segment.baseOffset));
  if (entry < 0) return { position: 0, expectedOffset: null };
  return { position: index.positionAt(entry), expectedOffset: segment.baseOffset + index.relativeOffsetAt(entry) };
}
