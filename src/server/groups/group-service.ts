// Consumer groups on this node: owns the internal __consumer_offsets topic and one
// CoordinatorDriver per partition of it that this node leads. A group's coordinator is the leader
// of partition abs(hash(group)) % N, so the same routing serves one node and a cluster: on one node
// every partition is led here; in a cluster, metadata changes load and unload partitions.
import { randomUUID } from 'node:crypto';
import type { BrokerConfig } from '../../config/broker-config.ts';
import type { MetadataImage, TopicMetadata } from '../../controller/metadata-image.ts';
import type { MetadataService } from '../../controller/metadata-service.ts';
import type { GroupCoordinatorConfig } from '../../coordinator/group-config.ts';
import { groupCoordinatorConfig } from '../../coordinator/group-config.ts';
import { partitionForGroup } from '../../coordinator/group-partition.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { Logger } from '../../util/log.ts';
import type { AppendOutcome, Partition } from '../partition.ts';
import type { ReplicaManager } from '../replica-manager.ts';
import type { ReplicationManager } from '../replication/replication-manager.ts';
import { AppendError, CoordinatorDriver } from './coordinator-driver.ts';

export const offsetsTopicName = '__consumer_offsets';

export interface GroupServiceOptions {
  nodeId: number;
  metadata: MetadataService;
  replicas: ReplicaManager;
  /** offsets.topic.num.partitions: used when the topic is created; afterwards its real count rules. */
  offsetsTopicPartitionCount: number;
  offsetsTopicReplicationFactor: number;
  offsetsTopicSegmentBytes: number;
  coordinator: Partial<GroupCoordinatorConfig>;
  /**
   * Partition replication (cluster mode): group writes and offset commits then count only once the
   * ISR has them (acks=all), so a coordinator failover cannot take back what was answered.
   */
  replication?: ReplicationManager | null;
  /** offsets.commit.timeout.ms: how long a replicated group write may wait for the ISR. */
  offsetsCommitTimeoutMs?: number;
  /** The node's min.insync.replicas now: a capped offsets topic must not require more replicas than it has. */
  defaultMinInsyncReplicas?: () => number;
  logger: Logger;
  /** Wall clock in ms (commit timestamps are persisted); Date.now by default. */
  nowMs?: () => number;
  newUuid?: () => string;
}

export type GroupRoute = { ok: true; driver: CoordinatorDriver } | { ok: false; errorCode: number };

/** Where FindCoordinator sends a client; nodeId -1 with an error code when there is no answer. */
export interface CoordinatorLocation {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
}

export class GroupService {
  readonly #options: GroupServiceOptions;
  readonly #coordinatorConfig: GroupCoordinatorConfig;
  readonly #nowMs: () => number;
  readonly #newUuid: () => string;
  readonly #logger: Logger;
  /** By __consumer_offsets partition index. */
  readonly #drivers = new Map<number, { driver: CoordinatorDriver; topicId: string; leaderEpoch: number }>();
  #reconcileChain: Promise<void> = Promise.resolve();
  #creating: Promise<void> | null = null;
  #closed = false;

  constructor(options: GroupServiceOptions) {
    this.#options = options;
    // Validates eagerly so that a bad setting stops the node at start with the setting's name.
    this.#coordinatorConfig = groupCoordinatorConfig(options.coordinator);
    this.#nowMs = options.nowMs ?? Date.now;
    this.#newUuid = options.newUuid ?? randomUUID;
    this.#logger = options.logger;
  }

  /** Reads the group settings of a broker config. */
  static optionsFrom(config: BrokerConfig): Pick<GroupServiceOptions, 'offsetsTopicPartitionCount' | 'offsetsTopicReplicationFactor' | 'offsetsTopicSegmentBytes' | 'coordinator' | 'offsetsCommitTimeoutMs' | 'defaultMinInsyncReplicas'> {
    return {
      offsetsCommitTimeoutMs: config.int('offsets.commit.timeout.ms'),
      defaultMinInsyncReplicas: () => config.int('min.insync.replicas'),
      offsetsTopicPartitionCount: config.int('offsets.topic.num.partitions'),
      offsetsTopicReplicationFactor: config.int('offsets.topic.replication.factor'),
      offsetsTopicSegmentBytes: config.int('offsets.topic.segment.bytes'),
      coordinator: {
        groupMinSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
        groupMaxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
        groupMaxSize: config.int('group.max.size'),
        groupInitialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
        offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
        offsetsRetentionCheckIntervalMs: config.int('offsets.retention.check.interval.ms'),
        offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
      },
    };
  }

  get coordinatorConfig(): Readonly<GroupCoordinatorConfig> {
    return this.#coordinatorConfig;
  }

