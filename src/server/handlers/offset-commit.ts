import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  offsetCommitCodec,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from '../../protocol/messages/offset-commit.ts';
import type { OffsetToCommit, PartitionErrorCode } from '../../coordinator/group-types.ts';
import type { ApiHandler } from './api-handler.ts';
import { byTopic } from '../groups/request-helpers.ts';

/**
 * OffsetCommit: answered once the commit is durable in __consumer_offsets. Partitions of topics
 * this cluster does not have get UNKNOWN_TOPIC_OR_PARTITION (as in Kafka) and are not stored.
 * v0-1 are advertised and served because librdkafka < 2.11.1 turns groups off without them;
 * v2-4 carry a retention time; v5+ always use the broker's.
 */
export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  codec: offsetCommitCodec,
  minVersion: 0,
  maxVersion: 9,
  async handle(request, context) {
    const { apiVersion, broker } = context;
    const route = broker.groups.route(request.groupId);
    if (!route.ok) return errorOf(request, route.errorCode);
    const image = broker.metadata.image();
    const answers: PartitionErrorCode[] = [];
    const offsets: OffsetToCommit[] = [];
    for (const topic of request.topics) {
      const partitionCount = image.topicsByName.get(topic.name)?.partitions.length ?? 0;
      for (const partition of topic.partitions) {
        if (partition.partitionIndex < 0 || partition.partitionIndex >= partitionCount) {
          answers.push({ topic: topic.name, partition: partition.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
          continue;
        }
        offsets.push({
          topic: topic.name,
          partition: partition.partitionIndex,
          offset: partition.committedOffset,
          leaderEpoch: apiVersion >= 6 ? partition.committedLeaderEpoch : -1,
          metadata: partition.committedMetadata,
        });
      }
    }
    if (offsets.length > 0) {
      answers.push(...(await route.driver.commitOffsets({
        groupId: request.groupId,
        generationId: request.generationIdOrMemberEpoch,
        memberId: request.memberId,
        groupInstanceId: apiVersion >= 7 ? request.groupInstanceId : null,
        retentionTimeMs: apiVersion >= 2 && apiVersion <= 4 ? request.retentionTimeMs : -1,
        offsets,
      })));
    }
    return {
      throttleTimeMs: 0,
      topics: [...byTopic(answers)].map(([name, partitions]) => ({
        name,
        partitions: partitions.map((entry) => ({ partitionIndex: entry.partition, errorCode: entry.errorCode })),
      })),
    };
  },
  errorResponse(request, errorCode) {
    return errorOf(request, errorCode);
  },
};

function errorOf(request: OffsetCommitRequest, errorCode: number): OffsetCommitResponse {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode })) })),
  };
}
