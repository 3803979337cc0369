// Disk-usage guard (RocketMQ's diskMaxUsedSpaceRatio): above `disk.max.used.ratio` the broker
// refuses appends with KAFKA_STORAGE_ERROR (56) and a clear message instead of filling the disk
// and tearing a segment. statfs results are cached per directory for about a second, and the
// hot-path check is synchronous (it answers from the cache and refreshes in the background) so
// it never reorders appends.
import { statfs } from 'node:fs/promises';
import { StorageError, StorageErrorCode } from './errors.ts';

export interface DiskStats {
  blocks: number;
  bfree: number;
  bavail: number;
}

export interface DiskGuardOptions {
  /** Refuse appends when the used ratio is above this (0..1). */
  maxUsedRatio: number;
  cacheMs?: number;
  now?: () => number;
  statfs?: (dir: string) => Promise<DiskStats>;
}

interface CacheEntry {
  ratio: number;
  atMs: number;
  refreshing: Promise<number> | null;
}

/** Used fraction as `df` shows it: used / (used + available to unprivileged users). */
export function usedRatioOf(stats: DiskStats): number {
  const used = stats.blocks - stats.bfree;
  const usable = used + stats.bavail;
  return usable <= 0 ? 1 : used / usable;
}

export class DiskFullError extends StorageError {
  override readonly name = 'DiskFullError';
  constructor(dir: string, ratio: number, maxUsedRatio: number) {
    super(StorageErrorCode.KAFKA_STORAGE_ERROR, `disk of ${dir} is ${(ratio * 100).toFixed(1)}% used, above disk.max.used.ratio ${maxUsedRatio}; appends refused`);
  }
}

export class DiskGuard {
  private maxUsedRatio: number;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly statDir: (dir: string) => Promise<DiskStats>;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(options: DiskGuardOptions) {
    this.maxUsedRatio = checkRatio(options.maxUsedRatio);
    this.cacheMs = options.cacheMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.statDir = options.statfs ?? ((dir) => statfs(dir));
  }

  setMaxUsedRatio(ratio: number): void {
    this.maxUsedRatio = checkRatio(ratio);
  }

  /** The used ratio of the file system holding `dir` (cached for cacheMs). */
  async usedRatio(dir: string): Promise<number> {
    const entry = this.cache.get(dir);
    if (entry !== undefined && this.now() - entry.atMs < this.cacheMs) return entry.ratio;
    return this.refresh(dir);
  }

  /**
   * Hot-path check: throws DiskFullError when the last known ratio is over the limit. Answers
   * from the cache (refreshing it in the background when stale); unknown directories pass until
   * their first measurement lands, so call `usedRatio` once at startup to prime it.
   */
  checkAppend(dir: string): void {
    const entry = this.cache.get(dir);
    if (entry === undefined || this.now() - entry.atMs >= this.cacheMs) void this.refresh(dir).catch(() => {});
    if (entry !== undefined && entry.ratio > this.maxUsedRatio) throw new DiskFullError(dir, entry.ratio, this.maxUsedRatio);
  }

  private refresh(dir: string): Promise<number> {
    const entry = this.cache.get(dir);
    if (entry?.refreshing) return entry.refreshing;
    const refreshing = this.statDir(dir).then((stats) => {
      const ratio = usedRatioOf(stats);
      this.cache.set(dir, { ratio, atMs: this.now(), refreshing: null });
      return ratio;
    }, (err: unknown) => {
      const current = this.cache.get(dir);
      if (current) current.refreshing = null;
      throw err;
    });
    if (entry) entry.refreshing = refreshing;
    else this.cache.set(dir, { ratio: 0, atMs: Number.NEGATIVE_INFINITY, refreshing });
    return refreshing;
  }
}

function checkRatio(ratio: number): number {
  if (!(ratio > 0 && ratio <= 1)) throw new RangeError(`disk.max.used.ratio ${ratio} must be in (0, 1]`);
  return ratio;
}

const defaultGuard = new DiskGuard({ maxUsedRatio: 1 });

/** Used ratio of the file system holding `dir`, cached for about a second. */
export function diskUsedRatio(dir: string): Promise<number> {
  return defaultGuard.usedRatio(dir);
}