  /** Creates __consumer_offsets if missing and starts loading the partitions led here (does not wait for loads). */
  async start(): Promise<void> {
    this.#options.metadata.onChange((image) => {
      void this.#reconcile(image);
    });
    await this.#ensureTopic();
    await this.#reconcile(this.#options.metadata.image());
  }

  /** Unloads every coordinator (parked requests answer NOT_COORDINATOR) and waits for pending writes. */
  async stop(): Promise<void> {
    this.#closed = true;
    await this.#reconcileChain;
    const drivers = [...this.#drivers.values()].map((entry) => entry.driver);
    this.#drivers.clear();
    for (const driver of drivers) driver.unload();
    await Promise.all(drivers.map((driver) => driver.flushed()));
  }

  // ---- Routing ---------------------------------------------------------------------------------

  /** The __consumer_offsets partition of a group, or null while the topic does not exist. */
  partitionFor(groupId: string): number | null {
    const topic = this.#topic();
    return topic ? partitionForGroup(groupId, topic.partitions.length) : null;
  }

  /** The coordinator serving `groupId` on this node, or the error the client must see. */
  route(groupId: string): GroupRoute {
    if (this.#closed) return { ok: false, errorCode: ErrorCode.NOT_COORDINATOR };
    const topic = this.#topic();
    if (!topic) {
      this.#createInBackground();
      return { ok: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
    const partition = topic.partitions[partitionForGroup(groupId, topic.partitions.length)]!;
    if (partition.leader !== this.#options.nodeId) return { ok: false, errorCode: ErrorCode.NOT_COORDINATOR };
    const entry = this.#drivers.get(partition.partition);
    // Led here but not loaded yet (or the partition is still being opened): the client retries.
    if (!entry || entry.driver.state === 'loading') return { ok: false, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    if (entry.driver.state !== 'active') return { ok: false, errorCode: ErrorCode.NOT_COORDINATOR };
    return { ok: true, driver: entry.driver };
  }

  /** FindCoordinator for a group: the leader of its partition, wherever that is. */
  locateGroupCoordinator(groupId: string): CoordinatorLocation {
    const unavailable = (message: string): CoordinatorLocation => ({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: message, nodeId: -1 });
    if (this.#closed) return unavailable('the node is shutting down');
    const image = this.#options.metadata.image();
    const topic = image.topicsByName.get(offsetsTopicName);
    if (!topic) {
      this.#createInBackground();
      return unavailable(`${offsetsTopicName} is being created`);
    }
    const partition = topic.partitions[partitionForGroup(groupId, topic.partitions.length)]!;
    const leader = image.brokers.get(partition.leader);
    if (partition.leader < 0 || !leader || leader.fenced) return unavailable(`partition ${partition.partition} of ${offsetsTopicName} has no leader`);
    return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: leader.nodeId };
  }

  /** Coordinators serving requests now. */
  activeDrivers(): CoordinatorDriver[] {
    return [...this.#drivers.values()].map((entry) => entry.driver).filter((driver) => driver.state === 'active');
  }

  /** True while some partition led here is still being loaded (ListGroups must say so). */
  isLoading(): boolean {
    if (this.#closed) return false;
    const topic = this.#topic();
    if (!topic) return false;
    return topic.partitions.some((partition) => {
      if (partition.leader !== this.#options.nodeId) return false;
      const entry = this.#drivers.get(partition.partition);
      return !entry || entry.driver.state === 'loading';
    });
  }

  // ---- The topic and its partitions ------------------------------------------------------------

  #topic(): TopicMetadata | undefined {
    return this.#options.metadata.image().topicsByName.get(offsetsTopicName);
  }

  #createInBackground(): void {
    void this.#ensureTopic().catch((error: unknown) => this.#logger.error('creating the offsets topic failed', { error: (error as Error).message }));
  }

  #ensureTopic(): Promise<void> {
    if (this.#creating) return this.#creating;
    if (this.#topic() || this.#closed) return Promise.resolve();
    const image = this.#options.metadata.image();
    const brokerCount = [...image.brokers.values()].filter((broker) => !broker.fenced).length;
    const replicationFactor = Math.max(1, Math.min(this.#options.offsetsTopicReplicationFactor, brokerCount));
    // Commits wait for min.insync.replicas: an RF capped below it (few brokers up at creation)
    // would refuse every commit forever, so such a topic gets a minimum it can meet.
    const minInsync = this.#options.defaultMinInsyncReplicas?.() ?? 1;
    const capped: Record<string, string> = replicationFactor < minInsync ? { 'min.insync.replicas': String(replicationFactor) } : {};
    this.#creating = this.#options.metadata
      .createTopic(
        {
          name: offsetsTopicName,
          numPartitions: this.#options.offsetsTopicPartitionCount,
          replicationFactor,
          assignments: [],
          // As in Kafka: compacted, so the latest commit of each group/partition and the latest
          // group metadata are kept forever, and retention never deletes them.
          configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(this.#options.offsetsTopicSegmentBytes), ...capped },
        },
        false,
      )
      .then((result) => {
        if (result.errorCode !== ErrorCode.NONE && result.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
          throw new Error(`cannot create ${offsetsTopicName}: ${result.errorMessage ?? `error ${result.errorCode}`}`);
        }
        if (result.errorCode === ErrorCode.NONE) this.#logger.info('created the offsets topic', { topic: offsetsTopicName, partitions: this.#options.offsetsTopicPartitionCount, replicationFactor });
      })
      .finally(() => {
        this.#creating = null;
      });
    return this.#creating;
  }

  /** Loads the partitions newly led here and unloads the ones no longer led; calls run one at a time. */
  #reconcile(image: MetadataImage): Promise<void> {
    this.#reconcileChain = this.#reconcileChain
      .then(() => this.#reconcileNow(image))
      .catch((error: unknown) => this.#logger.error('loading group coordinators failed', { error: (error as Error).stack }));
    return this.#reconcileChain;
  }

  #reconcileNow(image: MetadataImage): void {
    if (this.#closed) return;
    const topic = image.topicsByName.get(offsetsTopicName);
    const wanted = new Set<number>();
    for (const partition of topic?.partitions ?? []) {
      if (partition.leader !== this.#options.nodeId) continue;
      const local = this.#options.replicas.get(offsetsTopicName, partition.partition);
      if (!local || local.topicId !== topic!.topicId) continue;
      wanted.add(partition.partition);
      const existing = this.#drivers.get(partition.partition);
      if (existing && existing.topicId === topic!.topicId && existing.leaderEpoch === partition.leaderEpoch && existing.driver.partition === local) continue;
      // A new leader epoch means another node may have written in between: load again from the log.
      if (existing) existing.driver.unload();
      const driver = new CoordinatorDriver({
        partition: local,
        coordinator: { config: this.#coordinatorConfig, newUuid: this.#newUuid },
        nowMs: this.#nowMs,
        append: this.#appenderFor(local),
        logger: this.#logger.child(`${offsetsTopicName}-${partition.partition}`),
      });
      this.#drivers.set(partition.partition, { driver, topicId: topic!.topicId, leaderEpoch: partition.leaderEpoch });
      void this.#load(driver);
    }
    for (const [index, entry] of this.#drivers) {
      if (wanted.has(index)) continue;
      entry.driver.unload();
      this.#drivers.delete(index);
      this.#logger.info('group coordinator unloaded', { partition: index });
    }
  }

  /**
   * In a cluster a group write counts once replicated: appended through the partition's replica
   * logic with acks=all (refused before writing when the ISR is below min.insync.replicas), and
   * resolved when the high watermark passes it. Errors carry the append's code; the coordinator
   * translates it as Kafka does (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, ...).
   */
  #appenderFor(local: Partition): ((batch: Buffer) => Promise<AppendOutcome>) | undefined {
    const replication = this.#options.replication;
    if (!replication) return undefined;
    const timeoutMs = this.#options.offsetsCommitTimeoutMs ?? 5000;
    // Not async: produce() must assign the offsets synchronously, in call order.
    return (batch) => {
      const replicated = replication.get(offsetsTopicName, local.partition);
      if (!replicated || replicated.partition !== local || replicated.replica.role !== 'leader') {
        return Promise.reject(new AppendError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${offsetsTopicName}-${local.partition} is not led by this node's replica`));
      }
      return replicated.produce(batch, -1, timeoutMs).then((answer) => {
        if (answer.errorCode !== ErrorCode.NONE || answer.appended === undefined) {
          const errorCode = answer.errorCode !== ErrorCode.NONE ? answer.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
          throw new AppendError(errorCode, `${offsetsTopicName}-${local.partition}: append not replicated (error ${errorCode})`);
        }
        return answer.appended;
      });
    };
  }

  async #load(driver: CoordinatorDriver): Promise<void> {
    const startedMs = this.#nowMs();
    try {
      const summary = await driver.load();
      if (summary && (summary.groupCount > 0 || summary.skippedRecordCount > 0)) {
        this.#logger.info('group coordinator loaded', { partition: driver.partitionIndex, ...summary, tookMs: this.#nowMs() - startedMs });
      }
    } catch (error) {
      // The partition stays unserved (clients see COORDINATOR_LOAD_IN_PROGRESS and retry); a
      // later metadata change or restart loads it again.
      this.#logger.error('loading a group coordinator failed', { partition: driver.partitionIndex, error: (error as Error).stack });
    }
  }
}
