// The active controller's logic: validates a request against the committed image, turns it into
// metadata records and proposes them through Raft; it answers once they are committed and applied.
// It runs only on the Raft leader. Deterministic: time, topic ids and the log come in through
// ControllerDeps, so a test can drive it with a fake log and a fake clock.
//
// Changes run one at a time (each validated against the image that includes every earlier one):
// two registrations can never pick the same broker epoch, nor two allocations the same producer ids.
//
// Requirement on the caller: call onBecomeLeader() only once the local image has applied every entry
// committed before this leader's term (e.g. after its own first entry is applied). An image that lags
// behind the log would hand out broker epochs and producer ids that are already taken.
import { ErrorCode } from '../protocol/error-codes.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { BrokerLiveness, type FenceReason, type HeartbeatConnection } from './broker-liveness.ts';
import { compareBrokerEpoch, liveBrokers, registrationProblem, reportedPartition } from './broker-request-checks.ts';
import { isClusterMetadataImage, partitionRecord, type ClusterMetadataImage, type RegisteredBroker } from './metadata-image-builder.ts';
import type { MetadataImage, PartitionMetadata, TopicMetadata } from './metadata-image.ts';
import { alterPartitionKey, checkAlterPartition } from './alter-partition-check.ts';
import { metadataRecordLimits, type MetadataRecord } from './metadata-records.ts';
import { preferredLeaderMoves, type LeaderBalanceSettings } from './leader-balance.ts';
import { planElections, type ElectLeadersAnswer, type ElectLeadersTopic } from './elect-leaders-plan.ts';
import { describeLeaderMoves, fenceRecords, leadershipChanges, liveness, newPartitionRecord, storageFullness, uncleanConfigKey, uncleanElections, type ElectionPolicy } from './leadership-records.ts';
import { electPartition, isUncleanElection, leaderShouldLeaveFullStorage, type ElectionType } from './partition-election.ts';
import { removeReplicaWithLostData } from './replica-data-loss.ts';
import { failure, ok, type AlterConfigOperation, type CreateTopicRequest, type TopicChangeResult } from './topic-requests.ts';
import { applyConfigOperations, validatePartitionIncrease, validateTopicChange, type TopicLimits } from './topic-validation.ts';

export interface ControllerDeps {
  /** The committed image; must be a MetadataImageBuilder's (it carries broker epochs and producer ids). */
  image(): MetadataImage;
  /** Appends records as one Raft entry; resolves with its offset once committed AND applied to image(). */
  propose(records: MetadataRecord[]): Promise<number>;
  nowMs(): number;
  newTopicId(): string;
  limits: TopicLimits;
  sessionTimeoutMs: number;
  /** Fence a broker this long after the connection its heartbeats came over closed, unless it heartbeats again; absent or 0: only the session fences (broker-liveness.ts). */
  connectionLossFenceMs?: number;
  /** A controller taking over fences a broker that has not heartbeated to it within this long; absent or 0: a whole session. */
  takeoverGraceMs?: number;
  /** Brokers whose node refuses connections from this one right now (no process listening): at takeover they get connectionLossFenceMs, not takeoverGraceMs. */
  refusingBrokers?(): ReadonlySet<number>;
  logger?: Logger;
  /** Preferred leader balancing; absent: off. */
  leaderBalance?: LeaderBalanceSettings;
  /** Broker default of `unclean.leader.election.enable` for topics that do not set it. */
  uncleanLeaderElectionDefault?: boolean;
  /** Called for every unclean election this controller commits (a metric). */
  onUncleanElection?(topic: string, partition: number, leader: number): void;
}

export type { ElectLeadersTopic };
// Exported from here before it moved; re-exported so importers of this module need not change.
export { compareBrokerEpoch };

export interface ElectLeadersResult {
  topics: ElectLeadersAnswer[];
  offset: number;
}

export interface BrokerRegistrationRequest {
  nodeId: number;
  incarnationId: string;
  host: string;
  port: number;
  rack: string | null;
  internalHost: string;
  internalPort: number;
}

