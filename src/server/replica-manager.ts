import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetadataImage, TopicMetadata } from '../controller/metadata-image.ts';
import { effectiveTopicConfig } from '../config/topic-config.ts';
import { PartitionLog } from '../storage/partition-log.ts';
import { testFsyncHook } from '../chaos/fsync-failure.ts';
import { writeFileAtomic } from '../storage/checkpoint-file.ts';
import type { Logger } from '../util/log.ts';
import { logConfigFrom } from './log-config.ts';
import { LogCleanerService, type LogCleanerSettings } from './log-cleaner-service.ts';
import { LogScrubService, type LogScrubSettings } from './log-scrub-service.ts';
import { Partition } from './partition.ts';
import { PartitionProducers } from './partition-producers.ts';
import { partitionKey } from '../util/partition-key.ts';
import { runBounded } from '../util/run-bounded.ts';

const deletedSuffix = '-delete';
/**
 * Partitions opened or removed at once by one metadata change. Each open waits on a few fsyncs
 * (directory, partition.metadata, the first segment): one at a time, a topic of 1,000 partitions
 * took 4–9 s to open on this machine's disk, and its CreateTopics waited for it.
 */
const partitionChangesInParallel = 16;

/**
 * Keeps this node's partitions in line with the metadata image: opens a log for every partition the
 * node hosts, applies config changes, and removes the data of deleted topics. Partition directories
 * carry their topic id, so a topic deleted and created again under the same name never reuses old data.
 */
