// The group coordinator of one __consumer_offsets partition: the API request handlers call.
//
// One instance per partition this broker leads. On becoming leader: create it, replay() the
// partition, then serve. On losing leadership: unload(), which answers every parked request with
// NOT_COORDINATOR, and drop it. Whether this broker coordinates a group at all
// (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) is the caller's decision, made before calling.
//
// Driving it (all calls are synchronous and take the current time; nothing here reads a clock):
//   - JoinGroup / SyncGroup return a Completion: `await completion.promise` in the handler.
//   - After any call, takeWrites() and append each write's records to the partition, in order,
//     then completeWrite(writeId, appendErrorCode, nowMs). Parked answers may depend on it.
//     (onWritesPending fires when the outbox goes from empty to non-empty, to schedule that.)
//   - Offset commits: append commitOffsets().records, then applyCommittedOffsets(pending) or
//     failCommittedOffsets(pending, appendErrorCode).
//   - Timers: call tick(nowMs) at or after nextDeadlineMs() (and after any call, the deadline may
//     have moved). tick() expires sessions, ends join phases, enforces sync deadlines and runs the
//     offset retention sweep.
import { Completion } from './completion.ts';
import { ErrorCode } from './error-codes.ts';
import { groupCoordinatorConfig } from './group-config.ts';
import type { GroupCoordinatorConfig } from './group-config.ts';
import { GroupMembership } from './group-membership.ts';
import { Rebalancer } from './group-rebalance.ts';
import { GroupStore } from './group-store.ts';
import type {
  CommittedOffset,
  DeleteGroupsResult,
  DescribedGroup,
  GroupStateName,
  GroupWrite,
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupRequest,
  LeaveGroupResult,
  ListedGroup,
  ListGroupsFilter,
  OffsetCommitOutcome,
  OffsetCommitRequest,
  OffsetDeleteResult,
  OffsetFetchResult,
  PartitionErrorCode,
  PendingOffsetCommit,
  SyncGroupRequest,
  SyncGroupResult,
  TopicPartitionRef,
} from './group-types.ts';
import { Group, joinError, syncError } from './group.ts';
import { Member } from './member.ts';
import { OffsetManager } from './offset-manager.ts';
import { replayOffsetsTopic } from './offsets-topic-replay.ts';
import type { OffsetsTopicLogRecord, ReplayedGroup } from './offsets-topic-replay.ts';
import { silentLogger } from '../util/log.ts';
import type { Logger } from '../util/log.ts';

export interface GroupCoordinatorOptions {
  config?: Partial<GroupCoordinatorConfig>;
  /** Random part of new member ids (Kafka: `${clientId}-${UUID}`); the driver passes a UUID source. */
  newUuid: () => string;
  logger?: Logger;
  /** Called when writes become pending (the outbox went from empty to non-empty). */
  onWritesPending?: () => void;
}

/** A group as plain data, for the REST API, tooling and tests (no timers, no parked requests). */
export interface GroupView {
  groupId: string;
  state: GroupStateName;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    /** Metadata for the selected protocol; null while none is selected. */
    metadata: Buffer | null;
    assignment: Buffer;
  }[];
  /** Sorted by topic, then partition. */
  offsets: CommittedOffset[];
}

export interface ReplaySummary {
  groupCount: number;
  offsetCount: number;
  skippedRecordCount: number;
}

/** Bounds one tick's work; a timer chain with zero timeouts continues on the next tick. */
const expiryRoundsPerTickMax = 16;

export class GroupCoordinator {
  readonly #store: GroupStore;
  readonly #membership: GroupMembership;
  readonly #rebalancer: Rebalancer;
  readonly #offsets: OffsetManager;
  #nextRetentionSweepMs: number | null = null;

  constructor(options: GroupCoordinatorOptions) {
    const config = groupCoordinatorConfig(options.config);
    this.#store = new GroupStore(config, options.logger ?? silentLogger, options.onWritesPending);
    this.#rebalancer = new Rebalancer(this.#store);
    this.#membership = new GroupMembership(this.#store, this.#rebalancer, options.newUuid);
    this.#offsets = new OffsetManager(this.#store);
  }

  get config(): Readonly<GroupCoordinatorConfig> {
    return this.#store.config;
  }

  // ---- Membership ------------------------------------------------------------------------------

