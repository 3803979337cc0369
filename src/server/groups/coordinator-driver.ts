// Runs one GroupCoordinator (the pure state machine of one __consumer_offsets partition) for real:
// it reads the clock, appends the coordinator's records to the partition, releases answers once
// those records are durable, and keeps ONE timer armed at the coordinator's next deadline.
//
// Ordering contract (from src/coordinator/group-coordinator.ts):
//   - every write taken from the coordinator is appended in the order taken (Partition.append
//     assigns offsets synchronously, in call order), and completeWrite() is called in that same
//     order, only after the append resolved;
//   - an offset commit's records are appended BEFORE applyCommittedOffsets(), so OffsetFetch never
//     shows an offset that is not durable (in a cluster: not replicated to the ISR, see `append`),
//     and the commit is answered only then: a coordinator failover cannot take it back;
//   - after every call that may change deadlines, the timer is re-armed.
import { ErrorCode } from '../../protocol/error-codes.ts';
import { buildRecordBatchSync } from '../../protocol/records.ts';
import { GroupCoordinator } from '../../coordinator/group-coordinator.ts';
import type { GroupCoordinatorOptions, ReplaySummary } from '../../coordinator/group-coordinator.ts';
import type {
  DeleteGroupsResult,
  DescribedGroup,
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupRequest,
  LeaveGroupResult,
  ListedGroup,
  ListGroupsFilter,
  OffsetCommitRequest,
  OffsetDeleteResult,
  OffsetFetchResult,
  PartitionErrorCode,
  SyncGroupRequest,
  SyncGroupResult,
  TopicPartitionRef,
} from '../../coordinator/group-types.ts';
import type { OffsetsTopicRecord } from '../../coordinator/offsets-topic-format.ts';
import type { Logger } from '../../util/log.ts';
import type { AppendOutcome, Partition } from '../partition.ts';
import { readOffsetsPartition } from './offsets-partition-reader.ts';

export type DriverState = 'loading' | 'active' | 'unloaded';

/** setTimeout cannot wait longer than this (about 24.8 days); a later deadline is re-checked then. */
const timerDelayMsMax = 2 ** 31 - 1;
const stuckDeadlineRetryMs = 1000;

/** An append that failed with a Kafka error code (translated for the client by the coordinator). */
export class AppendError extends Error {
  constructor(readonly errorCode: number, message: string) {
    super(message);
  }
}

export interface CoordinatorDriverOptions {
  partition: Partition;
  coordinator: Omit<GroupCoordinatorOptions, 'onWritesPending' | 'logger'>;
  /** Wall-clock milliseconds: commit timestamps are stored and compared across restarts. */
  nowMs: () => number;
  /**
   * Appends one batch to the partition and resolves once it counts as written: in a cluster once
   * replicated (acks=all), rejecting with an AppendError otherwise. It must assign offsets
   * synchronously, in call order, as Partition.append does. Default: the local append (one node).
   */
  append?: (batch: Buffer) => Promise<AppendOutcome>;
  logger: Logger;
}

export class CoordinatorDriver {
  readonly partition: Partition;
  readonly #coordinator: GroupCoordinator;
  readonly #nowMs: () => number;
  readonly #appendBatch: (batch: Buffer) => Promise<AppendOutcome>;
  readonly #logger: Logger;
  #state: DriverState = 'loading';
  #timer: NodeJS.Timeout | null = null;
  #armedDeadlineMs: number | null = null;
  /** The deadline the last timer fired for; a deadline that tick() did not move is retried slowly. */
  #firedDeadlineMs: number | null = null;
  /** Settles after every write taken so far has been completed (in order). */
  #completions: Promise<void> = Promise.resolve();
  #pumpScheduled = false;

