// Leader and ISR changes when brokers become fenced or unfenced. Pure: given a partition and which
// brokers are live (registered and unfenced) after the change, says what the partition becomes.
//
// Rules (DESIGN §3, §8):
// - a leader is only ever chosen from the ISR (no unclean election): a replica outside the ISR may
//   lack committed data, so a partition whose ISR has no live member is left leaderless (-1);
// - a fenced broker leaves the ISR only if a live member remains; otherwise the ISR is kept as it
//   was, so that whichever of its members comes back can lead again with all committed data;
// - preference follows the replica order, so the preferred (first) replica wins when it can;
// - a leader change bumps the leader epoch; any change bumps the partition epoch.
import type { PartitionMetadata } from './metadata-image.ts';

export function electPartition(partition: PartitionMetadata, isLive: (nodeId: number) => boolean): PartitionMetadata | null {
  const liveIsr = partition.isr.filter(isLive);
  const isr = liveIsr.length > 0 ? liveIsr : partition.isr;
  let leader = partition.leader;
  if (leader === -1 || !isLive(leader) || !isr.includes(leader)) {
    leader = partition.replicas.find((replica) => liveIsr.includes(replica)) ?? -1;
  }
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