  joinGroup(request: JoinGroupRequest, nowMs: number): Completion<JoinGroupResult> {
    if (this.#store.closed) return Completion.of(joinError(request.memberId, ErrorCode.NOT_COORDINATOR));
    return this.#membership.joinGroup(request, nowMs);
  }

  syncGroup(request: SyncGroupRequest, nowMs: number): Completion<SyncGroupResult> {
    if (this.#store.closed) return Completion.of(syncError(ErrorCode.NOT_COORDINATOR));
    return this.#membership.syncGroup(request, nowMs);
  }

  heartbeat(request: HeartbeatRequest, nowMs: number): { errorCode: number } {
    if (this.#store.closed) return { errorCode: ErrorCode.NOT_COORDINATOR };
    return this.#membership.heartbeat(request, nowMs);
  }

  leaveGroup(request: LeaveGroupRequest, nowMs: number): LeaveGroupResult {
    if (this.#store.closed) return { errorCode: ErrorCode.NOT_COORDINATOR, members: [] };
    return this.#membership.leaveGroup(request, nowMs);
  }

  // ---- Administration --------------------------------------------------------------------------

  describeGroups(groupIds: readonly string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const group = this.#store.closed ? undefined : this.#store.group(groupId);
      if (group) return group.describe();
      return {
        groupId,
        errorCode: this.#store.closed ? ErrorCode.NOT_COORDINATOR : ErrorCode.GROUP_ID_NOT_FOUND,
        groupState: 'Dead',
        protocolType: '',
        protocolData: '',
        members: [],
      };
    });
  }

  listGroups(filter: ListGroupsFilter = {}): ListedGroup[] {
    const states = new Set((filter.statesFilter ?? []).map((state) => state.toLowerCase()));
    const types = new Set((filter.typesFilter ?? []).map((type) => type.toLowerCase()));
    if (types.size > 0 && !types.has('classic')) return [];
    const listed: ListedGroup[] = [];
    for (const group of this.#store.groups.values()) {
      if (states.size === 0 || states.has(group.state.toLowerCase())) listed.push(group.overview());
    }
    return listed;
  }

  deleteGroups(groupIds: readonly string[], nowMs: number): DeleteGroupsResult[] {
    if (this.#store.closed) return groupIds.map((groupId) => ({ groupId, errorCode: ErrorCode.NOT_COORDINATOR }));
    return this.#offsets.deleteGroups(groupIds, nowMs);
  }

  // ---- Offsets ---------------------------------------------------------------------------------

  commitOffsets(request: OffsetCommitRequest, nowMs: number): OffsetCommitOutcome {
    if (this.#store.closed) {
      const partitions = request.offsets.map(({ topic, partition }) => ({ topic, partition, errorCode: ErrorCode.NOT_COORDINATOR }));
      return { partitions, records: [], pending: null };
    }
    return this.#offsets.commitOffsets(request, nowMs);
  }

  applyCommittedOffsets(pending: PendingOffsetCommit, recordOffset: number | null = null): void {
    if (!this.#store.closed) this.#offsets.applyCommittedOffsets(pending, recordOffset);
  }

  failCommittedOffsets(pending: PendingOffsetCommit, appendErrorCode: number): PartitionErrorCode[] {
    return this.#offsets.failCommittedOffsets(pending, appendErrorCode);
  }

  /** `partitions` null = all committed partitions of the group. */
  fetchOffsets(groupId: string, partitions: readonly TopicPartitionRef[] | null, requireStable = false): OffsetFetchResult {
    if (this.#store.closed) return { errorCode: ErrorCode.NOT_COORDINATOR, partitions: [] };
    return this.#offsets.fetchOffsets(groupId, partitions, requireStable);
  }

  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[], nowMs: number): OffsetDeleteResult {
    if (this.#store.closed) return { errorCode: ErrorCode.NOT_COORDINATOR, partitions: [] };
    return this.#offsets.deleteOffsets(groupId, partitions, nowMs);
  }

  /** The retention sweep; tick() runs it every offsetsRetentionCheckIntervalMs. Returns offsets removed. */
  expireOffsets(nowMs: number): number {
    if (this.#store.closed) return 0;
    return this.#offsets.expireOffsets(nowMs);
  }

  // ---- Timers and writes -----------------------------------------------------------------------

  tick(nowMs: number): void {
    if (this.#store.closed) return;
    for (let round = 0; round < expiryRoundsPerTickMax; round++) {
      let fired = 0;
      for (const group of [...this.#store.groups.values()]) fired += this.#rebalancer.expire(group, nowMs);
      if (fired === 0) break;
    }
    if (this.#nextRetentionSweepMs === null) {
      this.#nextRetentionSweepMs = nowMs + this.#store.config.offsetsRetentionCheckIntervalMs;
    } else if (nowMs >= this.#nextRetentionSweepMs) {
      this.#offsets.expireOffsets(nowMs);
      this.#nextRetentionSweepMs = nowMs + this.#store.config.offsetsRetentionCheckIntervalMs;
    }
  }

  /** When tick() next has work; null when nothing is scheduled (the retention sweep is armed by replay() or the first tick()). */
  nextDeadlineMs(): number | null {
    if (this.#store.closed) return null;
    let earliest = this.#nextRetentionSweepMs;
    for (const group of this.#store.groups.values()) {
      const deadlineMs = this.#rebalancer.nextDeadlineMs(group);
      if (deadlineMs !== null && (earliest === null || deadlineMs < earliest)) earliest = deadlineMs;
    }
    return earliest;
  }

  takeWrites(): GroupWrite[] {
    return this.#store.takeWrites();
  }

  /** appendErrorCode is the produce error of the append (0 when durable). */
  completeWrite(writeId: number, appendErrorCode: number, nowMs: number): void {
    this.#store.completeWrite(writeId, appendErrorCode, nowMs);
  }

  /** Writes taken (or still queued) whose completeWrite has not come yet. */
  get outstandingWriteCount(): number {
    return this.#store.outstandingWriteCount;
  }

  // ---- Loading and unloading -------------------------------------------------------------------

  /**
   * Loads the partition's records (in log order) into a coordinator that has no groups yet. Groups
   * come back Stable (with members) or Empty, as Kafka loads them; every member gets a fresh
   * session, so members that died with the old coordinator expire normally.
   */
  replay(records: Iterable<OffsetsTopicLogRecord>, nowMs: number): ReplaySummary {
    if (this.#store.closed || this.#store.groups.size > 0) throw new Error('replay needs a fresh coordinator');
    const image = replayOffsetsTopic(records);
    this.#nextRetentionSweepMs = nowMs + this.#store.config.offsetsRetentionCheckIntervalMs;
    if (image.skippedRecordCount > 0) {
      this.#store.logger.warn('skipped records while loading', { count: image.skippedRecordCount, first: image.firstSkipReason });
    }
    let offsetCount = 0;
    for (const replayed of image.groups) {
      const group = this.#restoreGroup(replayed, nowMs);
      offsetCount += replayed.offsets.length;
      if (group.size > this.#store.config.groupMaxSize) {
        this.#rebalancer.prepareRebalance(group, `loaded group is over capacity (${this.#store.config.groupMaxSize})`, nowMs);
      }
    }
    return { groupCount: image.groups.length, offsetCount, skippedRecordCount: image.skippedRecordCount };
  }

  #restoreGroup(replayed: ReplayedGroup, nowMs: number): Group {
    const metadata = replayed.metadata;
    const group = new Group(replayed.groupId, metadata?.currentStateTimestampMs ?? null);
    this.#store.groups.set(group.groupId, group);
    for (const { offset, logOffset } of replayed.offsets) group.offsets.load(offset, logOffset);
    if (!metadata) return group;

    group.generationId = metadata.generationId;
    group.protocolName = metadata.protocolName;
    // Members without a protocol type or selected protocol cannot be served, and duplicates break
    // the group's invariants; Kafka never writes either, so such members are skipped.
    const protocolName = metadata.protocolName;
    if (protocolName !== null && metadata.protocolType !== '') {
      for (const stored of metadata.members) {
        const duplicate = group.has(stored.memberId) || (stored.groupInstanceId !== null && group.staticMemberId(stored.groupInstanceId) !== undefined);
        if (duplicate) continue;
        const member = new Member({
          memberId: stored.memberId,
          groupInstanceId: stored.groupInstanceId,
          clientId: stored.clientId,
          clientHost: stored.clientHost,
          rebalanceTimeoutMs: stored.rebalanceTimeoutMs,
          sessionTimeoutMs: stored.sessionTimeoutMs,
          protocolType: metadata.protocolType,
          protocols: [{ name: protocolName, metadata: stored.subscription }],
        });
        member.assignment = stored.assignment;
        member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
        group.add(member);
      }
    }
    if (metadata.leaderId !== null && group.has(metadata.leaderId)) group.leaderId = metadata.leaderId;
    group.protocolType = metadata.protocolType === '' ? null : metadata.protocolType;
    group.state = group.size > 0 ? 'Stable' : 'Empty';
    group.subscribedTopics = group.computeSubscribedTopics();
    return group;
  }

  /** This broker no longer leads the partition. The instance is unusable afterwards. */
  unload(nowMs: number): void {
    for (const group of this.#store.groups.values()) {
      if (!group.is('Dead')) this.#rebalancer.unloadGroup(group, nowMs);
    }
    this.#store.close();
  }

  // ---- Inspection ------------------------------------------------------------------------------

  groupIds(): string[] {
    return [...this.#store.groups.keys()];
  }

  exportGroup(groupId: string): GroupView | null {
    const group = this.#store.group(groupId);
    return group ? viewOf(group) : null;
  }

  exportState(): GroupView[] {
    return [...this.#store.groups.values()].map(viewOf).sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }
}

function viewOf(group: Group): GroupView {
  const protocolName = group.protocolName;
  const offsets = group.offsets
    .all()
    .map((offset) => ({ ...offset }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return {
    groupId: group.groupId,
    state: group.state,
    generationId: group.generationId,
    protocolType: group.protocolType,
    protocolName,
    leaderId: group.leaderId,
    members: [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      sessionTimeoutMs: member.sessionTimeoutMs,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      metadata: protocolName === null ? null : member.metadata(protocolName),
      assignment: member.assignment,
    })),
    offsets,
  };
}
