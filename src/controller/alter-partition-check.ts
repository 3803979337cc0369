// Whether the controller accepts one AlterPartition (an ISR change asked by a partition leader),
// and the partition state it would commit. The controller commits the ISR changes that arrive
// together in one Raft entry (a broker that leads a thousand new partitions sends a thousand of
// them at once); `accepted` holds the changes already taken into that entry, so a request is checked
// against them as if each were committed before it, exactly as one at a time would check it.
import { ErrorCode } from '../protocol/error-codes.ts';
import { reportedPartition } from './broker-request-checks.ts';
import type { ClusterMetadataImage } from './metadata-image-builder.ts';
import type { PartitionMetadata, TopicMetadata } from './metadata-image.ts';
import type { AlterPartitionControllerRequest } from './quorum-controller.ts';

export function alterPartitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/**
 * Applied only when the sender is the current leader with the current broker epoch, leader epoch
 * AND partition epoch; every accepted request bumps the partition epoch, even one that leaves the
 * ISR as it is (the leader relies on that to know no older copy of its request can still apply).
 * Members added to the ISR must be registered and unfenced (INELIGIBLE_REPLICA): a fenced broker
 * may have lost data. A number is the error code of a refusal.
 */
export function checkAlterPartition(image: ClusterMetadataImage, request: AlterPartitionControllerRequest, accepted: ReadonlyMap<string, PartitionMetadata>): number | { topic: TopicMetadata; next: PartitionMetadata } {
  const target = reportedPartition(image, request);
  if (typeof target === 'number') return target;
  const { topic } = target;
  const partition = accepted.get(alterPartitionKey(request.topicId, request.partition)) ?? target.partition;
  if (request.leaderEpoch !== partition.leaderEpoch) return request.leaderEpoch < partition.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
  if (partition.leader !== request.brokerId) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  if (request.partitionEpoch !== partition.partitionEpoch) return ErrorCode.INVALID_UPDATE_VERSION;
  const isr = request.newIsr;
  const malformed = isr.length === 0 || new Set(isr).size !== isr.length || !isr.includes(partition.leader) || isr.some((id) => !partition.replicas.includes(id));
  if (malformed) return ErrorCode.INVALID_REQUEST;
  for (const nodeId of isr) {
    if (partition.isr.includes(nodeId)) continue;
    const member = image.brokers.get(nodeId);
    if (member === undefined || member.fenced) return ErrorCode.INELIGIBLE_REPLICA;
  }
  return { topic, next: { ...partition, isr: [...isr], partitionEpoch: partition.partitionEpoch + 1 } };
}
