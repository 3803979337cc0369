import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../protocol/error-codes.ts';
import { writeFileAtomic } from '../storage/checkpoint-file.ts';
import type { Logger } from '../util/log.ts';
import type { BrokerMetadata, MetadataImage, TopicMetadata } from './metadata-image.ts';
import type { MetadataService } from './metadata-service.ts';
import { failure, ok, type AlterConfigOperation, type CreateTopicRequest, type TopicChangeResult } from './topic-requests.ts';
import { applyConfigOperations, validateTopicChange, type TopicLimits } from './topic-validation.ts';

interface StoredMetadata {
  version: 1;
  topics: TopicMetadata[];
}

/**
 * The metadata of a single-node Tide: topics, partitions and configs in one JSON file written atomically.
 * Every change is durable before it is answered and before listeners see it.
 */
export class LocalMetadataStore implements MetadataService {
  private current: MetadataImage;
  private readonly listeners: Array<(image: MetadataImage) => void | Promise<void>> = [];
  private writeChain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly self: BrokerMetadata,
    clusterId: string,
    topics: TopicMetadata[],
    private readonly limits: TopicLimits,
    private readonly logger: Logger,
  ) {
    this.current = buildImage(clusterId, self, topics);
  }

  static async open(dataDir: string, clusterId: string, self: BrokerMetadata, limits: TopicLimits, logger: Logger): Promise<LocalMetadataStore> {
    const path = join(dataDir, 'cluster-metadata.json');
    let topics: TopicMetadata[] = [];
    try {
      const stored = JSON.parse(await readFile(path, 'utf8')) as StoredMetadata;
      if (stored.version !== 1 || !Array.isArray(stored.topics)) throw new Error(`unsupported metadata file version ${String(stored.version)}`);
      topics = stored.topics;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${path}: ${(error as Error).message}`);
    }
    return new LocalMetadataStore(path, self, clusterId, topics, limits, logger);
  }

  image(): MetadataImage {
    return this.current;
  }

  onChange(listener: (image: MetadataImage) => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  async createTopic(request: CreateTopicRequest, validateOnly: boolean): Promise<TopicChangeResult & { topicId: string | null }> {
    return this.serialised(async () => {
      const checked = validateTopicChange(this.current, request, this.limits, [this.self.nodeId]);
      if ('errorCode' in checked) return { ...checked, topicId: null };
      if (validateOnly) return { ...ok, topicId: null };
      const topic: TopicMetadata = {
        name: request.name,
        topicId: randomUUID().replace(/-/g, ''),
        partitions: checked.replicaAssignments.map((replicas, partition) => ({
          partition, replicas, isr: [...replicas], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0,
        })),
        configs: checked.configs,
        internal: request.name.startsWith('__'),
      };
      await this.commit([...this.current.topicsByName.values(), topic]);
      this.logger.info('topic created', { topic: topic.name, partitions: topic.partitions.length, topicId: topic.topicId });
      return { ...ok, topicId: topic.topicId };
    });
  }

  async deleteTopic(name: string): Promise<TopicChangeResult> {
    return this.serialised(async () => {
      if (!this.current.topicsByName.has(name)) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
      await this.commit([...this.current.topicsByName.values()].filter((t) => t.name !== name));
      this.logger.info('topic deleted', { topic: name });
      return ok;
    });
  }

  async createPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<TopicChangeResult> {
    return this.serialised(async () => {
      const topic = this.current.topicsByName.get(name);
      if (!topic) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
      if (totalCount <= topic.partitions.length) {
        return failure(ErrorCode.INVALID_PARTITIONS, `topic ${name} has ${topic.partitions.length} partitions; the new count ${totalCount} must be larger`);
      }
      if (totalCount > this.limits.maxPartitionsPerTopic) {
        return failure(ErrorCode.INVALID_PARTITIONS, `${totalCount} partitions exceed max.partitions.per.topic ${this.limits.maxPartitionsPerTopic}`);
      }
      if (validateOnly) return ok;
      const partitions = [...topic.partitions];
      for (let partition = partitions.length; partition < totalCount; partition++) {
        partitions.push({ partition, replicas: [this.self.nodeId], isr: [this.self.nodeId], leader: this.self.nodeId, leaderEpoch: 0, partitionEpoch: 0 });
      }
      await this.commit([...this.current.topicsByName.values()].map((t) => (t.name === name ? { ...t, partitions } : t)));
      this.logger.info('partitions added', { topic: name, partitions: totalCount });
      return ok;
    });
  }

  async alterTopicConfigs(name: string, operations: AlterConfigOperation[], validateOnly: boolean): Promise<TopicChangeResult> {
    return this.serialised(async () => {
      const topic = this.current.topicsByName.get(name);
      if (!topic) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
      const checked = applyConfigOperations(topic.configs, operations);
      if ('errorCode' in checked) return checked;
      if (validateOnly) return ok;
      await this.commit([...this.current.topicsByName.values()].map((t) => (t.name === name ? { ...t, configs: checked.configs } : t)));
      this.logger.info('topic configs changed', { topic: name, configs: checked.configs });
      return ok;
    });
  }

  /** Changes apply one at a time so that validation always sees the latest committed image. */
  private serialised<T>(change: () => Promise<T>): Promise<T> {
    const result = this.writeChain.then(change);
    this.writeChain = result.then(() => undefined, () => undefined);
    return result;
  }

  private async commit(topics: TopicMetadata[]): Promise<void> {
    const stored: StoredMetadata = { version: 1, topics };
    await writeFileAtomic(this.path, Buffer.from(JSON.stringify(stored, null, 1)));
    this.current = buildImage(this.current.clusterId, this.self, topics);
    // Answered only after local partitions reflect the change, so a client that creates a topic can produce at once.
    for (const listener of this.listeners) await listener(this.current);
  }
}

function buildImage(clusterId: string, self: BrokerMetadata, topics: TopicMetadata[]): MetadataImage {
  return {
    clusterId,
    controllerId: self.nodeId,
    brokers: new Map([[self.nodeId, self]]),
    topicsByName: new Map(topics.map((t) => [t.name, t])),
    topicsById: new Map(topics.map((t) => [t.topicId, t])),
  };
}
