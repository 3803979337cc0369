// A replica reports that it lost data of a partition (recovery cut damaged or unflushed bytes, or
// a read found a batch failing its CRC). Pure: given the partition and which brokers are live,
// says what the partition becomes.
//
// Rules (issue 5, item 7):
// - the reporter leaves the ISR: it may lack committed data, so it must never be elected while it
//   does; it rejoins through AlterPartition once it has caught up from the leader;
// - if it led the partition, a new leader is chosen from the remaining live ISR, preferred
//   replica first (leader epoch bumped), as partition-election.ts does;
// - if it was the last ISR member, the ISR becomes empty and the partition has no leader: it stays
//   offline rather than elect a replica that lost acknowledged data (only an unclean election,
//   where a topic allows it, may end that); a last member whose only loss is what a crash with
//   flush=async left unflushed does not report it (replicated-partition.ts), so a whole-cluster
//   crash does not take every partition offline;
// - a reporter outside the ISR changes nothing (it is already never elected).
import type { PartitionMetadata } from './metadata-image.ts';
import { leaderAmong, noStorageFull, type IsStorageFull } from './partition-election.ts';

export function removeReplicaWithLostData(partition: PartitionMetadata, brokerId: number, isLive: (nodeId: number) => boolean, isFull: IsStorageFull = noStorageFull): PartitionMetadata | null {
  if (!partition.isr.includes(brokerId)) return null;
  const isr = partition.isr.filter((id) => id !== brokerId);
  let leader = partition.leader;
  if (leader === brokerId || (leader !== -1 && !isr.includes(leader))) {
    // Replica order, a member whose storage is full only when none has room (partition-election.ts).
    leader = leaderAmong(partition.replicas, isr.filter(isLive), isFull);
  }
  return {
    partition: partition.partition,
    replicas: [...partition.replicas],
    isr,
    leader,
    leaderEpoch: leader !== partition.leader ? partition.leaderEpoch + 1 : partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch + 1,
  };
}