export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  /**
   * An fsync of a partition's files failed (the log is failed already). The node sets this to halt
   * (tide-node.ts); unset, only that partition stops.
   */
  fsyncFailureHandler: ((error: Error, dir: string) => void) | null = null;
  private reconcileChain: Promise<void> = Promise.resolve();
  private retentionTimer: NodeJS.Timeout | null = null;
  private cleaner: LogCleanerService | null = null;
  private scrubber: LogScrubService | null = null;
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly nodeId: number,
    private readonly brokerDefaults: () => Record<string, string>,
    private readonly logger: Logger,
  ) {}

  static key(topic: string, partition: number): string {
    return partitionKey(topic, partition);
  }

  get(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(ReplicaManager.key(topic, partition));
  }

  /** The scrubber, once start() ran with scrub settings. */
  get scrubService(): LogScrubService | null {
    return this.scrubber;
  }

  all(): Partition[] {
    return [...this.partitions.values()];
  }

  /** `cleaner`, `scrub`: settings of the log cleaner (compaction) and scrubber; omitted, that one does not run. */
  async start(image: MetadataImage, retentionCheckIntervalMs: number, cleaner?: LogCleanerSettings, scrub?: LogScrubSettings): Promise<void> {
    await this.removeLeftoverDeletions();
    await this.reconcile(image);
    this.retentionTimer = setInterval(() => void this.enforceRetention(), retentionCheckIntervalMs);
    this.retentionTimer.unref();
    if (cleaner) {
      this.cleaner = new LogCleanerService(cleaner, () => this.all().map((partition) => ({
        name: `${partition.topic}-${partition.partition}`,
        log: partition.log,
        highWatermark: partition.highWatermark,
        // Kafka's rule: an emptied batch stays only when it is its producer's latest.
        isLastBatchOfProducer: (producerId, lastOffset) => partition.producers.state.entry(producerId)?.batches.at(-1)?.lastOffset === lastOffset,
      })), this.logger.child('cleaner'));
      this.cleaner.start();
    }
    if (scrub) {
      this.scrubber = new LogScrubService(scrub, () => this.all().map((partition) => ({ name: `${partition.topic}-${partition.partition}`, log: partition.log, highWatermark: partition.highWatermark, leading: partition.leader === this.nodeId })), this.logger.child('scrubber'));
      this.scrubber.start();
    }
  }

  /** Applies a new image; calls are serialised so partitions open and close in order. */
  reconcile(image: MetadataImage): Promise<void> {
    this.reconcileChain = this.reconcileChain.then(() => this.reconcileNow(image)).catch((error) => {
      this.logger.error('applying metadata to local partitions failed', { error: (error as Error).stack });
    });
    return this.reconcileChain;
  }

  private async reconcileNow(image: MetadataImage): Promise<void> {
    if (this.closed) return;
    const wanted = new Set<string>();
    const changes: Array<() => Promise<void>> = [];
    for (const topic of image.topicsByName.values()) {
      const effective = effectiveTopicConfig(topic.configs, this.brokerDefaults());
      const config = logConfigFrom(effective);
      const minInsyncReplicas = Number(effective['min.insync.replicas']);
      for (const partition of topic.partitions) {
        if (!partition.replicas.includes(this.nodeId)) continue;
        const key = ReplicaManager.key(topic.name, partition.partition);
        wanted.add(key);
        const existing = this.partitions.get(key);
        if (existing && existing.topicId === topic.topicId) {
          existing.updateConfig(config, minInsyncReplicas);
          existing.leaderEpoch = partition.leaderEpoch;
          existing.isr = partition.isr;
          existing.leader = partition.leader;
          continue;
        }
        changes.push(async () => {
          if (existing) await this.removePartition(key, existing);
          const opened = await this.openPartition(topic, partition.partition, partition.leaderEpoch);
          opened.isr = partition.isr;
          opened.leader = partition.leader;
          this.partitions.set(key, opened);
        });
      }
    }
    for (const [key, partition] of this.partitions) {
      if (!wanted.has(key)) changes.push(() => this.removePartition(key, partition));
    }
    await runBounded(changes, partitionChangesInParallel);
  }

  private async openPartition(topic: TopicMetadata, partitionIndex: number, leaderEpoch: number): Promise<Partition> {
    const dir = join(this.dataDir, ReplicaManager.key(topic.name, partitionIndex));
    await mkdir(dir, { recursive: true });
    const metadataPath = join(dir, 'partition.metadata');
    const storedTopicId = await readFile(metadataPath, 'utf8').then((text) => /topic_id: *(\w+)/.exec(text)?.[1] ?? null, () => null);
    if (storedTopicId !== null && storedTopicId !== topic.topicId) {
      this.logger.warn('partition directory belongs to an older topic with the same name; setting it aside for deletion', { dir, storedTopicId, topicId: topic.topicId });
      await this.discardDirectory(dir);
      await mkdir(dir, { recursive: true });
    }
    if (storedTopicId !== topic.topicId) await writeFileAtomic(metadataPath, Buffer.from(`version: 0\ntopic_id: ${topic.topicId}\n`));
    const effective = effectiveTopicConfig(topic.configs, this.brokerDefaults());
    const config = logConfigFrom(effective);
    const logger = this.logger.child(`${topic.name}-${partitionIndex}`);
    // onFsync is undefined unless a test mode is on (src/chaos/power-loss-journal.ts, fsync-failure.ts).
    const log = await PartitionLog.open(dir, config, { logger, onFsync: testFsyncHook(), onFsyncFailure: (error) => this.onFsyncFailure(error, dir) });
    // Idempotent producers' state: the snapshot next to the log, then the log after it.
    const producers = await PartitionProducers.load(log, logger);
    return new Partition(topic.name, topic.topicId, partitionIndex, log, leaderEpoch, config, Number(effective['min.insync.replicas']), producers);
  }

  private onFsyncFailure(error: Error, dir: string): void {
    if (this.fsyncFailureHandler !== null) this.fsyncFailureHandler(error, dir);
    else this.logger.error('fsync failed; this partition stays failed until the node restarts', { dir, error: error.message });
  }

  private async removePartition(key: string, partition: Partition): Promise<void> {
    this.partitions.delete(key);
    await partition.close();
    await this.discardDirectory(partition.log.dir);
    this.logger.info('partition removed', { partition: key });
  }

  /** Renames first so that a crash mid-delete leaves a directory that is recognisably garbage. */
  private async discardDirectory(dir: string): Promise<void> {
    const target = `${dir}.${Date.now().toString(36)}${deletedSuffix}`;
    await rename(dir, target);
    await rm(target, { recursive: true, force: true });
  }

  private async removeLeftoverDeletions(): Promise<void> {
    for (const name of await readdir(this.dataDir)) {
      if (name.endsWith(deletedSuffix)) await rm(join(this.dataDir, name), { recursive: true, force: true });
    }
  }

  async enforceRetention(): Promise<void> {
    for (const partition of this.all()) {
      try {
        // Never past the HW, as in Kafka: what the ISR does not hold yet is not committed, and a
        // replica may still be elected with it. Followers' fetches then follow the leader's start.
        const { deletedSegments } = await partition.log.enforceRetention(Date.now(), partition.highWatermark);
        if (deletedSegments > 0) this.logger.info('retention deleted segments', { partition: `${partition.topic}-${partition.partition}`, deletedSegments });
      } catch (error) {
        this.logger.error('retention failed', { partition: `${partition.topic}-${partition.partition}`, error: (error as Error).message });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.cleaner?.stop();
    await this.scrubber?.stop();
    await this.reconcileChain;
    await Promise.all(this.all().map((partition) => partition.close()));
    this.partitions.clear();
  }
}
