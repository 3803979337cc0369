// Topic administration over the Kafka admin APIs: CreateTopics, DeleteTopics, CreatePartitions,
// DescribeConfigs, IncrementalAlterConfigs, and ListOffsets for log start / high watermark.
import { ErrorCode } from '../../protocol/error-codes.ts';
import { createPartitionsCodec } from '../../protocol/messages/create-partitions.ts';
import { createTopicsCodec } from '../../protocol/messages/create-topics.ts';
import { deleteTopicsCodec } from '../../protocol/messages/delete-topics.ts';
import { describeConfigsCodec } from '../../protocol/messages/describe-configs.ts';
import { incrementalAlterConfigsCodec } from '../../protocol/messages/incremental-alter-configs.ts';
import { listOffsetsCodec } from '../../protocol/messages/list-offsets.ts';
import { check } from './kafka-errors.ts';
import type { TideClient } from './tide-client.ts';

const RESOURCE_TYPE_TOPIC = 2;
const ALTER_OP_SET = 0;
const ALTER_OP_DELETE = 1;
const ADMIN_TIMEOUT_MS = 30000;
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
const ZERO_UUID = '00000000000000000000000000000000';

export interface CreateTopicOptions {
  name: string;
  partitions: number; // -1: the broker's default
  replicationFactor: number; // -1: the broker's default
  configs: Record<string, string>;
}

export async function createTopic(client: TideClient, options: CreateTopicOptions): Promise<{ partitions: number; replicationFactor: number }> {
  const connection = await client.adminConnection();
  const { body } = await connection.send(createTopicsCodec, {
    topics: [{
      name: options.name,
      numPartitions: options.partitions,
      replicationFactor: options.replicationFactor,
      assignments: [],
      configs: Object.entries(options.configs).map(([name, value]) => ({ name, value })),
    }],
    timeoutMs: ADMIN_TIMEOUT_MS,
    validateOnly: false,
  });
  const result = body.topics[0];
  if (!result) throw new Error('CreateTopics answer has no topic');
  check(`topic ${options.name}`, result.errorCode, result.errorMessage);
  return { partitions: result.numPartitions, replicationFactor: result.replicationFactor };
}

export async function deleteTopic(client: TideClient, name: string): Promise<void> {
  const connection = await client.adminConnection();
  const { body } = await connection.send(deleteTopicsCodec, {
    topics: [{ name, topicId: ZERO_UUID }],
    topicNames: [name],
    timeoutMs: ADMIN_TIMEOUT_MS,
  });
  const result = body.responses[0];
  if (!result) throw new Error('DeleteTopics answer has no topic');
  check(`topic ${name}`, result.errorCode, result.errorMessage);
}

export async function addPartitions(client: TideClient, name: string, totalCount: number): Promise<void> {
  const connection = await client.adminConnection();
  const { body } = await connection.send(createPartitionsCodec, {
    topics: [{ name, count: totalCount, assignments: null }],
    timeoutMs: ADMIN_TIMEOUT_MS,
    validateOnly: false,
  });
  const result = body.results[0];
  if (!result) throw new Error('CreatePartitions answer has no topic');
  check(`topic ${name}`, result.errorCode, result.errorMessage);
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  isDefault: boolean;
  readOnly: boolean;
  isSensitive: boolean;
}

export async function describeTopicConfigs(client: TideClient, name: string): Promise<ConfigEntry[]> {
  const connection = await client.adminConnection();
  const { body } = await connection.send(describeConfigsCodec, {
    resources: [{ resourceType: RESOURCE_TYPE_TOPIC, resourceName: name, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const result = body.results[0];
  if (!result) throw new Error('DescribeConfigs answer has no resource');
  check(`topic ${name}`, result.errorCode, result.errorMessage);
  return result.configs
    .map((entry) => ({
      name: entry.name,
      value: entry.isSensitive ? null : entry.value,
      // configSource 5 is DEFAULT_CONFIG (isDefault is only filled before v1).
      isDefault: entry.isDefault || entry.configSource === 5,
      readOnly: entry.readOnly,
      isSensitive: entry.isSensitive,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function alterTopicConfigs(client: TideClient, name: string, set: Record<string, string>, remove: string[]): Promise<void> {
  const connection = await client.adminConnection();
  const { body } = await connection.send(incrementalAlterConfigsCodec, {
    resources: [{
      resourceType: RESOURCE_TYPE_TOPIC,
      resourceName: name,
      configs: [
        ...Object.entries(set).map(([key, value]) => ({ name: key, configOperation: ALTER_OP_SET, value })),
        ...remove.map((key) => ({ name: key, configOperation: ALTER_OP_DELETE, value: null })),
      ],
    }],
    validateOnly: false,
  });
  const result = body.responses[0];
  if (!result) throw new Error('IncrementalAlterConfigs answer has no resource');
  check(`topic ${name}`, result.errorCode, result.errorMessage);
}

/**
 * ListOffsets for some partitions of a topic at one timestamp (LATEST_TIMESTAMP,
 * EARLIEST_TIMESTAMP, or milliseconds), each asked of its leader. Returns partition -> offset
 * (-1 when no record is at or after the timestamp).
 */
export async function listOffsets(client: TideClient, topic: string, partitions: number[], timestamp: number): Promise<Map<number, number>> {
  const metadata = await client.topicMetadata(topic);
  const byLeader = new Map<number, number[]>();
  for (const partition of partitions) {
    const leader = metadata.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
    if (leader < 0) check(`topic ${topic} partition ${partition}`, ErrorCode.LEADER_NOT_AVAILABLE);
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
  }
  const offsets = new Map<number, number>();
  await Promise.all([...byLeader].map(async ([leader, leaderPartitions]) => {
    const connection = await client.connectionTo(leader);
    const { body } = await connection.send(listOffsetsCodec, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{
        name: topic,
        partitions: leaderPartitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
      }],
    });
    for (const answer of body.topics[0]?.partitions ?? []) {
      check(`topic ${topic} partition ${answer.partitionIndex}`, answer.errorCode);
      offsets.set(answer.partitionIndex, answer.offset);
    }
  }));
  return offsets;
}

/** One config key across many topics, in a single DescribeConfigs; topics that fail are left out. */
export async function topicConfigValue(client: TideClient, topics: string[], key: string): Promise<Map<string, string>> {
  if (topics.length === 0) return new Map();
  const connection = await client.adminConnection();
  const { body } = await connection.send(describeConfigsCodec, {
    resources: topics.map((name) => ({ resourceType: RESOURCE_TYPE_TOPIC, resourceName: name, configurationKeys: [key] })),
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const values = new Map<string, string>();
  for (const result of body.results) {
    const value = result.configs.find((entry) => entry.name === key)?.value;
    if (result.errorCode === ErrorCode.NONE && value != null) values.set(result.resourceName, value);
  }
  return values;
}
