import { ErrorCode } from '../../protocol/error-codes.ts';

/**
 * The one comparison of a client's leader epoch with ours (KIP-320): an older epoch is fenced, a newer
 * one means our metadata is behind. -1 means the client does not know the epoch and is not checked.
 */
export function leaderEpochError(clientEpoch: number, currentEpoch: number): number {
  if (clientEpoch < 0 || clientEpoch === currentEpoch) return ErrorCode.NONE;
  return clientEpoch < currentEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
}
