// The Kafka error codes the coordinator answers with come from the protocol layer's one catalog
// (a table of constants, no I/O); this file adds the coordinator's translations of append errors.
import { ErrorCode } from '../protocol/error-codes.ts';

export { ErrorCode };
export type { ErrorCodeValue } from '../protocol/error-codes.ts';

/**
 * Translates the error of a failed append to __consumer_offsets into what a group member is told
 * (Kafka's GroupMetadataManager.storeGroup): the member must go and find the coordinator again
 * rather than see a storage error it cannot act on.
 */
export function groupWriteErrorFromAppendError(appendErrorCode: number): number {
  switch (appendErrorCode) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.REBALANCE_IN_PROGRESS;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return appendErrorCode;
  }
}

/** The same translation for offset commits (Kafka's GroupMetadataManager.storeOffsets). */
export function offsetCommitErrorFromAppendError(appendErrorCode: number): number {
  switch (appendErrorCode) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return appendErrorCode;
  }
}
