// Leader and ISR changes of one partition. Pure: given a partition and which brokers are live
// (registered and unfenced), says what the partition becomes; the controller turns that into a record.
//
// Rules (DESIGN §3, §8):
// - a leader is chosen from the ISR: a replica outside it may lack acknowledged data, so a partition
//   whose ISR has no live member is left leaderless (-1) ... unless unclean election is allowed
//   (`unclean.leader.election.enable` of the topic or the broker default, or an ElectLeaders request
//   of type UNCLEAN): then the first live replica takes over with ISR = [itself], knowingly losing
//   whatever only the old ISR held;
// - a fenced broker leaves the ISR only if a live member remains; otherwise the ISR is kept as it
//   was, so that whichever of its members comes back can lead again with all committed data;
// - preference follows the replica order, so the preferred (first) replica wins when it can;
// - a broker whose storage is full (its disk guard refuses appends) leads only when no live ISR member
//   with room can: a leader that refuses writes but serves reads beats an offline partition, but a
//   partition led by a full broker moves to a member with room as soon as there is one;
// - a leader change bumps the leader epoch; any change bumps the partition epoch.
import { ErrorCode } from '../protocol/error-codes.ts';
import type { PartitionMetadata } from './metadata-image.ts';

export type IsLive = (nodeId: number) => boolean;
/** Whether a broker reported its storage full (metadata `broker-storage`). */
export type IsStorageFull = (nodeId: number) => boolean;

export const noStorageFull: IsStorageFull = () => false;

/** The first of `replicas` (replica order) among `candidates` with room; a full one only when none has room; -1 when none. */
export function leaderAmong(replicas: readonly number[], candidates: readonly number[], isFull: IsStorageFull = noStorageFull): number {
  const eligible = replicas.filter((replica) => candidates.includes(replica));
  return eligible.find((replica) => !isFull(replica)) ?? eligible[0] ?? -1;
}

/** True when `partition` is led by a full broker while a live ISR member with room could lead instead. */
export function leaderShouldLeaveFullStorage(partition: PartitionMetadata, isLive: IsLive, isFull: IsStorageFull): boolean {
  const leader = partition.leader;
  if (leader === -1 || !isFull(leader)) return false;
  return partition.isr.some((id) => id !== leader && isLive(id) && !isFull(id));
}

/**
 * After brokers went down or came up, or reported their storage full: the partition's new leader
 * and ISR, or null when nothing changes.
 */
export function electPartition(partition: PartitionMetadata, isLive: IsLive, uncleanAllowed = false, isFull: IsStorageFull = noStorageFull): PartitionMetadata | null {
  const liveIsr = partition.isr.filter(isLive);
  let isr = liveIsr.length > 0 ? liveIsr : partition.isr;
  let leader = partition.leader;
  if (leader === -1 || !isLive(leader) || !isr.includes(leader) || leaderShouldLeaveFullStorage(partition, isLive, isFull)) {
    leader = leaderAmong(partition.replicas, liveIsr, isFull);
    if (leader === -1 && uncleanAllowed) {
      leader = leaderAmong(partition.replicas, partition.replicas.filter(isLive), isFull);
      if (leader !== -1) isr = [leader];
    }
  }
  return changed(partition, leader, isr);
}

/** True when `next` gave leadership to a replica outside the ISR `before` had (data may be lost). */
export function isUncleanElection(before: PartitionMetadata, next: PartitionMetadata): boolean {
  return next.leader !== -1 && next.leader !== before.leader && !before.isr.includes(next.leader);
}

export type ElectionType = 'preferred' | 'unclean';

/** An election asked for (ElectLeaders, leader balancing): NONE with the new state, or why not. */
export type ElectionOutcome =
  | { errorCode: typeof ErrorCode.NONE; next: PartitionMetadata }
  | { errorCode: number; next: null; message: string };

/**
 * Kafka's ElectLeaders rules for one partition.
 * - preferred: ELECTION_NOT_NEEDED when the first replica already leads; PREFERRED_LEADER_NOT_AVAILABLE
 *   unless it is live and in the ISR, and also while its storage is full and another live ISR member
 *   has room; else it becomes leader (ISR unchanged).
 * - unclean: ELECTION_NOT_NEEDED when the partition has a leader; else a live ISR member leads if
 *   there is one, otherwise the first live replica (ISR = [it]) whatever the topic config says (the
 *   operator asked); ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live.
 */
export function electOnDemand(partition: PartitionMetadata, type: ElectionType, isLive: IsLive, isFull: IsStorageFull = noStorageFull): ElectionOutcome {
  if (type === 'preferred') {
    const preferred = partition.replicas[0]!;
    if (partition.leader === preferred) return refusal(ErrorCode.ELECTION_NOT_NEEDED, `broker ${preferred} already leads`);
    if (!isLive(preferred) || !partition.isr.includes(preferred)) {
      return refusal(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `preferred replica ${preferred} is ${isLive(preferred) ? 'not in the ISR' : 'not available'}`);
    }
    if (leaderShouldLeaveFullStorage({ ...partition, leader: preferred }, isLive, isFull)) {
      return refusal(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `preferred replica ${preferred} has full storage`);
    }
    return { errorCode: ErrorCode.NONE, next: changed(partition, preferred, partition.isr)! };
  }
  if (partition.leader !== -1) return refusal(ErrorCode.ELECTION_NOT_NEEDED, `broker ${partition.leader} leads`);
  const next = electPartition(partition, isLive, true, isFull);
  if (next === null || next.leader === -1) return refusal(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, 'no replica is available');
  return { errorCode: ErrorCode.NONE, next };
}

function refusal(errorCode: number, message: string): ElectionOutcome {
  return { errorCode, next: null, message };
}

function changed(partition: PartitionMetadata, leader: number, isr: number[]): PartitionMetadata | null {
  const isrChanged = isr.length !== partition.isr.length || isr.some((id, index) => partition.isr[index] !== id);
  const leaderChanged = leader !== partition.leader;
  if (!isrChanged && !leaderChanged) return null;
  return {
    partition: partition.partition,
    replicas: [...partition.replicas],
    isr: [...isr],
    leader,
    leaderEpoch: leaderChanged ? partition.leaderEpoch + 1 : partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch + 1,
  };
}
