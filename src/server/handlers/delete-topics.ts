import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  deleteTopicsCodec,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DeleteTopicsResponseDeletableTopicResult,
} from '../../protocol/messages/delete-topics.ts';
import { ZERO_UUID } from '../../protocol/reader.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { ApiHandler } from './api-handler.ts';

/** A topic to delete as the request names it: by name (all versions) or, from v6, by topic id. */
interface Target {
  name: string | null;
  topicId: string;
}

type TopicResult = DeleteTopicsResponseDeletableTopicResult;

/**
 * DeleteTopics by name (v1-v5) or by name or topic id (v6). Answers once the deletion is durable in
 * the metadata and this node has removed the partitions' data.
 */
export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  codec: deleteTopicsCodec,
  minVersion: 1,
  maxVersion: 6,
  async handle(request, context) {
    const { broker } = context;
    const targets = requestedTargets(request, context.apiVersion);
    const nameCount = countBy(targets, (target) => target.name);
    const idCount = countBy(targets, (target) => (target.topicId === ZERO_UUID ? null : target.topicId));

    const responses: TopicResult[] = [];
    let deleted = false;
    for (const target of targets) {
      const result = await deleteOne(target, nameCount, idCount, broker);
      if (result.errorCode === ErrorCode.NONE) deleted = true;
      responses.push(result);
    }
    if (deleted) await broker.replicas.reconcile(broker.metadata.image());
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode, context) {
    return {
      throttleTimeMs: 0,
      responses: requestedTargets(request, context.apiVersion).map((target) => result(target.name, target.topicId, errorCode, null)),
    };
  },
};

function requestedTargets(request: DeleteTopicsRequest, apiVersion: number): Target[] {
  if (apiVersion >= 6) return request.topics.map((topic) => ({ name: topic.name, topicId: topic.topicId }));
  return request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
}

async function deleteOne(target: Target, nameCount: Map<string, number>, idCount: Map<string, number>, broker: BrokerServices): Promise<TopicResult> {
  const byId = target.topicId !== ZERO_UUID;
  if (target.name !== null && byId) return result(target.name, target.topicId, ErrorCode.INVALID_REQUEST, 'give either the topic name or the topic id, not both');
  if (target.name === null && !byId) return result(null, target.topicId, ErrorCode.INVALID_REQUEST, 'neither a topic name nor a topic id was given');
  if (target.name !== null && nameCount.get(target.name)! > 1) {
    return result(target.name, target.topicId, ErrorCode.INVALID_REQUEST, `topic ${target.name} appears more than once in the request`);
  }
  if (byId && idCount.get(target.topicId)! > 1) {
    return result(null, target.topicId, ErrorCode.INVALID_REQUEST, `topic id ${target.topicId} appears more than once in the request`);
  }

  const image = broker.metadata.image();
  const topic = byId ? image.topicsById.get(target.topicId) : image.topicsByName.get(target.name!);
  if (!topic) {
    return byId
      ? result(null, target.topicId, ErrorCode.UNKNOWN_TOPIC_ID, `no topic has id ${target.topicId}`)
      : result(target.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${target.name} does not exist`);
  }
  const outcome = await broker.metadata.deleteTopic(topic.name);
  return result(topic.name, topic.topicId, outcome.errorCode, outcome.errorMessage);
}

function countBy(targets: Target[], key: (target: Target) => string | null): Map<string, number> {
  const counts = new Map<string, number>();
  for (const target of targets) {
    const value = key(target);
    if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
}

function result(name: string | null, topicId: string, errorCode: number, errorMessage: string | null): TopicResult {
  return { name, topicId, errorCode, errorMessage };
}
