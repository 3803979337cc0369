import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  defaultListOffsetsResponseListOffsetsPartitionResponse,
  listOffsetsCodec,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type ListOffsetsResponseListOffsetsPartitionResponse,
} from '../../protocol/messages/list-offsets.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';
import { leaderEpochError } from './leader-epoch.ts';

const latestTimestamp = -1;
const earliestTimestamp = -2;
const maxTimestamp = -3;
const earliestLocalTimestamp = -4;

type PartitionAnswer = ListOffsetsResponseListOffsetsPartitionResponse;

/**
 * ListOffsets: earliest (log start), latest (high watermark: consumers never see beyond it; with no
 * transactions the last stable offset is the same), the record with the largest timestamp, or the
 * first record whose timestamp is at or after a given time (through the time index).
 */
export const listOffsetsHandler: ApiHandler<ListOffsetsRequest, ListOffsetsResponse> = {
  codec: listOffsetsCodec,
  minVersion: 1,
  maxVersion: 8,
  async handle(request, context) {
    const topics = await Promise.all(request.topics.map(async (topic) => ({
      name: topic.name,
      partitions: await Promise.all(topic.partitions.map((p) => answer(topic.name, p.partitionIndex, p.timestamp, p.currentLeaderEpoch, context))),
    })));
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => ({ ...defaultListOffsetsResponseListOffsetsPartitionResponse(), partitionIndex: p.partitionIndex, errorCode })),
      })),
    };
  },
};

async function answer(topicName: string, index: number, timestamp: number, currentLeaderEpoch: number, context: RequestContext): Promise<PartitionAnswer> {
  const { broker } = context;
  const base = { ...defaultListOffsetsResponseListOffsetsPartitionResponse(), partitionIndex: index };
  const topic = broker.metadata.image().topicsByName.get(topicName);
  if (!topic || index < 0 || index >= topic.partitions.length) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const partition = broker.replicas.get(topicName, index);
  if (!partition || topic.partitions[index]!.leader !== broker.nodeId) return { ...base, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  // In a cluster the HW is replication's: until it leads this partition, nothing is committed here.
  const leader = broker.replication?.get(topicName, index)?.replica.leader;
  if (broker.replication && !leader) return { ...base, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  const epochError = leaderEpochError(currentLeaderEpoch, partition.leaderEpoch);
  if (epochError !== ErrorCode.NONE) return { ...base, errorCode: epochError };
  // A new leader whose HW has not reached its epoch start may be behind a HW the previous leader
  // showed: answer as Kafka does (KIP-207) rather than let the latest offset go backwards.
  const notYet = leader !== undefined && !leader.highWatermarkKnown ? { ...base, errorCode: ErrorCode.OFFSET_NOT_AVAILABLE } : null;

  const highWatermark = partition.highWatermark;
  switch (timestamp) {
    case latestTimestamp:
      return notYet ?? { ...base, offset: highWatermark, leaderEpoch: partition.leaderEpoch };
    case earliestTimestamp:
    case earliestLocalTimestamp:
      return { ...base, offset: partition.logStartOffset };
    case maxTimestamp: {
      const found = await partition.log.maxTimestampOffset(highWatermark);
      return found ? { ...base, offset: found.offset, timestamp: found.timestamp } : notYet ?? base;
    }
    default: {
      if (timestamp < 0) return { ...base, errorCode: ErrorCode.INVALID_REQUEST };
      const found = await partition.log.offsetForTimestamp(timestamp);
      if (!found || found.offset >= highWatermark) return notYet ?? base;
      return { ...base, offset: found.offset, timestamp: found.timestamp };
    }
  }
}
