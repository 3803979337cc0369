import { ErrorCode } from '../protocol/error-codes.ts';
import { ConfigError } from '../config/config-error.ts';
import { collisionKey, topicNameProblem, validateTopicConfig } from '../config/topic-config.ts';
import type { MetadataImage } from './metadata-image.ts';
import { failure, type AlterConfigOperation, type CreateTopicRequest, type TopicChangeResult } from './topic-requests.ts';

export interface TopicLimits {
  defaultPartitions: number;
  defaultReplicationFactor: number;
  maxPartitionsPerTopic: number;
}

export interface ValidTopicCreation {
  replicaAssignments: number[][];
  configs: Record<string, string>;
}

/**
 * Checks a CreateTopics entry the way Kafka does and picks replicas. `brokerIds` are the unfenced
 * brokers; replicas and leaders are spread round-robin from a start that rotates with the topic count.
 */
export function validateTopicChange(image: MetadataImage, request: CreateTopicRequest, limits: TopicLimits, brokerIds: number[]): TopicChangeResult | ValidTopicCreation {
  const nameProblem = topicNameProblem(request.name);
  if (nameProblem) return failure(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
  if (image.topicsByName.has(request.name)) return failure(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${request.name} already exists`);
  const collision = [...image.topicsByName.keys()].find((name) => collisionKey(name) === collisionKey(request.name));
  if (collision) return failure(ErrorCode.INVALID_TOPIC_EXCEPTION, `topic ${request.name} collides with existing topic ${collision} ('.' and '_' are treated alike)`);

  const configs = validateConfigs(request.configs);
  if ('errorCode' in configs) return configs;

  if (request.assignments.length > 0) {
    if (request.numPartitions !== -1 || request.replicationFactor !== -1) {
      return failure(ErrorCode.INVALID_REQUEST, 'give either explicit replica assignments or numPartitions/replicationFactor, not both');
    }
    return validateAssignments(request, limits, brokerIds, configs);
  }

  const partitions = request.numPartitions === -1 ? limits.defaultPartitions : request.numPartitions;
  if (partitions <= 0) return failure(ErrorCode.INVALID_PARTITIONS, `number of partitions must be at least 1, got ${partitions}`);
  if (partitions > limits.maxPartitionsPerTopic) {
    return failure(ErrorCode.INVALID_PARTITIONS, `${partitions} partitions exceed max.partitions.per.topic ${limits.maxPartitionsPerTopic}`);
  }
  const replicationFactor = request.replicationFactor === -1 ? limits.defaultReplicationFactor : request.replicationFactor;
  if (replicationFactor <= 0) return failure(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be at least 1, got ${replicationFactor}`);
  if (replicationFactor > brokerIds.length) {
    return failure(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${replicationFactor} is larger than the ${brokerIds.length} available broker(s)`);
  }
  const sorted = [...brokerIds].sort((a, b) => a - b);
  const start = image.topicsByName.size % sorted.length;
  const replicaAssignments: number[][] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const replicas: number[] = [];
    for (let replica = 0; replica < replicationFactor; replica++) replicas.push(sorted[(start + partition + replica) % sorted.length]!);
    replicaAssignments.push(replicas);
  }
  return { replicaAssignments, configs: configs.configs };
}

function validateAssignments(request: CreateTopicRequest, limits: TopicLimits, brokerIds: number[], configs: { configs: Record<string, string> }): TopicChangeResult | ValidTopicCreation {
  const sorted = [...request.assignments].sort((a, b) => a.partition - b.partition);
  if (sorted.length > limits.maxPartitionsPerTopic) return failure(ErrorCode.INVALID_PARTITIONS, `too many partitions (${sorted.length})`);
  const known = new Set(brokerIds);
  const replicaAssignments: number[][] = [];
  for (let index = 0; index < sorted.length; index++) {
    const entry = sorted[index]!;
    if (entry.partition !== index) return failure(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions in the assignment must be 0..n-1 without gaps');
    if (entry.brokerIds.length === 0 || new Set(entry.brokerIds).size !== entry.brokerIds.length) {
      return failure(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${entry.partition}: replicas must be distinct and not empty`);
    }
    const unknown = entry.brokerIds.find((id) => !known.has(id));
    if (unknown !== undefined) return failure(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${entry.partition}: broker ${unknown} is not available`);
    replicaAssignments.push([...entry.brokerIds]);
  }
  return { replicaAssignments, configs: configs.configs };
}

export function validateConfigs(raw: Record<string, string>): TopicChangeResult | { configs: Record<string, string> } {
  const configs: Record<string, string> = {};
  try {
    for (const [key, value] of Object.entries(raw)) configs[key] = validateTopicConfig(key, value);
  } catch (error) {
    if (error instanceof ConfigError) return failure(ErrorCode.INVALID_CONFIG, error.message);
    throw error;
  }
  return { configs };
}

/** Applies IncrementalAlterConfigs-style operations to a topic's own configs. */
export function applyConfigOperations(current: Record<string, string>, operations: AlterConfigOperation[]): TopicChangeResult | { configs: Record<string, string> } {
  const next: Record<string, string> = { ...current };
  for (const operation of operations) {
    if (operation.op === 'delete') {
      delete next[operation.key];
      continue;
    }
    if (operation.value === null) return failure(ErrorCode.INVALID_CONFIG, `${operation.key}: a value is required`);
    if (operation.op === 'set') {
      next[operation.key] = operation.value;
    } else {
      const items = new Set((next[operation.key] ?? '').split(',').filter((item) => item !== ''));
      for (const item of operation.value.split(',')) {
        if (operation.op === 'append') items.add(item.trim());
        else items.delete(item.trim());
      }
      next[operation.key] = [...items].join(',');
    }
  }
  const validated = validateConfigs(next);
  return validated;
}