export interface BrokerHeartbeatRequest {
  nodeId: number;
  brokerEpoch: number;
  metadataOffset: number;
  wantFence: boolean;
  /** The broker's disk guard refuses appends (disk.max.used.ratio exceeded); absent (an older sender): false. */
  storageFull?: boolean;
}

export interface AlterPartitionControllerRequest {
  brokerId: number;
  brokerEpoch: number;
  topicId: string;
  partition: number;
  leaderEpoch: number;
  /** The partition epoch the new ISR is based on. */
  partitionEpoch: number;
  newIsr: number[];
}

/** errorCode NONE with the committed state, or a refusal with epochs -1 and an empty ISR. */
export interface AlterPartitionControllerResult {
  errorCode: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: number[];
  offset: number;
}

/** A replica lost data of a partition (recovery or a CRC check found it): it must leave the ISR. */
export interface ReplicaLostDataRequest {
  brokerId: number;
  brokerEpoch: number;
  topicId: string;
  partition: number;
}

/** errorCode NONE once the committed ISR no longer holds the reporter (isr/leader as committed). */
export interface ReplicaLostDataResult {
  errorCode: number;
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  offset: number;
}

const topicIdPattern = /^[0-9a-f]{32}$/;
const topicIdAttemptsMax = 8;
/** Partition records per Raft entry when elections or ISR changes are many (an entry is capped at 8 MiB). */
const partitionRecordsPerEntryMax = 1000;
const logListMax = 100;

interface AlterPartitionWaiter {
  request: AlterPartitionControllerRequest;
  resolve(result: AlterPartitionControllerResult): void;
  reject(error: unknown): void;
}

export class QuorumController {
  private readonly deps: ControllerDeps;
  private readonly logger: Logger;
  private readonly liveness: BrokerLiveness;
  private chain: Promise<void> = Promise.resolve();
  /** AlterPartition requests not yet taken into a Raft entry (commitAlterPartitions). */
  private readonly alterQueue: AlterPartitionWaiter[] = [];
  private nextBalanceCheckMs: number | null = null;

  constructor(deps: ControllerDeps) {
    if (!Number.isSafeInteger(deps.sessionTimeoutMs) || deps.sessionTimeoutMs <= 0) throw new RangeError(`sessionTimeoutMs must be a positive integer, got ${deps.sessionTimeoutMs}`);
    // Every commit goes through here, so each unclean election is reported once it holds, whatever caused it.
    this.deps = { ...deps, propose: (records) => this.proposeAndReport(deps.propose, records) };
    this.logger = deps.logger ?? silentLogger;
    this.liveness = new BrokerLiveness({ sessionTimeoutMs: deps.sessionTimeoutMs, connectionLossFenceMs: deps.connectionLossFenceMs ?? 0, takeoverGraceMs: deps.takeoverGraceMs ?? 0 });
  }

  /** Writes the cluster id if the log has none yet (the first active controller of a new cluster). */
  async ensureClusterId(clusterId: string): Promise<{ clusterId: string; offset: number }> {
    return this.serialised(async () => {
      const image = this.image();
      if (image.clusterId !== '') return { clusterId: image.clusterId, offset: image.appliedOffset };
      const offset = await this.deps.propose([{ type: 'cluster', clusterId }]);
      return { clusterId: this.image().clusterId, offset };
    });
  }

  createTopic(request: CreateTopicRequest, validateOnly: boolean): Promise<TopicChangeResult & { topicId: string | null; offset: number }> {
    return this.serialised(async () => {
      const image = this.image();
      const { brokerIds, racks } = liveBrokers(image);
      const checked = validateTopicChange(image, request, this.deps.limits, brokerIds, racks);
      if ('errorCode' in checked) return { ...checked, topicId: null, offset: image.appliedOffset };
      if (validateOnly) return { ...ok, topicId: null, offset: image.appliedOffset };
      const topicId = this.newTopicId(image);
      const records: MetadataRecord[] = [{ type: 'topic', name: request.name, topicId, configs: checked.configs, internal: request.name.startsWith('__') }];
      checked.replicaAssignments.forEach((replicas, partition) => records.push(newPartitionRecord(image, topicId, partition, replicas)));
      const offset = await this.deps.propose(records);
      if (this.image().topicsById.get(topicId)?.name !== request.name) {
        return { ...failure(ErrorCode.UNKNOWN_SERVER_ERROR, `topic ${request.name} was not created: the log already held a conflicting change`), topicId: null, offset };
      }
      this.logger.info('topic created', { topic: request.name, topicId, partitions: checked.replicaAssignments.length, offset });
      return { ...ok, topicId, offset };
    });
  }

