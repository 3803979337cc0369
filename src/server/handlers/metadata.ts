import type { TopicMetadata } from '../../controller/metadata-image.ts';
import { topicNameProblem } from '../../config/topic-config.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  metadataCodec,
  type MetadataRequest,
  type MetadataResponse,
  type MetadataResponseMetadataResponseTopic,
} from '../../protocol/messages/metadata.ts';
import { ZERO_UUID } from '../../protocol/reader.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';

const unknownAuthorizedOperations = -2147483648;

/** Metadata from this node's image; creates missing topics when the client and the broker allow it. */
export const metadataHandler: ApiHandler<MetadataRequest, MetadataResponse> = {
  codec: metadataCodec,
  minVersion: 0,
  maxVersion: 12,
  async handle(request, context) {
    const { broker, apiVersion } = context;
    // v0 has no way to say "all topics" except an empty list.
    const wantsAll = request.topics === null || (apiVersion === 0 && request.topics.length === 0);
    const allowAutoCreate = (apiVersion < 4 || request.allowAutoTopicCreation) && broker.config.bool('auto.create.topics.enable');
    const topics: MetadataResponseMetadataResponseTopic[] = [];
    if (wantsAll) {
      for (const topic of broker.metadata.image().topicsByName.values()) topics.push(describeTopic(topic, context));
    } else {
      for (const wanted of request.topics ?? []) topics.push(await lookUp(wanted.name, wanted.topicId, allowAutoCreate, context));
    }
    return buildResponse(broker, topics, request);
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      brokers: [],
      clusterId: null,
      controllerId: -1,
      topics: (request.topics ?? []).map((topic) => ({ ...emptyTopic(topic.name, topic.topicId), errorCode })),
      clusterAuthorizedOperations: unknownAuthorizedOperations,
    };
  },
};

async function lookUp(name: string | null, topicId: string, allowAutoCreate: boolean, context: RequestContext): Promise<MetadataResponseMetadataResponseTopic> {
  const { broker } = context;
  if (name === null) {
    const byId = broker.metadata.image().topicsById.get(topicId);
    return byId ? describeTopic(byId, context) : { ...emptyTopic(null, topicId), errorCode: ErrorCode.UNKNOWN_TOPIC_ID };
  }
  const existing = broker.metadata.image().topicsByName.get(name);
  if (existing) return describeTopic(existing, context);
  const problem = topicNameProblem(name);
  if (problem) return { ...emptyTopic(name, ZERO_UUID), errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION };
  if (!allowAutoCreate || name.startsWith('__')) return { ...emptyTopic(name, ZERO_UUID), errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const created = await broker.metadata.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: {} }, false);
  if (created.errorCode !== ErrorCode.NONE && created.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
    broker.logger.warn('automatic topic creation failed', { topic: name, error: created.errorMessage });
    return { ...emptyTopic(name, ZERO_UUID), errorCode: created.errorCode === ErrorCode.INVALID_TOPIC_EXCEPTION ? created.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  }
  const topic = broker.metadata.image().topicsByName.get(name);
  return topic ? describeTopic(topic, context) : { ...emptyTopic(name, ZERO_UUID), errorCode: ErrorCode.LEADER_NOT_AVAILABLE };
}

function describeTopic(topic: TopicMetadata, context: RequestContext): MetadataResponseMetadataResponseTopic {
  const brokers = context.broker.metadata.image().brokers;
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.internal,
    partitions: topic.partitions.map((partition) => {
      const offline = partition.replicas.filter((id) => brokers.get(id)?.fenced !== false);
      const hasLeader = partition.leader >= 0 && brokers.get(partition.leader)?.fenced === false;
      return {
        errorCode: hasLeader ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: partition.partition,
        leaderId: hasLeader ? partition.leader : -1,
        leaderEpoch: partition.leaderEpoch,
        replicaNodes: partition.replicas,
        isrNodes: partition.isr,
        offlineReplicas: offline,
      };
    }),
    topicAuthorizedOperations: unknownAuthorizedOperations,
  };
}

function emptyTopic(name: string | null, topicId: string): MetadataResponseMetadataResponseTopic {
  return { errorCode: ErrorCode.NONE, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: unknownAuthorizedOperations };
}

function buildResponse(broker: BrokerServices, topics: MetadataResponseMetadataResponseTopic[], _request: MetadataRequest): MetadataResponse {
  const image = broker.metadata.image();
  return {
    throttleTimeMs: 0,
    brokers: [...image.brokers.values()]
      .filter((node) => !node.fenced)
      .map((node) => ({ nodeId: node.nodeId, host: node.host, port: node.port, rack: node.rack })),
    clusterId: image.clusterId,
    controllerId: image.controllerId,
    topics,
    clusterAuthorizedOperations: unknownAuthorizedOperations,
  };
}
