// One comparison per kind of epoch (STYLE habit 7). A request or metadata update carrying an older
// epoch is refused whole; a newer one than we know means we are the stale party.
import { ErrorCode } from '../protocol/error-codes.ts';

export type EpochComparison = 'current' | 'stale' | 'newer';

function compare(incoming: number, local: number): EpochComparison {
  if (incoming === local) return 'current';
  return incoming < local ? 'stale' : 'newer';
}

/** A request's currentLeaderEpoch against this replica's leader epoch (KIP-320). */
export function compareLeaderEpoch(requestEpoch: number, localEpoch: number): EpochComparison {
  return compare(requestEpoch, localEpoch);
}

/** FENCED_LEADER_EPOCH for an old epoch, UNKNOWN_LEADER_EPOCH for one newer than ours, NONE otherwise. */
export function leaderEpochErrorCode(requestEpoch: number, localEpoch: number): number {
  const comparison = compareLeaderEpoch(requestEpoch, localEpoch);
  if (comparison === 'stale') return ErrorCode.FENCED_LEADER_EPOCH;
  if (comparison === 'newer') return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return ErrorCode.NONE;
}

/** Partition state versions: (leaderEpoch, partitionEpoch) ordered lexicographically. */
export function comparePartitionState(
  incoming: { leaderEpoch: number; partitionEpoch: number },
  local: { leaderEpoch: number; partitionEpoch: number },
): EpochComparison {
  const byLeader = compare(incoming.leaderEpoch, local.leaderEpoch);
  return byLeader === 'current' ? compare(incoming.partitionEpoch, local.partitionEpoch) : byLeader;
}
