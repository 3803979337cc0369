import {
  offsetDeleteCodec,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../protocol/messages/offset-delete.ts';
import type { ApiHandler } from './api-handler.ts';
import { byTopic } from '../groups/request-helpers.ts';

/**
 * OffsetDelete: drops committed offsets of partitions the group is not subscribed to
 * (GROUP_SUBSCRIBED_TO_TOPIC otherwise), answered once the tombstones are durable.
 */
export const offsetDeleteHandler: ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> = {
  codec: offsetDeleteCodec,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const route = context.broker.groups.route(request.groupId);
    if (!route.ok) return { errorCode: route.errorCode, throttleTimeMs: 0, topics: [] };
    const partitions = request.topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionIndex })));
    const result = await route.driver.deleteOffsets(request.groupId, partitions);
    return {
      errorCode: result.errorCode,
      throttleTimeMs: 0,
      topics: [...byTopic(result.partitions)].map(([name, entries]) => ({
        name,
        partitions: entries.map((entry) => ({ partitionIndex: entry.partition, errorCode: entry.errorCode })),
      })),
    };
  },
  errorResponse(_request, errorCode) {
    return { errorCode, throttleTimeMs: 0, topics: [] };
  },
};
