// The background log cleaner of this node: one partition at a time, the dirtiest first (Kafka's
// choice), with reads and writes throttled to log.cleaner.io.max.bytes.per.second. A pass cleans
// one partition, bounded by the offset map's memory budget; when no partition is due the cleaner
// sleeps log.cleaner.backoff.ms. Appends never wait for it: it reads inactive segments only, and
// the swap of a cleaned segment is a few renames in the log's writer queue.
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { BrokerConfig } from '../config/broker-config.ts';
import { cleanLog, CleaningAbortedError, planFor, readCleanerCheckpoint, type CleanResult } from '../storage/log-cleaner.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { Logger } from '../util/log.ts';
import { BackgroundService } from './background-service.ts';

export interface LogCleanerSettings {
  enabled: boolean;
  backoffMs: number;
  ioMaxBytesPerSecond: number;
  /** Memory budget of one pass's key -> offset map. */
  dedupeBufferBytes: number;
}

/** What the cleaner needs of a hosted partition. */
export interface CleanablePartition {
  name: string;
  log: PartitionLog;
  /** Nothing at or above it is compacted. */
  highWatermark: number;
  /** See CleanOptions.isLastBatchOfProducer. */
  isLastBatchOfProducer?: (producerId: number, lastOffset: number) => boolean;
}

/** A partition whose pass failed is left alone for this many backoffs, so it cannot starve the others. */
const FAILURE_BACKOFFS = 10;

export class LogCleanerService extends BackgroundService {
  private readonly firstDirtyOffsets = new WeakMap<PartitionLog, number>();
  private readonly retryAfterMs = new WeakMap<PartitionLog, number>();

  constructor(
    private readonly settings: LogCleanerSettings,
    private readonly partitions: () => CleanablePartition[],
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  static settingsFrom(config: BrokerConfig): LogCleanerSettings {
    return {
      enabled: config.bool('log.cleaner.enable'),
      backoffMs: config.int('log.cleaner.backoff.ms'),
      ioMaxBytesPerSecond: config.int('log.cleaner.io.max.bytes.per.second'),
      dedupeBufferBytes: config.int('log.cleaner.dedupe.buffer.size'),
    };
  }

  protected get enabled(): boolean {
    return this.settings.enabled;
  }

  // stop() ends it after the current step; an unfinished pass leaves only a `.cleaned` file, removed at open.
  protected async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const result = await this.cleanDirtiest().catch((error: unknown) => {
        if (!signal.aborted) this.logger.error('log cleaner pass failed', { error: (error as Error).message });
        return null;
      });
      // After a pass that did work, look again at once (yielding to other work first).
      await sleepMs(result === null ? this.settings.backoffMs : 0, undefined, { signal }).catch(() => {});
    }
  }

  /** One pass: cleans the dirtiest partition that is due; null when none is. */
  async cleanDirtiest(): Promise<CleanResult | null> {
    const nowMs = this.now();
    let best: { partition: CleanablePartition; ratio: number; firstDirtyOffset: number } | null = null;
    for (const partition of this.partitions()) {
      const { log } = partition;
      const config = log.currentConfig;
      if (!config.cleanupPolicy?.compact || !log.isOpen || (this.retryAfterMs.get(log) ?? 0) > nowMs) continue;
      let firstDirtyOffset = this.firstDirtyOffsets.get(log);
      if (firstDirtyOffset === undefined) {
        firstDirtyOffset = await readCleanerCheckpoint(log.dir, this.logger);
        this.firstDirtyOffsets.set(log, firstDirtyOffset);
      }
      const plan = planFor(log, nowMs, partition.highWatermark, firstDirtyOffset);
      if (plan.dirtyBytes === 0 || plan.dirtyRatio < (config.minCleanableDirtyRatio ?? 0.5)) continue;
      if (best === null || plan.dirtyRatio > best.ratio) best = { partition, ratio: plan.dirtyRatio, firstDirtyOffset };
    }
    if (best === null) return null;
    return this.clean(best.partition, best.firstDirtyOffset, nowMs);
  }

  private async clean(partition: CleanablePartition, firstDirtyOffset: number, nowMs: number): Promise<CleanResult | null> {
    const { log } = partition;
    const throttle = new IoThrottle(this.settings.ioMaxBytesPerSecond, this.now, this.stopController.signal);
    const startedMs = this.now();
    try {
      const result = await cleanLog(log, {
        logger: this.logger,
        nowMs,
        highWatermark: partition.highWatermark,
        firstDirtyOffset,
        maxOffsetMapBytes: this.settings.dedupeBufferBytes,
        throttle: (bytes) => throttle.take(bytes),
        isLastBatchOfProducer: partition.isLastBatchOfProducer,
        signal: this.stopController.signal,
      });
      if (!result.cleaned) return null;
      this.firstDirtyOffsets.set(log, result.firstDirtyOffset);
      this.logger.info('compacted partition', {
        partition: partition.name, cleanedUpTo: result.firstDirtyOffset, bytesBefore: result.bytesBefore, bytesAfter: result.bytesAfter,
        recordsRemoved: result.recordsRemoved, segmentsReplaced: result.segmentsReplaced, durationMs: this.now() - startedMs,
      });
      return result;
    } catch (error) {
      if (error instanceof CleaningAbortedError || this.stopController.signal.aborted) {
        this.logger.debug('compaction abandoned', { partition: partition.name, reason: (error as Error).message });
        return null;
      }
      this.retryAfterMs.set(log, this.now() + FAILURE_BACKOFFS * this.settings.backoffMs);
      this.logger.warn('compaction failed; will retry later', { partition: partition.name, error: (error as Error).message });
      return null;
    }
  }
}

/** Holds the cleaner to a byte rate: after each step it sleeps until the bytes so far are due. */
export class IoThrottle {
  private windowStartMs: number;
  private windowBytes = 0;

  constructor(private readonly bytesPerSecond: number, private readonly now: () => number, private readonly signal?: AbortSignal) {
    this.windowStartMs = now();
  }

  async take(bytes: number): Promise<void> {
    this.windowBytes += bytes;
    const elapsedMs = this.now() - this.windowStartMs;
    const dueMs = (this.windowBytes / this.bytesPerSecond) * 1000;
    if (dueMs > elapsedMs) await sleepMs(dueMs - elapsedMs, undefined, this.signal ? { signal: this.signal } : undefined);
    // A fresh window every second, so an idle spell does not bank a burst.
    if (this.now() - this.windowStartMs >= 1000) {
      this.windowStartMs = this.now();
      this.windowBytes = 0;
    }
  }
}