  constructor(options: CoordinatorDriverOptions) {
    this.partition = options.partition;
    this.#nowMs = options.nowMs;
    this.#appendBatch = options.append ?? ((batch) => this.partition.append(batch));
    this.#logger = options.logger;
    this.#coordinator = new GroupCoordinator({
      ...options.coordinator,
      logger: options.logger,
      // Writes can appear outside a request (a join phase ended by the timer): pump them soon.
      onWritesPending: () => this.#schedulePump(),
    });
  }

  get state(): DriverState {
    return this.#state;
  }

  get partitionIndex(): number {
    return this.partition.partition;
  }

  /** For tooling and the REST API. */
  get coordinator(): GroupCoordinator {
    return this.#coordinator;
  }

  /** Replays the partition; until it resolves, requests for its groups get COORDINATOR_LOAD_IN_PROGRESS. */
  async load(): Promise<ReplaySummary | null> {
    const contents = await readOffsetsPartition(this.partition, () => this.#state !== 'loading');
    if (this.#state !== 'loading') return null;
    const summary = this.#coordinator.replay(contents.records, this.#nowMs());
    this.#state = 'active';
    if (contents.skippedBatchCount > 0) this.#logger.warn('skipped control or transactional batches while loading', { count: contents.skippedBatchCount });
    this.#afterCall();
    return summary;
  }

  // ---- Membership ------------------------------------------------------------------------------

  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResult> {
    const completion = this.#coordinator.joinGroup(request, this.#nowMs());
    this.#afterCall();
    return completion.promise;
  }

  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResult> {
    const completion = this.#coordinator.syncGroup(request, this.#nowMs());
    this.#afterCall();
    return completion.promise;
  }

  heartbeat(request: HeartbeatRequest): { errorCode: number } {
    const result = this.#coordinator.heartbeat(request, this.#nowMs());
    this.#afterCall();
    return result;
  }

  leaveGroup(request: LeaveGroupRequest): LeaveGroupResult {
    const result = this.#coordinator.leaveGroup(request, this.#nowMs());
    this.#afterCall();
    return result;
  }

  // ---- Administration --------------------------------------------------------------------------

  describeGroups(groupIds: readonly string[]): DescribedGroup[] {
    return this.#coordinator.describeGroups(groupIds);
  }

  listGroups(filter: ListGroupsFilter): ListedGroup[] {
    return this.#coordinator.listGroups(filter);
  }

  /** Answered once the tombstones are durable. */
  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupsResult[]> {
    const results = this.#coordinator.deleteGroups(groupIds, this.#nowMs());
    this.#afterCall();
    await this.#completions;
    return results;
  }

  // ---- Offsets ---------------------------------------------------------------------------------

  async commitOffsets(request: OffsetCommitRequest): Promise<PartitionErrorCode[]> {
    const outcome = this.#coordinator.commitOffsets(request, this.#nowMs());
    this.#afterCall();
    if (outcome.pending === null || outcome.records.length === 0) return outcome.partitions;
    const pending = outcome.pending;
    try {
      const appended = await this.#append(outcome.records);
      this.#coordinator.applyCommittedOffsets(pending, appended.baseOffset);
      return outcome.partitions;
    } catch (error) {
      const failed = this.#coordinator.failCommittedOffsets(pending, this.#appendErrorCode(error));
      const failedCodes = new Map(failed.map((entry) => [JSON.stringify([entry.topic, entry.partition]), entry.errorCode]));
      return outcome.partitions.map((entry) => ({ ...entry, errorCode: failedCodes.get(JSON.stringify([entry.topic, entry.partition])) ?? entry.errorCode }));
    } finally {
      this.#afterCall();
    }
  }

  fetchOffsets(groupId: string, partitions: readonly TopicPartitionRef[] | null, requireStable: boolean): OffsetFetchResult {
    return this.#coordinator.fetchOffsets(groupId, partitions, requireStable);
  }

  /** Answered once the tombstones are durable. */
  async deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<OffsetDeleteResult> {
    const result = this.#coordinator.deleteOffsets(groupId, partitions, this.#nowMs());
    this.#afterCall();
    await this.#completions;
    return result;
  }

  // ---- Lifecycle -------------------------------------------------------------------------------

  /** Leadership lost or shutdown: parked requests are answered NOT_COORDINATOR, the timer stops. */
  unload(): void {
    if (this.#state === 'unloaded') return;
    const wasActive = this.#state === 'active';
    this.#state = 'unloaded';
    this.#clearTimer();
    if (wasActive) this.#coordinator.unload(this.#nowMs());
  }

  /** Resolves when every write taken so far has been appended and completed. */
  flushed(): Promise<void> {
    return this.#completions;
  }

  // ---- Writes and the timer --------------------------------------------------------------------

  #afterCall(): void {
    this.#pumpWrites();
    this.#rearm();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#afterCall();
    });
  }

  #pumpWrites(): void {
    const writes = this.#coordinator.takeWrites();
    for (const write of writes) {
      // Appended now (offsets assigned in call order); completed strictly in the same order.
      const appended = this.#append(write.records).then(
        () => ErrorCode.NONE as number,
        (error: unknown) => this.#appendErrorCode(error),
      );
      this.#completions = this.#completions
        .then(() => appended)
        .then((errorCode) => {
          if (errorCode !== ErrorCode.NONE) this.#logger.warn('group write failed', { groupId: write.groupId, errorCode });
          this.#coordinator.completeWrite(write.writeId, errorCode, this.#nowMs());
          if (this.#state === 'active') this.#afterCall();
        })
        .catch((error: unknown) => {
          this.#logger.error('completing a group write failed', { groupId: write.groupId, error: (error as Error).stack });
        });
    }
  }

  #append(records: readonly OffsetsTopicRecord[]): Promise<AppendOutcome> {
    if (this.#state === 'unloaded') return Promise.reject(new AppendError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'coordinator unloaded'));
    const batch = buildRecordBatchSync({ records: records.map((record) => ({ key: record.key, value: record.value })) });
    if (batch.length > this.partition.maxMessageBytes) {
      return Promise.reject(new AppendError(ErrorCode.MESSAGE_TOO_LARGE, `group record batch of ${batch.length} bytes exceeds max.message.bytes ${this.partition.maxMessageBytes}`));
    }
    return this.#appendBatch(batch);
  }

  #appendErrorCode(error: unknown): number {
    if (error instanceof AppendError) return error.errorCode;
    this.#logger.error('append to __consumer_offsets failed', { partition: this.partitionIndex, error: (error as Error).message });
    return ErrorCode.KAFKA_STORAGE_ERROR;
  }

  #rearm(): void {
    if (this.#state !== 'active') return this.#clearTimer();
    const deadlineMs = this.#coordinator.nextDeadlineMs();
    if (deadlineMs === this.#armedDeadlineMs && this.#timer !== null) return;
    this.#clearTimer();
    if (deadlineMs === null) return;
    // A deadline that survived the tick meant for it would otherwise spin the timer; that is a
    // coordinator bug, so it is logged and retried at a pace that cannot starve the node.
    const stuck = deadlineMs === this.#firedDeadlineMs;
    if (stuck) this.#logger.warn('group coordinator deadline did not move after tick', { partition: this.partitionIndex, deadlineMs });
    const delayMs = Math.min(timerDelayMsMax, Math.max(stuck ? stuckDeadlineRetryMs : 0, deadlineMs - this.#nowMs()));
    this.#armedDeadlineMs = deadlineMs;
    this.#timer = setTimeout(() => this.#onTimer(), delayMs);
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#firedDeadlineMs = this.#armedDeadlineMs;
    this.#timer = null;
    this.#armedDeadlineMs = null;
    if (this.#state !== 'active') return;
    try {
      this.#coordinator.tick(this.#nowMs());
    } catch (error) {
      this.#logger.error('group coordinator tick failed', { partition: this.partitionIndex, error: (error as Error).stack });
    }
    this.#afterCall();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedDeadlineMs = null;
  }
}
