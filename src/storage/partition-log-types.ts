// The types PartitionLog's callers see (re-exported by partition-log.ts).
import type { Logger } from '../util/log.ts';
import type { FsyncHook } from './checkpoint-file.ts';

export interface PartitionLogOptions {
  logger: Logger;
  now?: () => number;
  /** Called after every fsync/fdatasync (tests count them). */
  onFsync?: FsyncHook;
  /** Inactive segments whose indexes stay in memory (least recently used are dropped). */
  maxLoadedInactiveIndexes?: number;
  /**
   * An fsync (or fdatasync) failed. The log is failed already; the host decides what else stops
   * (the broker halts: after a failed fsync the kernel may have dropped the dirty pages, so
   * retrying and carrying on could acknowledge data that is not on disk — "fsyncgate").
   */
  onFsyncFailure?: (error: Error) => void;
}

/** Bytes of this log that were durable and are damaged now (found by a read's CRC check). */
export interface LogDamage {
  /** The first offset that cannot be read back (everything below it is intact as far as known). */
  fromOffset: number;
  reason: string;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface ReadResult {
  records: Buffer;
  nextOffset: number;
}
