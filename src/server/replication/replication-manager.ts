// Partition replication on one broker (cluster mode): a ReplicatedPartition for every local
// partition, driven by the committed metadata image (leader, leader epoch, ISR, partition epoch);
// one FollowerFetcher per leader broker this node follows; ISR changes sent to the active
// controller (AlterPartition) with the answers fed back; a timer for produce timeouts and ISR
// shrinking. The broker acts only on an image that holds its own current registration: an older
// image could name it leader of partitions it lost while it was away.
import type { AlterPartitionControllerRequest, AlterPartitionControllerResult, ReplicaLostDataRequest, ReplicaLostDataResult } from '../../controller/quorum-controller.ts';
import { isClusterMetadataImage } from '../../controller/metadata-image-builder.ts';
import type { MetadataImage } from '../../controller/metadata-image.ts';
import { defaultReplicaLagTimeMaxMs, replicaFetchPartitionMaxBytes, type AlterPartitionRequest, type AlterPartitionResult, type ReplicationConfig } from '../../replication/types.ts';
import type { Logger } from '../../util/log.ts';
import type { Partition } from '../partition.ts';
import type { ReplicaManager } from '../replica-manager.ts';
import { FollowerFetcher } from './follower-fetcher.ts';
import { HighWatermarkCheckpointWriter, highWatermarkKey, readHighWatermarkCheckpoint } from './high-watermark-checkpoint.ts';
import { replicaClientId } from './replica-auth.ts';
import { ReplicatedPartition } from './replicated-partition.ts';
import { partitionKey } from '../../util/partition-key.ts';

export interface ReplicationManagerOptions {
  nodeId: number;
  replicas: ReplicaManager;
  image(): MetadataImage;
  /** This process's current broker epoch; -1 before it is registered. */
  brokerEpoch(): number;
  alterPartition(request: AlterPartitionControllerRequest): Promise<AlterPartitionControllerResult>;
  /** Tells the active controller this broker lost data of a partition (it leaves the ISR). */
  replicaLostData?(request: ReplicaLostDataRequest): Promise<ReplicaLostDataResult>;
  replicaLagTimeMaxMs?: number;
  /** replica.backlog.max.bytes (append-backlog.ts). */
  replicaBacklogMaxBytes?: number;
  tickIntervalMs?: number;
  fetchMaxWaitMs?: number;
  requestTimeoutMs?: number;
  /** Source address of the connections to partition leaders (outbound.local.host). */
  outboundLocalHost?: string | null;
  /** replication-offset-checkpoint in the data dir; unset: HWs are not checkpointed (they start at the log start). */
  highWatermarkCheckpointPath?: string;
  /** replica.high.watermark.checkpoint.interval.ms */
  highWatermarkCheckpointIntervalMs?: number;
  logger: Logger;
}

const alterPartitionRetryMs = 500;
const fetchMaxBytes = 16 * 1024 * 1024;

export class ReplicationManager {
  private readonly partitions = new Map<string, ReplicatedPartition>();
  private readonly fetchers = new Map<number, FollowerFetcher>();
  /** The AlterPartition request each partition's resend loop is carrying. */
  private readonly inFlightAlter = new Map<ReplicatedPartition, AlterPartitionRequest>();
  /** Partitions whose ReplicaLostData report is being carried (one loop each). */
  private readonly reportingLoss = new Set<ReplicatedPartition>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private lastImage: MetadataImage | null = null;
  private readonly logger: Logger;
  /** Last known HW by topic id and partition: the file's content at start, then refreshed from the partitions. */
  private readonly highWatermarks: Map<string, number>;
  private readonly checkpointWriter: HighWatermarkCheckpointWriter | null;
  private lastCheckpointMs: number;

  constructor(private readonly options: ReplicationManagerOptions) {
    this.logger = options.logger;
    const checkpointPath = options.highWatermarkCheckpointPath;
    this.highWatermarks = checkpointPath !== undefined ? readHighWatermarkCheckpoint(checkpointPath, options.logger) : new Map();
    this.checkpointWriter = checkpointPath !== undefined ? new HighWatermarkCheckpointWriter(checkpointPath, options.logger) : null;
    this.lastCheckpointMs = Date.now();
    this.timer = setInterval(() => this.tick(), options.tickIntervalMs ?? 250);
    this.timer.unref();
  }

  /** The replicated partition for a local partition, or undefined while this node does not act on it. */
  get(topic: string, partition: number): ReplicatedPartition | undefined {
    return this.partitions.get(partitionKey(topic, partition));
  }

