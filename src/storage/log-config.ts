// Per-partition log settings with Kafka's defaults; validated once so the log never has to
// second-guess them.
import { StorageError, StorageErrorCode } from './errors.ts';

export interface LogConfig {
  /** Roll when the active segment would exceed this (also the int32 position limit of the index). */
  segmentBytes: number;
  /** Roll a non-empty active segment older than this. */
  segmentMs: number;
  /** Delete inactive segments whose newest timestamp is older than this; -1 = keep forever. */
  retentionMs: number;
  /** Delete the oldest inactive segments while the log stays at or above this; -1 = no size limit. */
  retentionBytes: number;
  /** Largest batch (including the 12-byte log overhead) a producer may append. */
  maxMessageBytes: number;
  /** sync: an append resolves after fdatasync (group commit); async: fdatasync every flushMs. */
  flush: 'sync' | 'async';
  flushMs: number;
  /** Bytes of batches between two sparse index entries. */
  indexIntervalBytes: number;
  /** LogAppendTime stamps each batch with the broker clock (the CRC is then recomputed). */
  messageTimestampType?: 'CreateTime' | 'LogAppendTime';
  /** cleanup.policy: 'delete' runs retention, 'compact' the log cleaner; both may be on. */
  cleanupPolicy?: CleanupPolicy;
  /** Compaction: a tombstone (null value) stays this long after its segment's newest record. */
  deleteRetentionMs?: number;
  /** Compaction: records newer than this are not compacted yet (whole segments). */
  minCompactionLagMs?: number;
  /** Compaction: clean once dirty bytes / cleanable bytes reaches this. */
  minCleanableDirtyRatio?: number;
}

export interface CleanupPolicy {
  delete: boolean;
  compact: boolean;
}

/** Parses Kafka's cleanup.policy list ("delete", "compact", "compact,delete"). */
export function parseCleanupPolicy(text: string): CleanupPolicy {
  const items = text.split(',').map((item) => item.trim());
  return { delete: items.includes('delete'), compact: items.includes('compact') };
}

const MAX_INT32 = 2 ** 31 - 1;
const DAY_MS = 24 * 60 * 60 * 1000;

export const defaultLogConfig: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  maxMessageBytes: 1048588,
  flush: 'async',
  flushMs: 1000,
  indexIntervalBytes: 4096,
  messageTimestampType: 'CreateTime',
  cleanupPolicy: Object.freeze({ delete: true, compact: false }),
  deleteRetentionMs: DAY_MS,
  minCompactionLagMs: 0,
  minCleanableDirtyRatio: 0.5,
});

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `log config ${name}=${value} must be an integer in [${min}, ${max}]`);
  }
}

/** Fills defaults and checks ranges; throws StorageError naming the bad setting. */
export function resolveLogConfig(partial: Partial<LogConfig> = {}): LogConfig {
  const config: LogConfig = { ...defaultLogConfig, ...partial };
  requireInteger('segmentBytes', config.segmentBytes, 1, MAX_INT32);
  requireInteger('segmentMs', config.segmentMs, 1, Number.MAX_SAFE_INTEGER);
  if (config.retentionMs !== -1) requireInteger('retentionMs', config.retentionMs, 0, Number.MAX_SAFE_INTEGER);
  if (config.retentionBytes !== -1) requireInteger('retentionBytes', config.retentionBytes, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('maxMessageBytes', config.maxMessageBytes, 61, MAX_INT32);
  requireInteger('flushMs', config.flushMs, 1, MAX_INT32);
  requireInteger('indexIntervalBytes', config.indexIntervalBytes, 1, MAX_INT32);
  requireInteger('deleteRetentionMs', config.deleteRetentionMs!, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('minCompactionLagMs', config.minCompactionLagMs!, 0, Number.MAX_SAFE_INTEGER);
  const ratio = config.minCleanableDirtyRatio!;
  if (!(ratio >= 0 && ratio <= 1)) throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `log config minCleanableDirtyRatio=${ratio} must be in [0, 1]`);
  if (config.flush !== 'sync' && config.flush !== 'async') {
    throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `log config flush=${String(config.flush)} must be sync or async`);
  }
  return config;
}
