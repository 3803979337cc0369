// Pure checks the quorum controller applies to what brokers send it (registrations, requests that
// carry a broker epoch) and the live-broker view topic placement gets. Kept apart from
// quorum-controller.ts to keep that file to request handling; deterministic (purity.test.ts).
import { ErrorCode } from '../protocol/error-codes.ts';
import type { ClusterMetadataImage } from './metadata-image-builder.ts';
import type { PartitionMetadata, TopicMetadata } from './metadata-image.ts';
import { metadataRecordLimits } from './metadata-records.ts';
// Type-only, so no runtime cycle: the request shape stays declared (and exported) where its users import it.
import type { BrokerRegistrationRequest } from './quorum-controller.ts';

/** The one place broker epochs are compared: older is stale; newer means this controller lags the log. */
export function compareBrokerEpoch(requestEpoch: number, registeredEpoch: number): number {
  if (requestEpoch < registeredEpoch) return ErrorCode.STALE_BROKER_EPOCH;
  if (requestEpoch > registeredEpoch) return ErrorCode.NOT_CONTROLLER;
  return ErrorCode.NONE;
}

export function liveBrokers(image: ClusterMetadataImage): { brokerIds: number[]; racks: Map<number, string | null> } {
  const live = [...image.brokers.values()].filter((broker) => !broker.fenced).sort((a, b) => a.nodeId - b.nodeId);
  return { brokerIds: live.map((broker) => broker.nodeId), racks: new Map(live.map((broker) => [broker.nodeId, broker.rack])) };
}

export function registrationProblem(request: BrokerRegistrationRequest): string | null {
  const { stringLengthMax } = metadataRecordLimits;
  if (!Number.isSafeInteger(request.nodeId) || request.nodeId < 0 || request.nodeId > 2 ** 31 - 1) return `node id ${request.nodeId} is not a non-negative int32`;
  if (typeof request.incarnationId !== 'string' || request.incarnationId.length === 0 || request.incarnationId.length > stringLengthMax) return 'incarnation id must be a non-empty string';
  if (typeof request.host !== 'string' || request.host.length === 0 || request.host.length > stringLengthMax) return 'host must be a non-empty string';
  if (typeof request.internalHost !== 'string' || request.internalHost.length > stringLengthMax) return 'internal host must be a string';
  if (request.rack !== null && (typeof request.rack !== 'string' || request.rack.length > stringLengthMax)) return 'rack must be a string or null';
  for (const [name, port] of [['port', request.port], ['internal port', request.internalPort]] as const) {
    if (!Number.isSafeInteger(port) || port < 0 || port > 65535) return `${name} ${port} is out of range`;
  }
  return null;
}

/**
 * The partition a broker's request (AlterPartition, ReplicaLostData) is about, or the error code
 * that refuses it: the broker must be registered with this very epoch and the partition must exist.
 */
export function reportedPartition(image: ClusterMetadataImage, request: { brokerId: number; brokerEpoch: number; topicId: string; partition: number }): number | { topic: TopicMetadata; partition: PartitionMetadata } {
  const broker = image.brokers.get(request.brokerId);
  if (broker === undefined) return ErrorCode.BROKER_ID_NOT_REGISTERED;
  const epochProblem = compareBrokerEpoch(request.brokerEpoch, broker.brokerEpoch);
  if (epochProblem !== ErrorCode.NONE) return epochProblem;
  const topic = image.topicsById.get(request.topicId);
  const partition = topic?.partitions[request.partition];
  if (topic === undefined || partition === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  return { topic, partition };
}
