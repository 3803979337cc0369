import type { MetadataImage } from '../../controller/metadata-image.ts';
import { failure, type TopicChangeResult } from '../../controller/topic-requests.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  createPartitionsCodec,
  type CreatePartitionsRequest,
  type CreatePartitionsRequestCreatePartitionsTopic,
  type CreatePartitionsResponse,
  type CreatePartitionsResponseCreatePartitionsTopicResult,
} from '../../protocol/messages/create-partitions.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { ApiHandler } from './api-handler.ts';

type TopicResult = CreatePartitionsResponseCreatePartitionsTopicResult;

/**
 * CreatePartitions: raises a topic's partition count (it never shrinks). Explicit assignments are
 * checked as Kafka checks them; placement itself is the metadata service's. Answers once this node
 * has opened the new partitions.
 */
export const createPartitionsHandler: ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse> = {
  codec: createPartitionsCodec,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, context) {
    const { broker } = context;
    const occurrences = new Map<string, number>();
    for (const topic of request.topics) occurrences.set(topic.name, (occurrences.get(topic.name) ?? 0) + 1);

    const results: TopicResult[] = [];
    const answered = new Set<string>();
    let grown = false;
    for (const topic of request.topics) {
      if (answered.has(topic.name)) continue;
      answered.add(topic.name);
      const outcome = occurrences.get(topic.name)! > 1
        ? failure(ErrorCode.INVALID_REQUEST, `topic ${topic.name} appears more than once in the request`)
        : await growTopic(topic, request.validateOnly, broker);
      if (outcome.errorCode === ErrorCode.NONE && !request.validateOnly) grown = true;
      results.push({ name: topic.name, ...outcome });
    }
    if (grown) await broker.replicas.reconcile(broker.metadata.image());
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    const names = [...new Set(request.topics.map((topic) => topic.name))];
    return { throttleTimeMs: 0, results: names.map((name) => ({ name, errorCode, errorMessage: null })) };
  },
};

async function growTopic(topic: CreatePartitionsRequestCreatePartitionsTopic, validateOnly: boolean, broker: BrokerServices): Promise<TopicChangeResult> {
  if (topic.assignments !== null) {
    const problem = assignmentProblem(topic, broker.metadata.image());
    if (problem) return failure(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem);
  }
  return broker.metadata.createPartitions(topic.name, topic.count, validateOnly);
}

/**
 * Kafka's checks on explicit assignments for the new partitions: one per new partition, distinct
 * live brokers, as many replicas as the existing partitions have. Returns null when they pass or
 * when the topic or count is wrong anyway (the metadata service names that error).
 */
function assignmentProblem(topic: CreatePartitionsRequestCreatePartitionsTopic, image: MetadataImage): string | null {
  const existing = image.topicsByName.get(topic.name);
  if (!existing || topic.count <= existing.partitions.length) return null;
  const added = topic.count - existing.partitions.length;
  const assignments = topic.assignments ?? [];
  if (assignments.length !== added) {
    return `increasing the partition count by ${added} needs ${added} assignment(s), got ${assignments.length}`;
  }
  const replicationFactor = existing.partitions[0]?.replicas.length ?? 0;
  for (let index = 0; index < assignments.length; index++) {
    const brokerIds = assignments[index]!.brokerIds;
    const partition = existing.partitions.length + index;
    if (brokerIds.length === 0 || new Set(brokerIds).size !== brokerIds.length) return `partition ${partition}: replicas must be distinct and not empty`;
    if (brokerIds.length !== replicationFactor) {
      return `partition ${partition}: ${brokerIds.length} replica(s) given but the topic's replication factor is ${replicationFactor}`;
    }
    const unavailable = brokerIds.find((id) => image.brokers.get(id)?.fenced !== false);
    if (unavailable !== undefined) return `partition ${partition}: broker ${unavailable} is not available`;
  }
  return null;
}