  /** Call after ReplicaManager applied `image` (local partitions are open). */
  onImage(image: MetadataImage): void {
    if (this.closed || !this.registeredIn(image)) return;
    this.lastImage = image;
    const seen = new Set<string>();
    for (const local of this.options.replicas.all()) {
      const topic = image.topicsById.get(local.topicId);
      const metadata = topic?.partitions[local.partition];
      if (!topic || !metadata) continue;
      const key = `${local.topic}-${local.partition}`;
      seen.add(key);
      let replicated = this.partitions.get(key);
      if (replicated && replicated.partition !== local) {
        replicated.close();
        replicated = undefined;
      }
      if (!replicated) {
        const checkpointed = this.highWatermarks.get(highWatermarkKey(local.topicId, local.partition));
        replicated = new ReplicatedPartition(local, this.options.nodeId, this.configFor(local), this, this.logger.child(key), checkpointed);
        this.partitions.set(key, replicated);
      } else {
        // ReplicaManager applied this image's topic configs to the partition just before.
        replicated.onConfig(this.configFor(local));
      }
      replicated.onMetadata({ leader: metadata.leader, leaderEpoch: metadata.leaderEpoch, partitionEpoch: metadata.partitionEpoch, replicas: metadata.replicas, isr: metadata.isr });
    }
    for (const [key, replicated] of this.partitions) {
      if (seen.has(key)) continue;
      replicated.close();
      this.partitions.delete(key);
    }
    this.syncFetchers();
  }

  // ---- ReplicatedPartitionHost ------------------------------------------------------------------

  nowMs(): number {
    return Date.now();
  }

  get replicaBacklogMaxBytes(): number | undefined {
    return this.options.replicaBacklogMaxBytes;
  }

  wakeFetcher(leaderId: number): void {
    this.fetchers.get(leaderId)?.wake();
  }

  sendAlterPartition(partition: ReplicatedPartition, request: AlterPartitionRequest): void {
    // The same request is resent by its own loop; a new one (the logic moved on) gets a loop of its own.
    if (this.inFlightAlter.get(partition) === request || this.closed) return;
    this.inFlightAlter.set(partition, request);
    void this.alterUntilAnswered(partition, request).finally(() => {
      if (this.inFlightAlter.get(partition) === request) this.inFlightAlter.delete(partition);
    });
  }