  deleteTopic(name: string): Promise<TopicChangeResult & { offset: number }> {
    return this.serialised(async () => {
      const image = this.image();
      const topic = image.topicsByName.get(name);
      if (topic === undefined) return { ...failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`), offset: image.appliedOffset };
      const offset = await this.deps.propose([{ type: 'remove-topic', topicId: topic.topicId }]);
      this.logger.info('topic deleted', { topic: name, topicId: topic.topicId, offset });
      return { ...ok, offset };
    });
  }

  createPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<TopicChangeResult & { offset: number }> {
    return this.serialised(async () => {
      const image = this.image();
      const topic = image.topicsByName.get(name);
      if (topic === undefined) return { ...failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`), offset: image.appliedOffset };
      const { brokerIds, racks } = liveBrokers(image);
      const checked = validatePartitionIncrease(image, topic, totalCount, this.deps.limits, brokerIds, racks);
      if ('errorCode' in checked) return { ...checked, offset: image.appliedOffset };
      if (validateOnly) return { ...ok, offset: image.appliedOffset };
      const first = topic.partitions.length;
      const records = checked.replicaAssignments.map((replicas, index) => newPartitionRecord(image, topic.topicId, first + index, replicas));
      const offset = await this.deps.propose(records);
      this.logger.info('partitions added', { topic: name, partitions: totalCount, offset });
      return { ...ok, offset };
    });
  }

  alterTopicConfigs(name: string, operations: AlterConfigOperation[], validateOnly: boolean): Promise<TopicChangeResult & { offset: number }> {
    return this.serialised(async () => {
      const image = this.image();
      const topic = image.topicsByName.get(name);
      if (topic === undefined) return { ...failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`), offset: image.appliedOffset };
      const checked = applyConfigOperations(topic.configs, operations);
      if ('errorCode' in checked) return { ...checked, offset: image.appliedOffset };
      if (validateOnly) return { ...ok, offset: image.appliedOffset };
      const records: MetadataRecord[] = [{ type: 'topic-config', topicId: topic.topicId, configs: checked.configs }];
      // Allowing unclean election gives a leaderless partition a live replica at once, as in Kafka.
      if (this.policy.uncleanAllowed(checked.configs)) records.push(...uncleanElections(image, topic.topicId));
      const offset = await this.deps.propose(records);
      this.logger.info('topic configs changed', { topic: name, configs: checked.configs, offset });
      return { ...ok, offset };
    });
  }

  /**
   * A broker process announces itself. The same incarnation again (a retry) gets its epoch back; a new
   * incarnation (the process restarted) gets a new, larger epoch, which refuses every request of the
   * old one, and starts fenced: the old process's leaderships move away at once.
   */
  registerBroker(request: BrokerRegistrationRequest, connection?: HeartbeatConnection): Promise<{ errorCode: number; brokerEpoch: number; offset: number }> {
    const receivedAtMs = this.deps.nowMs();
    return this.serialised(async () => {
      const image = this.image();
      const problem = registrationProblem(request);
      if (problem !== null) {
        this.logger.warn('broker registration refused', { nodeId: request.nodeId, problem });
        return { errorCode: ErrorCode.INVALID_REGISTRATION, brokerEpoch: -1, offset: image.appliedOffset };
      }
      const existing = image.brokers.get(request.nodeId);
      if (existing !== undefined && existing.incarnationId === request.incarnationId) {
        this.liveness.heard(request.nodeId, receivedAtMs, connection);
        return { errorCode: ErrorCode.NONE, brokerEpoch: existing.brokerEpoch, offset: existing.registeredAtOffset };
      }
      const brokerEpoch = image.highestBrokerEpoch + 1;
      const records: MetadataRecord[] = [{
        type: 'register-broker', nodeId: request.nodeId, incarnationId: request.incarnationId, brokerEpoch,
        host: request.host, port: request.port, rack: request.rack, internalHost: request.internalHost, internalPort: request.internalPort,
      }];
      if (existing !== undefined && !existing.fenced) records.push(...leadershipChanges(image, new Set([request.nodeId]), new Set(), this.policy));
      const offset = await this.deps.propose(records);
      if (this.image().brokers.get(request.nodeId)?.brokerEpoch !== brokerEpoch) {
        // Only if this controller's image lagged the log: refuse rather than hand out an epoch the log rejected.
        return { errorCode: ErrorCode.NOT_CONTROLLER, brokerEpoch: -1, offset };
      }
      this.liveness.heard(request.nodeId, receivedAtMs, connection);
      this.logger.info('broker registered', { nodeId: request.nodeId, brokerEpoch, incarnationId: request.incarnationId, previousEpoch: existing?.brokerEpoch ?? null, offset });
      return { errorCode: ErrorCode.NONE, brokerEpoch, offset };
    });
  }

  /**
   * Keeps a broker's session alive. Refused with STALE_BROKER_EPOCH for an older registration's
   * epoch. A fenced broker is unfenced once it has replayed the log up to its registration and does
   * not ask to stay fenced; `wantFence` fences an unfenced one (its leaderships move to ISR members).
   * A change of `storageFull` is recorded (`broker-storage`); in the same entry, every partition the
   * broker leads moves to a live ISR member with room when its storage became full (none: it keeps
   * leading). Room again moves nothing back: preferred leader balancing does that later.
   */
  heartbeat(request: BrokerHeartbeatRequest, connection?: HeartbeatConnection): Promise<{ errorCode: number; fenced: boolean; offset: number }> {
    const receivedAtMs = this.deps.nowMs();
    // A heartbeat that changes nothing is answered at once, not behind the changes queued before it:
    // waiting there for seconds (a burst of ISR changes) made brokers miss their sessions and fenced them.
    const current = this.image();
    const known = current.brokers.get(request.nodeId);
    if (known !== undefined && compareBrokerEpoch(request.brokerEpoch, known.brokerEpoch) === ErrorCode.NONE && !heartbeatChangesState(known, request)) {
      this.liveness.heard(request.nodeId, receivedAtMs, connection);
      return Promise.resolve({ errorCode: ErrorCode.NONE, fenced: known.fenced, offset: current.appliedOffset });
    }
    return this.serialised(async () => {
      const image = this.image();
      const broker = image.brokers.get(request.nodeId);
      if (broker === undefined) return { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, fenced: true, offset: image.appliedOffset };
      const epochProblem = compareBrokerEpoch(request.brokerEpoch, broker.brokerEpoch);
      if (epochProblem !== ErrorCode.NONE) return { errorCode: epochProblem, fenced: true, offset: image.appliedOffset };
      this.liveness.heard(request.nodeId, receivedAtMs, connection);

      const storageFull = request.storageFull === true;
      const storageRecords: MetadataRecord[] = storageFull === broker.storageFull ? [] : [{ type: 'broker-storage', nodeId: broker.nodeId, brokerEpoch: broker.brokerEpoch, full: storageFull }];
      const storage = new Map([[broker.nodeId, storageFull]]);
      if (broker.fenced && !request.wantFence && request.metadataOffset >= broker.registeredAtOffset) {
        const changes = leadershipChanges(image, new Set(), new Set([broker.nodeId]), this.policy, storage);
        const records: MetadataRecord[] = [{ type: 'unfence-broker', nodeId: broker.nodeId, brokerEpoch: broker.brokerEpoch }, ...storageRecords, ...changes];
        const offset = await this.deps.propose(records);
        this.logger.info('broker unfenced', { nodeId: broker.nodeId, brokerEpoch: broker.brokerEpoch, storageFull, leaderChanges: changes.length, offset });
        return { errorCode: ErrorCode.NONE, fenced: this.image().brokers.get(broker.nodeId)?.fenced ?? true, offset };
      }
      if (!broker.fenced && request.wantFence) {
        const offset = await this.deps.propose([...storageRecords, ...fenceRecords(image, [broker.nodeId], this.policy)]);
        this.logger.info('broker fenced on request', { nodeId: broker.nodeId, brokerEpoch: broker.brokerEpoch, offset });
        return { errorCode: ErrorCode.NONE, fenced: true, offset };
      }
      if (storageRecords.length > 0) {
        // A fenced broker leads nothing; an unfenced one's leaderships move in the same entry as its report.
        const changes = broker.fenced ? [] : leadershipChanges(image, new Set(), new Set(), this.policy, storage);
        const offset = await this.deps.propose([...storageRecords, ...changes]);
        this.logStorageChange(broker.nodeId, storageFull, image, changes, offset);
        return { errorCode: ErrorCode.NONE, fenced: this.image().brokers.get(broker.nodeId)?.fenced ?? broker.fenced, offset };
      }
      return { errorCode: ErrorCode.NONE, fenced: broker.fenced, offset: image.appliedOffset };
    });
  }

  /** Reserves `size` producer ids for `nodeId`; errorCode INVALID_REQUEST for a size out of range. */
  allocateProducerIds(nodeId: number, size: number): Promise<{ errorCode: number; firstId: number; size: number; offset: number }> {
    return this.serialised(async () => {
      const image = this.image();
      const firstId = image.nextProducerId;
      const badSize = !Number.isSafeInteger(size) || size < 1 || size > metadataRecordLimits.producerIdBlockSizeMax;
      const badNode = !Number.isSafeInteger(nodeId) || nodeId < 0 || nodeId > 2 ** 31 - 1;
      if (badSize || badNode || firstId > Number.MAX_SAFE_INTEGER - metadataRecordLimits.producerIdBlockSizeMax) {
        return { errorCode: ErrorCode.INVALID_REQUEST, firstId: -1, size: 0, offset: image.appliedOffset };
      }
      const offset = await this.deps.propose([{ type: 'producer-id-block', firstId, size, nodeId }]);
      return { errorCode: ErrorCode.NONE, firstId, size, offset };
    });
  }

  /**
   * A partition leader asks to change its ISR (Kafka's AlterPartition); the rules are in
   * alter-partition-check.ts. Requests that arrive while earlier changes commit are checked in
   * order and committed together, in one Raft entry: one at a time, a broker leading a thousand new
   * partitions waited a thousand Raft commits for its ISR changes, and every other request (a
   * registration, an election) queued behind them.
   */
  alterPartition(request: AlterPartitionControllerRequest): Promise<AlterPartitionControllerResult> {
    return new Promise((resolve, reject) => {
      this.alterQueue.push({ request, resolve, reject });
      if (this.alterQueue.length === 1) void this.serialised(() => this.commitAlterPartitions()).catch(() => {});
    });
  }

  private async commitAlterPartitions(): Promise<void> {
    const queued = this.alterQueue.splice(0);
    try {
      await this.commitQueuedAlterPartitions(queued);
    } catch (error) {
      // No waiter is left hanging (settling one already answered changes nothing).
      for (const waiter of queued) waiter.reject(error);
    }
  }

  private async commitQueuedAlterPartitions(queued: readonly AlterPartitionWaiter[]): Promise<void> {
    const image = this.image();
    const refused = (errorCode: number): AlterPartitionControllerResult => ({ errorCode, leaderEpoch: -1, partitionEpoch: -1, isr: [], offset: image.appliedOffset });
    const acceptedStates = new Map<string, PartitionMetadata>();
    const accepted: Array<{ waiter: AlterPartitionWaiter; topic: TopicMetadata; next: PartitionMetadata }> = [];
    for (const waiter of queued) {
      const checked = checkAlterPartition(image, waiter.request, acceptedStates);
      if (typeof checked === 'number') {
        waiter.resolve(refused(checked));
        continue;
      }
      acceptedStates.set(alterPartitionKey(checked.topic.topicId, waiter.request.partition), checked.next);
      accepted.push({ waiter, ...checked });
    }
    for (let start = 0; start < accepted.length; start += partitionRecordsPerEntryMax) {
      const entry = accepted.slice(start, start + partitionRecordsPerEntryMax);
      // A failure rejects this entry's waiters and every later one (commitAlterPartitions).
      const offset = await this.deps.propose(entry.map(({ topic, next }) => partitionRecord(topic.topicId, next)));
      const committedImage = this.image();
      for (const { waiter, topic, next } of entry) {
        const committed = committedImage.topicsById.get(topic.topicId)?.partitions[next.partition];
        if (committed === undefined || committed.partitionEpoch !== next.partitionEpoch || committed.leaderEpoch !== next.leaderEpoch) {
          waiter.resolve({ ...refused(ErrorCode.INVALID_UPDATE_VERSION), offset });
          continue;
        }
        this.logger.info('ISR changed', { topic: topic.name, partition: next.partition, isr: next.isr, leaderEpoch: next.leaderEpoch, partitionEpoch: next.partitionEpoch, offset });
        waiter.resolve({ errorCode: ErrorCode.NONE, leaderEpoch: committed.leaderEpoch, partitionEpoch: committed.partitionEpoch, isr: [...committed.isr], offset });
      }
    }
  }

  /**
   * A replica reports it lost data of a partition: it leaves the ISR, a new leader is chosen if it
   * led, and the partition goes offline if it was the last ISR member (replica-data-loss.ts).
   * Accepted from the reporter's current broker epoch only; repeating it changes nothing.
   */
  replicaLostData(request: ReplicaLostDataRequest): Promise<ReplicaLostDataResult> {
    return this.serialised(async () => {
      const image = this.image();
      const refused = (errorCode: number): ReplicaLostDataResult => ({ errorCode, isr: [], leader: -1, leaderEpoch: -1, partitionEpoch: -1, offset: image.appliedOffset });
      const target = reportedPartition(image, request);
      if (typeof target === 'number') return refused(target);
      const { topic, partition } = target;
      const isLive = liveness(image);
      const next = removeReplicaWithLostData(partition, request.brokerId, isLive, storageFullness(image));
      if (next === null) return { errorCode: ErrorCode.NONE, isr: [...partition.isr], leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch, offset: image.appliedOffset };
      const offset = await this.deps.propose([partitionRecord(topic.topicId, next)]);
      const committed = this.image().topicsById.get(topic.topicId)?.partitions[request.partition];
      if (committed === undefined) return { ...refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), offset };
      this.logger.warn('replica lost data: removed from the ISR', {
        topic: topic.name, partition: request.partition, brokerId: request.brokerId, isr: committed.isr, leader: committed.leader, leaderEpoch: committed.leaderEpoch, offset,
      });
      return { errorCode: ErrorCode.NONE, isr: [...committed.isr], leader: committed.leader, leaderEpoch: committed.leaderEpoch, partitionEpoch: committed.partitionEpoch, offset };
    });
  }

  /**
   * Fences every unfenced broker found dead (broker-liveness.ts): its session expired, or the
   * connection its heartbeats came over closed and it did not heartbeat again within
   * connectionLossFenceMs, or it has not heartbeated since this controller took over.
   */
  tick(): Promise<void> {
    return this.serialised(async () => {
      const image = this.image();
      const nowMs = this.deps.nowMs();
      const found = this.liveness.expired(image.brokers.values(), nowMs);
      if (found.length > 0) {
        const expired = found.map((entry) => entry.nodeId);
        const records = fenceRecords(image, expired, this.policy);
        const offset = await this.deps.propose(records);
        for (const nodeId of expired) this.liveness.fenced(nodeId);
        const reasons: Partial<Record<FenceReason, number[]>> = {};
        for (const { nodeId, reason } of found) (reasons[reason] ??= []).push(nodeId);
        this.logger.warn('brokers fenced', { reasons, sessionTimeoutMs: this.deps.sessionTimeoutMs, partitionChanges: records.length - expired.length, offset });
      }
      await this.moveOffFullStorage();
    });
  }

  /**
   * Partitions still led by a broker with full storage move once a live ISR member with room exists
   * (e.g. a follower the full leader added to the ISR after its report). Scans only while some live
   * broker reports full storage; bounded per tick, the next tick carries on.
   */
  private async moveOffFullStorage(): Promise<void> {
    const image = this.image();
    if (![...image.brokers.values()].some((broker) => broker.storageFull && !broker.fenced)) return;
    const isLive = liveness(image);
    const isFull = storageFullness(image);
    const records: MetadataRecord[] = [];
    for (const topic of image.topicsById.values()) {
      for (const partition of topic.partitions) {
        if (records.length >= partitionRecordsPerEntryMax) break;
        if (!leaderShouldLeaveFullStorage(partition, isLive, isFull)) continue;
        const next = electPartition(partition, isLive, false, isFull);
        if (next !== null) records.push(partitionRecord(topic.topicId, next));
      }
    }
    if (records.length === 0) return;
    const offset = await this.deps.propose(records);
    const moves = describeLeaderMoves(image, records);
    this.logger.info('leaders moved off brokers with full storage', { reason: 'leader storage full; an in-sync replica with room is available now', moved: moves.length, moves: moves.slice(0, logListMax), offset });
  }

  private logStorageChange(nodeId: number, full: boolean, before: ClusterMetadataImage, changes: MetadataRecord[], offset: number): void {
    if (!full) {
      this.logger.info('broker storage has room again (its leaderships come back through preferred leader balancing)', { nodeId, offset });
      return;
    }
    const moves = describeLeaderMoves(before, changes);
    const stillLeading: string[] = [];
    for (const topic of this.image().topicsById.values()) {
      for (const partition of topic.partitions) if (partition.leader === nodeId) stillLeading.push(`${topic.name}-${partition.partition}`);
    }
    this.logger.info('broker storage full: leaderships moved to in-sync replicas with room', { nodeId, reason: `broker ${nodeId} reported full storage`, moved: moves.length, moves: moves.slice(0, logListMax), offset });
    if (stillLeading.length > 0) {
      this.logger.warn('broker storage full: no live in-sync replica with room, it keeps leading (writes refused until space is freed)', {
        nodeId, partitions: stillLeading.length, examples: stillLeading.slice(0, logListMax),
      });
    }
  }

  /** The internal listener saw a connection close: a broker whose heartbeats came over it gets connectionLossFenceMs to heartbeat again. */
  connectionClosed(connectionId: number): void {
    const nodeIds = this.liveness.connectionClosed(connectionId, this.deps.nowMs());
    if (nodeIds.length > 0 && (this.deps.connectionLossFenceMs ?? 0) > 0) this.logger.info('heartbeat connection closed', { nodeIds, fenceInMs: this.deps.connectionLossFenceMs });
  }

  /** A controller newly in charge starts every broker's session clock afresh (and, with takeoverGraceMs, a shorter deadline to hear from it). */
  onBecomeLeader(): void {
    this.liveness.takeOver(this.image().brokers.keys(), this.deps.nowMs(), this.deps.refusingBrokers?.());
  }

  /**
   * ElectLeaders: a preferred or unclean election for each partition asked for (`topics` null: every
   * partition, answering only those where an election was needed, as Kafka does). Per-partition
   * errors as Kafka gives them; the elections that can happen are committed together.
   */
  electLeaders(type: ElectionType, topics: ElectLeadersTopic[] | null): Promise<ElectLeadersResult> {
    return this.serialised(async () => {
      const image = this.image();
      const plan = planElections(image, type, topics, liveness(image), storageFullness(image));
      const records = plan.elections.map((election) => partitionRecord(election.topicId, election.next));
      let offset = image.appliedOffset;
      for (let start = 0; start < records.length; start += partitionRecordsPerEntryMax) {
        offset = await this.deps.propose(records.slice(start, start + partitionRecordsPerEntryMax));
      }
      if (records.length > 0) this.logger.info('leaders elected on request', { type, partitions: records.length, offset });
      return { topics: plan.topics, offset };
    });
  }

  /**
   * Preferred leader balancing: every `leader.imbalance.check.interval.seconds` (first one interval
   * after this controller took charge), brokers above `leader.imbalance.per.broker.percentage` get
   * back the leaderships they prefer (leader-balance.ts). Returns how many partitions moved.
   */
  balanceLeaders(): Promise<number> {
    const settings = this.deps.leaderBalance;
    if (settings === undefined || !settings.enabled) return Promise.resolve(0);
    const nowMs = this.deps.nowMs();
    if (this.nextBalanceCheckMs === null) this.nextBalanceCheckMs = nowMs + settings.checkIntervalMs;
    if (nowMs < this.nextBalanceCheckMs) return Promise.resolve(0);
    this.nextBalanceCheckMs = nowMs + settings.checkIntervalMs;
    return this.serialised(async () => {
      const image = this.image();
      // Bounded per check; the next check carries on.
      const moves = preferredLeaderMoves(image, liveness(image), settings.imbalancePercentage, storageFullness(image)).slice(0, partitionRecordsPerEntryMax);
      if (moves.length === 0) return 0;
      const offset = await this.deps.propose(moves.map((move) => partitionRecord(move.topicId, move.next)));
      this.logger.info('preferred leaders elected (leader balancing)', {
        partitions: moves.length,
        moves: moves.slice(0, 20).map((move) => `${move.topic}-${move.next.partition}: ${move.before.leader} -> ${move.next.leader}`),
        offset,
      });
      return moves.length;
    });
  }

  private readonly policy: ElectionPolicy = {
    uncleanAllowed: (configs) => {
      const value = configs[uncleanConfigKey];
      return value === undefined ? this.deps.uncleanLeaderElectionDefault === true : value.toLowerCase() === 'true';
    },
  };

  /** Commits `records`, then warns about and counts each unclean election among them. */
  private async proposeAndReport(propose: ControllerDeps['propose'], records: MetadataRecord[]): Promise<number> {
    const before = this.image();
    const offset = await propose(records);
    for (const record of records) {
      if (record.type !== 'partition') continue;
      const topic = before.topicsById.get(record.topicId);
      const previous = topic?.partitions[record.partition];
      if (topic === undefined || previous === undefined || !isUncleanElection(previous, record)) continue;
      this.logger.warn('UNCLEAN leader election: a replica outside the ISR now leads; acknowledged messages only the previous ISR held are lost', {
        topic: topic.name, partition: record.partition, leader: record.leader, previousIsr: previous.isr, leaderEpoch: record.leaderEpoch, offset,
      });
      this.deps.onUncleanElection?.(topic.name, record.partition, record.leader);
    }
    return offset;
  }

  private image(): ClusterMetadataImage {
    const image = this.deps.image();
    if (!isClusterMetadataImage(image)) throw new Error('QuorumController needs the image of a MetadataImageBuilder (broker epochs, producer ids, applied offset)');
    return image;
  }

  private newTopicId(image: ClusterMetadataImage): string {
    for (let attempt = 0; attempt < topicIdAttemptsMax; attempt++) {
      const topicId = this.deps.newTopicId();
      if (!topicIdPattern.test(topicId)) throw new Error(`newTopicId() returned ${JSON.stringify(topicId)}; expected 32 lowercase hex digits`);
      if (!image.topicsById.has(topicId) && topicId !== '00000000000000000000000000000000') return topicId;
    }
    throw new Error(`newTopicId() returned ${topicIdAttemptsMax} ids already in use`);
  }

  private serialised<T>(change: () => Promise<T>): Promise<T> {
    const result = this.chain.then(change);
    this.chain = result.then(() => undefined, () => undefined);
    return result;
  }
}

/** Whether heartbeat() would write a record for this heartbeat: unfence, fence on request, or a storage change. */
function heartbeatChangesState(broker: RegisteredBroker, request: BrokerHeartbeatRequest): boolean {
  if (broker.fenced && !request.wantFence && request.metadataOffset >= broker.registeredAtOffset) return true;
  if (!broker.fenced && request.wantFence) return true;
  return (request.storageFull === true) !== broker.storageFull;
}
