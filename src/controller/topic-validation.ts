import { ErrorCode } from '../protocol/error-codes.ts';
import { ConfigError } from '../config/config-error.ts';
import { collisionKey, topicNameProblem, validateTopicConfig } from '../config/topic-config.ts';
import { presetFor, presetReplicationFactor } from '../config/presets.ts';
import type { MetadataImage, TopicMetadata } from './metadata-image.ts';
import { placePartitions, placementLoad, type PlacementBroker } from './placement.ts';
import { failure, type AlterConfigOperation, type CreateTopicRequest, type TopicChangeResult } from './topic-requests.ts';

export interface TopicLimits {
  defaultPartitions: number;
  defaultReplicationFactor: number;
  maxPartitionsPerTopic: number;
  /** The cluster-wide `preset` key; its RF (already in defaultReplicationFactor) is then capped at the brokers available. */
  preset?: string | null;
  /** Broker `min.insync.replicas`, checked against a capped preset RF (1 when not given). */
  defaultMinInsyncReplicas?: number;
}

export interface ValidTopicCreation {
  replicaAssignments: number[][];
  configs: Record<string, string>;
}

/**
 * Checks a CreateTopics entry the way Kafka does and picks replicas. `brokerIds` are the unfenced
 * brokers, `racks` their `broker.rack` (missing: no rack); replicas and leaders are spread over
 * brokers and racks by `placePartitions`, counting what the image already places on each broker.
 */
export function validateTopicChange(
  image: MetadataImage, request: CreateTopicRequest, limits: TopicLimits, brokerIds: number[], racks: ReadonlyMap<number, string | null> = new Map(),
): TopicChangeResult | ValidTopicCreation {
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

  const brokerCount = new Set(brokerIds).size;
  // A topic's own preset beats the cluster's; either only fills in what the request left at -1.
  const topicPreset = presetFor(configs.configs['preset']);
  const preset = topicPreset ?? presetFor(limits.preset);
  const partitions = request.numPartitions !== -1 ? request.numPartitions
    : preset?.partitionPerBroker ? Math.min(Math.max(limits.defaultPartitions, brokerCount), limits.maxPartitionsPerTopic)
    : limits.defaultPartitions;
  if (partitions <= 0) return failure(ErrorCode.INVALID_PARTITIONS, `number of partitions must be at least 1, got ${partitions}`);
  if (partitions > limits.maxPartitionsPerTopic) {
    return failure(ErrorCode.INVALID_PARTITIONS, `${partitions} partitions exceed max.partitions.per.topic ${limits.maxPartitionsPerTopic}`);
  }
  let replicationFactor = request.replicationFactor === -1 ? limits.defaultReplicationFactor : request.replicationFactor;
  if (request.replicationFactor === -1 && preset) {
    const minInsyncReplicas = Number(configs.configs['min.insync.replicas'] ?? (topicPreset ? topicPreset.minInsyncReplicas : limits.defaultMinInsyncReplicas ?? 1));
    const checked = presetReplicationFactor(topicPreset ? topicPreset.replicationFactor : limits.defaultReplicationFactor, brokerCount, minInsyncReplicas, preset.name);
    if ('problem' in checked) return failure(ErrorCode.INVALID_REPLICATION_FACTOR, checked.problem);
    replicationFactor = checked.replicationFactor;
  }
  if (replicationFactor <= 0) return failure(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be at least 1, got ${replicationFactor}`);
  if (replicationFactor > brokerCount) {
    return failure(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${replicationFactor} is larger than the ${brokerCount} available broker(s)`);
  }
  const replicaAssignments = placePartitions(placementBrokers(brokerIds, racks), partitions, replicationFactor, placementLoad(image), image.topicsByName.size);
  return { replicaAssignments, configs: configs.configs };
}

/**
 * Checks a CreatePartitions increase of `topic` to `totalCount` and places the new partitions with
 * the replication factor of its existing ones, over the unfenced `brokerIds`.
 */
export function validatePartitionIncrease(
  image: MetadataImage, topic: TopicMetadata, totalCount: number, limits: TopicLimits, brokerIds: number[], racks: ReadonlyMap<number, string | null> = new Map(),
): TopicChangeResult | { replicaAssignments: number[][] } {
  if (!Number.isSafeInteger(totalCount) || totalCount <= topic.partitions.length) {
    return failure(ErrorCode.INVALID_PARTITIONS, `topic ${topic.name} has ${topic.partitions.length} partitions; the new count ${totalCount} must be larger`);
  }
  if (totalCount > limits.maxPartitionsPerTopic) {
    return failure(ErrorCode.INVALID_PARTITIONS, `${totalCount} partitions exceed max.partitions.per.topic ${limits.maxPartitionsPerTopic}`);
  }
  const replicationFactor = topic.partitions[0]?.replicas.length ?? 1;
  const brokerCount = new Set(brokerIds).size;
  if (replicationFactor > brokerCount) {
    return failure(ErrorCode.INVALID_REPLICATION_FACTOR, `topic ${topic.name} has replication factor ${replicationFactor} but only ${brokerCount} broker(s) are available`);
  }
  const replicaAssignments = placePartitions(placementBrokers(brokerIds, racks), totalCount - topic.partitions.length, replicationFactor, placementLoad(image), image.topicsByName.size + topic.partitions.length);
  return { replicaAssignments };
}

function placementBrokers(brokerIds: number[], racks: ReadonlyMap<number, string | null>): PlacementBroker[] {
  return [...new Set(brokerIds)].map((nodeId) => ({ nodeId, rack: racks.get(nodeId) ?? null }));
}

function validateAssignments(request: CreateTopicRequest, limits: TopicLimits, brokerIds: number[], configs: { configs: Record<string, string> }): TopicChangeResult | ValidTopicCreation {
  const sorted = [...request.assignments].sort((a, b) => a.partition - b.partition);
  if (sorted.length > limits.maxPartitionsPerTopic) return failure(ErrorCode.INVALID_PARTITIONS, `too many partitions (${sorted.length})`);
  const known = new Set(brokerIds);
  const replicationFactor = sorted[0]?.brokerIds.length ?? 0;
  const replicaAssignments: number[][] = [];
  for (let index = 0; index < sorted.length; index++) {
    const entry = sorted[index]!;
    if (entry.partition !== index) return failure(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions in the assignment must be 0..n-1 without gaps');
    if (entry.brokerIds.length === 0 || new Set(entry.brokerIds).size !== entry.brokerIds.length) {
      return failure(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${entry.partition}: replicas must be distinct and not empty`);
    }
    if (entry.brokerIds.length !== replicationFactor) {
      return failure(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${entry.partition}: all partitions must have the same number of replicas (${replicationFactor})`);
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