  reportLostData(partition: ReplicatedPartition): void {
    if (this.reportingLoss.has(partition) || this.closed) return;
    this.reportingLoss.add(partition);
    void this.reportUntilOutOfIsr(partition).finally(() => this.reportingLoss.delete(partition));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.fetchers.values()].map((fetcher) => fetcher.stop()));
    this.fetchers.clear();
    // Fetchers stopped: the HWs are final for this process.
    await this.checkpointHighWatermarks();
    for (const replicated of this.partitions.values()) replicated.close();
    this.partitions.clear();
  }

  // ---- Internals ----------------------------------------------------------------------------------

  private registeredIn(image: MetadataImage): boolean {
    const epoch = this.options.brokerEpoch();
    return epoch >= 0 && isClusterMetadataImage(image) && image.brokers.get(this.options.nodeId)?.brokerEpoch === epoch;
  }

  private configFor(partition: Partition): ReplicationConfig {
    return {
      replicaLagTimeMaxMs: this.options.replicaLagTimeMaxMs ?? defaultReplicaLagTimeMaxMs,
      minInsyncReplicas: partition.minInsyncReplicas,
      flushSync: partition.log.currentConfig.flush === 'sync',
    };
  }

  private tick(): void {
    // An image applied before our registration answer arrived was skipped: act on it now.
    const image = this.options.image();
    if (image !== this.lastImage) this.onImage(image);
    if (this.checkpointWriter !== null && Date.now() - this.lastCheckpointMs >= (this.options.highWatermarkCheckpointIntervalMs ?? 5000)) {
      this.lastCheckpointMs = Date.now();
      void this.checkpointHighWatermarks();
    }
    for (const replicated of this.partitions.values()) {
      try {
        replicated.tick();
      } catch (error) {
        this.logger.error('replication tick failed', { partition: replicated.key, error: (error as Error).stack });
      }
    }
  }

  /**
   * Writes every replicated partition's HW (Kafka's replication-offset-checkpoint). Partitions not
   * acted on yet keep their entry from the file, so an early write after a restart loses nothing;
   * entries of topics the image no longer holds are dropped.
   */
  private checkpointHighWatermarks(): Promise<void> {
    if (this.checkpointWriter === null) return Promise.resolve();
    for (const replicated of this.partitions.values()) {
      this.highWatermarks.set(highWatermarkKey(replicated.partition.topicId, replicated.partition.partition), replicated.replica.log.highWatermark);
    }
    const image = this.lastImage;
    if (image !== null) {
      for (const key of this.highWatermarks.keys()) {
        if (!image.topicsById.has(key.slice(0, key.lastIndexOf(':')))) this.highWatermarks.delete(key);
      }
    }
    return this.checkpointWriter.write(this.highWatermarks);
  }

  /**
   * Sends ReplicaLostData until the controller has taken this broker out of the partition's ISR
   * (the partition then learns it from committed metadata and stops asking).
   */
  private async reportUntilOutOfIsr(partition: ReplicatedPartition): Promise<void> {
    const send = this.options.replicaLostData;
    if (send === undefined) return;
    // Bounded: stops once the committed ISR no longer lists us, on close, or after many attempts.
    for (let attempt = 0; attempt < 10_000 && !this.closed && partition.mustLeaveIsr; attempt++) {
      try {
        const result = await send({ brokerId: this.options.nodeId, brokerEpoch: this.options.brokerEpoch(), topicId: partition.partition.topicId, partition: partition.partition.partition });
        this.logger.warn('reported lost data to the controller', { partition: partition.key, errorCode: result.errorCode, isr: result.isr, leader: result.leader });
        if (result.errorCode === 0 && !result.isr.includes(this.options.nodeId)) return;
      } catch (error) {
        this.logger.warn('lost-data report not answered; retrying', { partition: partition.key, error: (error as Error).message });
      }
      await new Promise<void>((resolve) => setTimeout(resolve, alterPartitionRetryMs).unref());
    }
  }

  /** Resends the same request until the controller answers or the request no longer matters. */
  private async alterUntilAnswered(partition: ReplicatedPartition, request: AlterPartitionRequest): Promise<void> {
    // Bounded: stops once answered, once this node no longer leads in that epoch, or on close.
    for (let attempt = 0; attempt < 10_000 && !this.closed; attempt++) {
      const leader = partition.replica.leader;
      if (!leader || leader.leaderEpoch !== request.leaderEpoch || leader.pendingAlterPartition !== request) return;
      try {
        const result = await this.options.alterPartition({
          brokerId: this.options.nodeId, brokerEpoch: this.options.brokerEpoch(), topicId: partition.partition.topicId, partition: partition.partition.partition,
          leaderEpoch: request.leaderEpoch, partitionEpoch: request.partitionEpoch, newIsr: [...request.isr],
        });
        const answer: AlterPartitionResult = result.errorCode === 0
          ? { errorCode: 0, leaderEpoch: result.leaderEpoch, partitionEpoch: result.partitionEpoch, isr: result.isr }
          : { errorCode: result.errorCode };
        this.logger.info('ISR change answered', { partition: partition.key, isr: request.isr, errorCode: result.errorCode, partitionEpoch: result.partitionEpoch });
        partition.onAlterPartitionResult(request, answer);
        return;
      } catch (error) {
        this.logger.warn('ISR change not answered; retrying', { partition: partition.key, error: (error as Error).message });
        await new Promise<void>((resolve) => setTimeout(resolve, alterPartitionRetryMs).unref());
      }
    }
  }

  private syncFetchers(): void {
    const leaders = new Set<number>();
    for (const replicated of this.partitions.values()) {
      const follower = replicated.replica.follower;
      if (follower) leaders.add(follower.leaderId);
    }
    for (const leaderId of leaders) {
      const existing = this.fetchers.get(leaderId);
      if (existing) {
        existing.wake();
        continue;
      }
      this.fetchers.set(leaderId, new FollowerFetcher({
        localId: this.options.nodeId,
        leaderId,
        leaderAddress: () => {
          const broker = this.options.image().brokers.get(leaderId);
          return broker ? { host: broker.host, port: broker.port } : null;
        },
        clientId: () => this.clientId(),
        partitions: () => [...this.partitions.values()].filter((replicated) => replicated.replica.follower?.leaderId === leaderId),
        fetchMaxWaitMs: this.options.fetchMaxWaitMs ?? 500,
        fetchMaxBytes,
        partitionMaxBytes: replicaFetchPartitionMaxBytes,
        requestTimeoutMs: this.options.requestTimeoutMs ?? 5000,
        localAddress: this.options.outboundLocalHost ?? null,
        logger: this.logger.child(`fetcher-${leaderId}`),
      }));
    }
    for (const [leaderId, fetcher] of this.fetchers) {
      if (leaders.has(leaderId)) continue;
      this.fetchers.delete(leaderId);
      void fetcher.stop();
    }
  }

  private clientIdCache: { key: string; clientId: string } | null = null;

  private clientId(): string | null {
    const image = this.options.image();
    if (!isClusterMetadataImage(image)) return null;
    const self = image.brokers.get(this.options.nodeId);
    const epoch = this.options.brokerEpoch();
    if (!self || self.brokerEpoch !== epoch) return null;
    // The proof is an HMAC: computed once per registration, not once per Fetch.
    const key = `${image.clusterId}/${epoch}/${self.incarnationId}`;
    if (this.clientIdCache?.key !== key) this.clientIdCache = { key, clientId: replicaClientId(image.clusterId, this.options.nodeId, epoch, self.incarnationId) };
    return this.clientIdCache.clientId;
  }
}
