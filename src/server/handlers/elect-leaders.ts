import { planElections, type ElectLeadersTopic } from '../../controller/elect-leaders-plan.ts';
import type { ElectionType } from '../../controller/partition-election.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  electLeadersCodec,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
  type ElectLeadersResponseReplicaElectionResult,
} from '../../protocol/messages/elect-leaders.ts';
import type { ApiHandler } from './api-handler.ts';

const electionTypes: Record<number, ElectionType> = { 0: 'preferred', 1: 'unclean' };

/**
 * ElectLeaders (KIP-183, KIP-460): a preferred (0) or unclean (1) leader election for the partitions
 * given, or for every partition when the list is null. In a cluster it is forwarded to the active
 * controller and answered once this node applied the elections; a single node's partitions are
 * always led by their only (preferred) replica, so it answers from its image: ELECTION_NOT_NEEDED.
 */
export const electLeadersHandler: ApiHandler<ElectLeadersRequest, ElectLeadersResponse> = {
  codec: electLeadersCodec,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const { broker } = context;
    // Version 0 has no election type: always preferred.
    const type = electionTypes[context.apiVersion === 0 ? 0 : request.electionType];
    if (type === undefined) return errorResponse(request, ErrorCode.INVALID_REQUEST, `election type ${request.electionType} is unknown`);
    const topics: ElectLeadersTopic[] | null = request.topicPartitions?.map((entry) => ({ topic: entry.topic, partitions: entry.partitions })) ?? null;
    if (broker.metadata.electLeaders === undefined) {
      const image = broker.metadata.image();
      const plan = planElections(image, type, topics, (nodeId) => image.brokers.get(nodeId)?.fenced === false);
      return response(plan.topics);
    }
    const result = await broker.metadata.electLeaders(type, topics);
    if (result === null) return errorResponse(request, ErrorCode.REQUEST_TIMED_OUT, 'no active controller answered in time');
    return response(result.topics);
  },
  errorResponse(request, errorCode) {
    return errorResponse(request, errorCode, null);
  },
};

function response(topics: Array<{ topic: string; partitions: Array<{ partition: number; errorCode: number; errorMessage: string | null }> }>): ElectLeadersResponse {
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    replicaElectionResults: topics.map((topic) => ({
      topic: topic.topic,
      partitionResult: topic.partitions.map((p) => ({ partitionId: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    })),
  };
}

/** One error for the whole request: top level (v1+) and on every partition asked for (v0 has only those). */
function errorResponse(request: ElectLeadersRequest, errorCode: number, errorMessage: string | null): ElectLeadersResponse {
  const results: ElectLeadersResponseReplicaElectionResult[] = (request.topicPartitions ?? []).map((entry) => ({
    topic: entry.topic,
    partitionResult: [...new Set(entry.partitions)].map((partitionId) => ({ partitionId, errorCode, errorMessage })),
  }));
  return { throttleTimeMs: 0, errorCode, replicaElectionResults: results };
}
