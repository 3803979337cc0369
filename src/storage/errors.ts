// Storage errors carry the Kafka error code a handler should answer with, so callers map them
// without string matching.

export const StorageErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  INVALID_RECORD: 87,
  /** I/O failure, corruption found on disk, a failed or closed log, or the disk-usage guard. */
  KAFKA_STORAGE_ERROR: 56,
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  override readonly name: string = 'StorageError';
  readonly kafkaErrorCode: StorageErrorCode;

  constructor(kafkaErrorCode: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kafkaErrorCode = kafkaErrorCode;
  }
}

export class OffsetOutOfRangeError extends StorageError {
  override readonly name = 'OffsetOutOfRangeError';
  readonly logStartOffset: number;
  readonly logEndOffset: number;

  constructor(offset: number, logStartOffset: number, logEndOffset: number) {
    super(StorageErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} outside [${logStartOffset}, ${logEndOffset}]`);
    this.logStartOffset = logStartOffset;
    this.logEndOffset = logEndOffset;
  }
}

/** An error from fsync/fdatasync (or EIO, which a write can also report for an earlier failed writeback). */
export function isFsyncFailure(err: Error): boolean {
  const { code, syscall } = err as NodeJS.ErrnoException;
  return code === 'EIO' || syscall === 'fsync' || syscall === 'fdatasync';
}
