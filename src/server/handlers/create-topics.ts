import type { TopicMetadata } from '../../controller/metadata-image.ts';
import type { CreateTopicRequest } from '../../controller/topic-requests.ts';
import { validateConfigs } from '../../controller/topic-validation.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  createTopicsCodec,
  type CreateTopicsRequest,
  type CreateTopicsRequestCreatableTopic,
  type CreateTopicsResponse,
  type CreateTopicsResponseCreatableTopicResult,
} from '../../protocol/messages/create-topics.ts';
import { ZERO_UUID } from '../../protocol/reader.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { ApiHandler } from './api-handler.ts';
import { topicConfigEntries } from './describe-configs.ts';

/** Raft's own log lives in `<data dir>/__cluster_metadata-0`; a user topic of that name would share the directory. */
const clusterMetadataTopic = '__cluster_metadata';

type TopicResult = CreateTopicsResponseCreatableTopicResult;

/**
 * CreateTopics: each topic is checked and created on its own (one bad topic does not fail the
 * others). Answers once the metadata change is durable and this node has opened the new
 * partitions, so a produce right after the answer finds them.
 */
export const createTopicsHandler: ApiHandler<CreateTopicsRequest, CreateTopicsResponse> = {
  codec: createTopicsCodec,
  minVersion: 2,
  maxVersion: 7,
  async handle(request, context) {
    const { broker } = context;
    const validateOnly = request.validateOnly;
    const occurrences = new Map<string, number>();
    for (const topic of request.topics) occurrences.set(topic.name, (occurrences.get(topic.name) ?? 0) + 1);

    const results: TopicResult[] = [];
    const answered = new Set<string>();
    let created = false;
    // One at a time: replica placement depends on the topics that exist, so the order must be the request's.
    for (const topic of request.topics) {
      if (answered.has(topic.name)) continue;
      answered.add(topic.name);
      if (occurrences.get(topic.name)! > 1) {
        results.push(failed(topic.name, ErrorCode.INVALID_REQUEST, `topic ${topic.name} appears more than once in the request`));
        continue;
      }
      const result = await createOne(topic, validateOnly, broker);
      if (result.errorCode === ErrorCode.NONE && !validateOnly) created = true;
      results.push(result);
    }
    if (created) await broker.replicas.reconcile(broker.metadata.image());
    return { throttleTimeMs: 0, topics: results };
  },
  errorResponse(request, errorCode) {
    const names = [...new Set(request.topics.map((topic) => topic.name))];
    return { throttleTimeMs: 0, topics: names.map((name) => failed(name, errorCode, null)) };
  },
};

async function createOne(topic: CreateTopicsRequestCreatableTopic, validateOnly: boolean, broker: BrokerServices): Promise<TopicResult> {
  if (topic.name === clusterMetadataTopic) {
    return failed(topic.name, ErrorCode.INVALID_REQUEST, `${clusterMetadataTopic} is the internal metadata log and cannot be created as a topic`);
  }
  const configs: Record<string, string> = {};
  for (const config of topic.configs) {
    if (config.value === null) return failed(topic.name, ErrorCode.INVALID_CONFIG, `topic config ${config.name} has a null value`);
    if (Object.hasOwn(configs, config.name)) return failed(topic.name, ErrorCode.INVALID_REQUEST, `topic config ${config.name} is given more than once`);
    configs[config.name] = config.value;
  }
  const creation: CreateTopicRequest = {
    name: topic.name,
    numPartitions: topic.numPartitions,
    replicationFactor: topic.replicationFactor,
    assignments: topic.assignments.map((assignment) => ({ partition: assignment.partitionIndex, brokerIds: assignment.brokerIds })),
    configs,
  };
  const outcome = await broker.metadata.createTopic(creation, validateOnly);
  if (outcome.errorCode !== ErrorCode.NONE) return failed(topic.name, outcome.errorCode, outcome.errorMessage);

  if (validateOnly) {
    const validated = validateConfigs(configs);
    return succeeded(topic.name, ZERO_UUID, plannedShape(creation, broker), 'errorCode' in validated ? {} : validated.configs, broker);
  }
  const stored = broker.metadata.image().topicsByName.get(topic.name);
  // Deleted again between the commit and this read by a concurrent request: the creation did happen.
  if (!stored) return succeeded(topic.name, outcome.topicId ?? ZERO_UUID, plannedShape(creation, broker), configs, broker);
  return succeeded(stored.name, stored.topicId, actualShape(stored), stored.configs, broker);
}

interface TopicShape {
  numPartitions: number;
  replicationFactor: number;
}

/** What a validate-only request would create, with -1 resolved to the broker defaults as the store does. */
function plannedShape(creation: CreateTopicRequest, broker: BrokerServices): TopicShape {
  if (creation.assignments.length > 0) {
    return { numPartitions: creation.assignments.length, replicationFactor: creation.assignments[0]!.brokerIds.length };
  }
  return {
    numPartitions: creation.numPartitions === -1 ? broker.config.int('num.partitions') : creation.numPartitions,
    replicationFactor: creation.replicationFactor === -1 ? broker.config.int('default.replication.factor') : creation.replicationFactor,
  };
}

function actualShape(topic: TopicMetadata): TopicShape {
  return { numPartitions: topic.partitions.length, replicationFactor: topic.partitions[0]?.replicas.length ?? -1 };
}

function succeeded(name: string, topicId: string, shape: TopicShape, configs: Record<string, string>, broker: BrokerServices): TopicResult {
  const entries = topicConfigEntries({ configs }, broker, { includeSynonyms: false, includeDocumentation: false });
  return {
    name,
    topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: shape.numPartitions,
    replicationFactor: shape.replicationFactor,
    configs: entries.map((entry) => ({
      name: entry.name,
      value: entry.value,
      readOnly: entry.readOnly,
      configSource: entry.configSource,
      isSensitive: entry.isSensitive,
    })),
  };
}

function failed(name: string, errorCode: number, errorMessage: string | null): TopicResult {
  return {
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: -1,
    replicationFactor: -1,
    // platformatic reads `configs` of every result, so an empty list rather than null.
    configs: [],
  };
}
