import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  offsetFetchCodec,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type OffsetFetchResponseOffsetFetchResponseTopics,
} from '../../protocol/messages/offset-fetch.ts';
import type { FetchedOffset, TopicPartitionRef } from '../../coordinator/group-types.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';
import { byTopic } from '../groups/request-helpers.ts';

interface GroupAnswer {
  errorCode: number;
  topics: OffsetFetchResponseOffsetFetchResponseTopics[];
}

/**
 * OffsetFetch: only durable commits are shown. v0-7 ask for one group (v2+: null topics = all
 * committed ones, and a top-level error), v8+ for many. v0-1 have no group-level error, so it is
 * put on every partition asked for, as Kafka does. v0 and v1 are served from __consumer_offsets
 * like the rest (librdkafka < 2.11.1 needs v1 in the range).
 */
export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  codec: offsetFetchCodec,
  minVersion: 0,
  maxVersion: 9,
  handle(request, context) {
    const { apiVersion } = context;
    if (apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: request.groups.map((group) => {
          const wanted = group.topics === null ? null : group.topics.flatMap((topic) => topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition })));
          return { groupId: group.groupId, ...fetchGroup(group.groupId, wanted, request.requireStable, context) };
        }),
      };
    }
    const wanted = request.topics === null ? null : request.topics.flatMap((topic) => topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition })));
    const answer = fetchGroup(request.groupId, wanted, apiVersion >= 7 && request.requireStable, context);
    if (apiVersion <= 1 && answer.errorCode !== ErrorCode.NONE) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [], topics: partitionsWithError(wanted ?? [], answer.errorCode) };
    }
    return { throttleTimeMs: 0, errorCode: answer.errorCode, groups: [], topics: answer.topics };
  },
  errorResponse(request, errorCode, context) {
    if (context.apiVersion >= 8) {
      return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups: request.groups.map((group) => ({ groupId: group.groupId, errorCode, topics: [] })) };
    }
    const wanted = (request.topics ?? []).flatMap((topic) => topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition })));
    return { throttleTimeMs: 0, errorCode, groups: [], topics: context.apiVersion <= 1 ? partitionsWithError(wanted, errorCode) : [] };
  },
};

function fetchGroup(groupId: string, wanted: TopicPartitionRef[] | null, requireStable: boolean, context: RequestContext): GroupAnswer {
  const route = context.broker.groups.route(groupId);
  if (!route.ok) return { errorCode: route.errorCode, topics: [] };
  const result = route.driver.fetchOffsets(groupId, wanted, requireStable);
  if (result.errorCode !== ErrorCode.NONE) return { errorCode: result.errorCode, topics: [] };
  return { errorCode: ErrorCode.NONE, topics: topicsOf(result.partitions) };
}

function topicsOf(partitions: readonly FetchedOffset[]): OffsetFetchResponseOffsetFetchResponseTopics[] {
  return [...byTopic(partitions)].map(([name, entries]) => ({
    name,
    partitions: entries.map((entry) => ({
      partitionIndex: entry.partition,
      committedOffset: entry.offset,
      committedLeaderEpoch: entry.leaderEpoch,
      metadata: entry.metadata,
      errorCode: entry.errorCode,
    })),
  }));
}

function partitionsWithError(wanted: readonly TopicPartitionRef[], errorCode: number): OffsetFetchResponseOffsetFetchResponseTopics[] {
  return topicsOf(wanted.map(({ topic, partition }) => ({ topic, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode })));
}
