// /api/v1/topics: list, create, describe, delete, alter configs and add partitions. Changes go
// through the MetadataService, exactly like the Kafka admin APIs, so the same validation applies.
import { effectiveTopicConfig } from '../config/topic-config.ts';
import type { TopicMetadata } from '../controller/metadata-image.ts';
import type { AlterConfigOperation, TopicChangeResult } from '../controller/topic-requests.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { BrokerServices } from '../server/broker-services.ts';
import { ApiError, badRequest, expectObject, notFound, optionalInt, stringMap, type ApiRoute } from './api-router.ts';
import { clusterHealth, countPartitions, type PartitionHealth } from './cluster-health.ts';

const maxPartitionsInRequest = 10_000;
const maxReplicationFactor = 32;

/** Kafka error code of a topic change → HTTP status. */
export function statusForTopicError(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: return 404;
    case ErrorCode.TOPIC_ALREADY_EXISTS: return 409;
    case ErrorCode.NOT_CONTROLLER: return 503;
    default: return 400;
  }
}

function throwIfFailed(result: TopicChangeResult, what: string): void {
  if (result.errorCode === ErrorCode.NONE) return;
  throw new ApiError(statusForTopicError(result.errorCode), result.errorMessage ?? `${what} failed with Kafka error ${result.errorCode}`);
}

export function topicSummary(topic: TopicMetadata, partitions: PartitionHealth[]) {
  const counts = countPartitions(partitions);
  let messages = 0;
  let known = true;
  for (const partition of partitions) {
    if (partition.highWatermark === null || partition.logStartOffset === null) known = false;
    else messages += partition.highWatermark - partition.logStartOffset;
  }
  return {
    name: topic.name,
    topicId: topic.topicId,
    internal: topic.internal,
    partitions: topic.partitions.length,
    replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
    offlinePartitions: counts.offline,
    underReplicatedPartitions: counts.underReplicated,
    underMinIsrPartitions: counts.underMinIsr,
    /** Records between log start and high watermark, when every partition is hosted here. */
    messages: known ? messages : null,
  };
}

export function topicDetail(services: BrokerServices, topic: TopicMetadata) {
  const partitions = clusterHealth(services).partitions.filter((p) => p.topic === topic.name);
  const defaults = services.config.topicDefaults();
  const effective = effectiveTopicConfig(topic.configs, defaults);
  const configs = Object.keys(effective).sort().map((name) => ({
    name,
    value: effective[name]!,
    source: name in topic.configs ? 'topic' : 'default',
  }));
  const byIndex = new Map(topic.partitions.map((p) => [p.partition, p]));
  return {
    ...topicSummary(topic, partitions),
    configs,
    partitionDetails: partitions.map((p) => ({
      partition: p.partition,
      leader: p.leader,
      leaderEpoch: byIndex.get(p.partition)?.leaderEpoch ?? -1,
      replicas: p.replicas,
      isr: p.isr,
      offline: p.offline,
      underReplicated: p.underReplicated,
      underMinIsr: p.underMinIsr,
      logStartOffset: p.logStartOffset,
      highWatermark: p.highWatermark,
      logEndOffset: p.logEndOffset,
    })),
  };
}

export function requireTopic(services: BrokerServices, name: string): TopicMetadata {
  const topic = services.metadata.image().topicsByName.get(name);
  if (!topic) throw notFound(`topic ${name} does not exist`);
  return topic;
}

/** Local partitions open asynchronously after a metadata change; wait for that before answering. */
async function settleReplicas(services: BrokerServices): Promise<void> {
  await services.replicas.reconcile(services.metadata.image());
}

export function topicRoutes(services: BrokerServices): ApiRoute[] {
  return [
    {
      method: 'GET', path: '/api/v1/topics', handler: ({ url }) => {
        const includeInternal = url.searchParams.get('internal') === 'true';
        const partitions = clusterHealth(services).partitions;
        const byTopic = new Map<string, PartitionHealth[]>();
        for (const partition of partitions) {
          const list = byTopic.get(partition.topic) ?? [];
          list.push(partition);
          byTopic.set(partition.topic, list);
        }
        const topics = [...services.metadata.image().topicsByName.values()]
          .filter((topic) => includeInternal || !topic.internal)
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((topic) => topicSummary(topic, byTopic.get(topic.name) ?? []));
        return [200, { topics }];
      },
    },
    {
      method: 'POST', path: '/api/v1/topics', handler: async ({ body }) => {
        const request = expectObject(await body(), 'the request body');
        const name = request['name'];
        if (typeof name !== 'string' || name === '') throw badRequest('"name" (the topic name) is required and must be a non-empty string');
        for (const key of Object.keys(request)) {
          if (!['name', 'partitions', 'replicationFactor', 'configs'].includes(key)) throw badRequest(`unknown field "${key}" (allowed: name, partitions, replicationFactor, configs)`);
        }
        const numPartitions = optionalInt(request, 'partitions', 1, maxPartitionsInRequest) ?? -1;
        const replicationFactor = optionalInt(request, 'replicationFactor', 1, maxReplicationFactor) ?? -1;
        const configs = stringMap(request['configs'], 'configs');
        const result = await services.metadata.createTopic({ name, numPartitions, replicationFactor, assignments: [], configs }, false);
        throwIfFailed(result, `creating topic ${name}`);
        await settleReplicas(services);
        return [201, topicDetail(services, requireTopic(services, name))];
      },
    },
    {
      method: 'GET', path: '/api/v1/topics/:name', handler: ({ params }) => [200, topicDetail(services, requireTopic(services, params['name']!))],
    },
    {
      method: 'DELETE', path: '/api/v1/topics/:name', handler: async ({ params }) => {
        const name = params['name']!;
        requireTopic(services, name);
        throwIfFailed(await services.metadata.deleteTopic(name), `deleting topic ${name}`);
        await settleReplicas(services);
        return [200, { deleted: name }];
      },
    },
    {
      method: 'PATCH', path: '/api/v1/topics/:name/configs', handler: async ({ params, body }) => {
        const name = params['name']!;
        requireTopic(services, name);
        const request = expectObject(await body(), 'the request body');
        for (const key of Object.keys(request)) {
          if (key !== 'set' && key !== 'delete') throw badRequest(`unknown field "${key}" (allowed: set, delete)`);
        }
        const operations: AlterConfigOperation[] = Object.entries(stringMap(request['set'], 'set')).map(([key, value]) => ({ key, op: 'set', value }));
        const deletions = request['delete'] ?? [];
        if (!Array.isArray(deletions) || deletions.some((key) => typeof key !== 'string')) throw badRequest('"delete" must be an array of config names');
        for (const key of deletions as string[]) operations.push({ key, op: 'delete', value: null });
        if (operations.length === 0) throw badRequest('nothing to change: give "set": {"key": "value"} and/or "delete": ["key"]');
        throwIfFailed(await services.metadata.alterTopicConfigs(name, operations, false), `altering configs of ${name}`);
        await settleReplicas(services);
        return [200, topicDetail(services, requireTopic(services, name))];
      },
    },
    {
      method: 'POST', path: '/api/v1/topics/:name/partitions', handler: async ({ params, body }) => {
        const name = params['name']!;
        const topic = requireTopic(services, name);
        const request = expectObject(await body(), 'the request body');
        const count = optionalInt(request, 'count', 1, maxPartitionsInRequest);
        if (count === undefined) throw badRequest(`"count" (the new total number of partitions, now ${topic.partitions.length}) is required`);
        throwIfFailed(await services.metadata.createPartitions(name, count, false), `adding partitions to ${name}`);
        await settleReplicas(services);
        return [200, topicDetail(services, requireTopic(services, name))];
      },
    },
  ];
}
