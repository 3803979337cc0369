// Committed offsets: OffsetCommit validation, OffsetFetch, OffsetDelete, DeleteGroups and the
// retention sweep (Kafka's GroupCoordinator offset paths + GroupMetadataManager.cleanupGroupMetadata).
//
// Commit ordering contract: commitOffsets() validates and returns the records; the caller appends
// them to __consumer_offsets and then calls applyCommittedOffsets() (or failCommittedOffsets()).
// Only after apply does OffsetFetch see the new offsets, so nothing is read that a failover could
// take back.
import { ErrorCode, offsetCommitErrorFromAppendError } from './error-codes.ts';
import { validateCurrentMember } from './group-membership.ts';
import type { GroupStore } from './group-store.ts';
import type {
  CommittedOffset,
  DeleteGroupsResult,
  FetchedOffset,
  OffsetCommitOutcome,
  OffsetCommitRequest,
  OffsetDeleteResult,
  OffsetFetchResult,
  PartitionErrorCode,
  PendingOffsetCommit,
  TopicPartitionRef,
} from './group-types.ts';
import { unknownMemberId } from './group-types.ts';
import type { Group } from './group.ts';
import { groupTombstone, offsetCommitRecord, offsetTombstone } from './offsets-topic-format.ts';
import type { OffsetsTopicRecord } from './offsets-topic-format.ts';

export class OffsetManager {
  readonly #store: GroupStore;

  constructor(store: GroupStore) {
    this.#store = store;
  }

  commitOffsets(request: OffsetCommitRequest, nowMs: number): OffsetCommitOutcome {
    const answerAll = (errorCode: number): OffsetCommitOutcome => ({
      partitions: request.offsets.map(({ topic, partition }) => ({ topic, partition, errorCode })),
      records: [],
      pending: null,
    });
    let group = this.#store.group(request.groupId);
    if (!group) {
      // A commit with no generation needs no group management: it creates a "simple" group.
      // With a generation, the group it belonged to is gone.
      if (request.generationId >= 0) return answerAll(ErrorCode.ILLEGAL_GENERATION);
      group = this.#store.createGroup(request.groupId, nowMs);
    }
    const validationError = validateOffsetCommit(group, request);
    if (validationError !== ErrorCode.NONE) return answerAll(validationError);

    switch (group.state) {
      case 'Empty':
        break;
      case 'Stable':
      case 'PreparingRebalance': {
        // Commits are allowed while preparing: the member learns of the rebalance from its next
        // heartbeat. A commit also proves the member alive.
        const member = group.get(request.memberId);
        member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
        break;
      }
      case 'CompletingRebalance':
        // The member has its new generation from JoinGroup but not its assignment yet.
        return answerAll(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Dead':
        throw new Error(`group ${group.groupId}: commit reached a Dead group after validation`);
    }
    return this.#stageOffsets(group, request, nowMs);
  }

  #stageOffsets(group: Group, request: OffsetCommitRequest, nowMs: number): OffsetCommitOutcome {
    const maxMetadataLength = this.#store.config.offsetMetadataMaxBytes;
    // An explicit retention (old clients) pins an expiry time, stored in a value-v1 record as Kafka does.
    const retentionTimeMs = request.retentionTimeMs ?? -1;
    const expireTimestampMs = retentionTimeMs >= 0 ? nowMs + retentionTimeMs : null;
    const partitions: PartitionErrorCode[] = [];
    const committed: CommittedOffset[] = [];
    for (const offset of request.offsets) {
      const metadata = offset.metadata ?? '';
      if (metadata.length > maxMetadataLength) {
        partitions.push({ topic: offset.topic, partition: offset.partition, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE });
        continue;
      }
      partitions.push({ topic: offset.topic, partition: offset.partition, errorCode: ErrorCode.NONE });
      committed.push({
        topic: offset.topic,
        partition: offset.partition,
        offset: offset.offset,
        leaderEpoch: offset.leaderEpoch,
        metadata,
        commitTimestampMs: nowMs,
        expireTimestampMs,
      });
    }
    if (committed.length === 0) return { partitions, records: [], pending: null };
    group.offsets.preparePending(committed);
    const records = committed.map((offset) => offsetCommitRecord(group.groupId, offset.topic, offset.partition, offset));
    return { partitions, records, pending: { groupId: group.groupId, offsets: committed } };
  }

  /** The commit's records are durable. recordOffset (the append's base offset) orders racing commits of one partition. */
  applyCommittedOffsets(pending: PendingOffsetCommit, recordOffset: number | null = null): void {
    const group = this.#store.group(pending.groupId);
    if (!group || group.is('Dead')) return;
    for (const offset of pending.offsets) group.offsets.applyPending(offset, recordOffset);
  }

  /** The append failed: drops the staged commit and returns what each partition should be told. */
  failCommittedOffsets(pending: PendingOffsetCommit, appendErrorCode: number): PartitionErrorCode[] {
    const group = this.#store.group(pending.groupId);
    if (group && !group.is('Dead')) {
      for (const offset of pending.offsets) group.offsets.failPending(offset);
    }
    const errorCode = offsetCommitErrorFromAppendError(appendErrorCode);
    return pending.offsets.map(({ topic, partition }) => ({ topic, partition, errorCode }));
  }

  /**
   * Offsets are returned whatever the group's state: a group may use Kafka only to store offsets.
   * `partitions` null means every committed partition. With requireStable, a partition with a
   * commit still being written answers UNSTABLE_OFFSET_COMMIT (the client retries).
   */
  fetchOffsets(groupId: string, partitions: readonly TopicPartitionRef[] | null, requireStable = false): OffsetFetchResult {
    const group = this.#store.group(groupId);
    const nothingCommitted = ({ topic, partition }: TopicPartitionRef): FetchedOffset => ({
      topic,
      partition,
      offset: -1,
      leaderEpoch: -1,
      metadata: '',
      errorCode: ErrorCode.NONE,
    });
    if (!group || group.is('Dead')) return { errorCode: ErrorCode.NONE, partitions: (partitions ?? []).map(nothingCommitted) };

    const answer = (ref: TopicPartitionRef): FetchedOffset => {
      if (requireStable && group.offsets.hasPending(ref.topic, ref.partition)) {
        return { ...nothingCommitted(ref), errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
      }
      const committed = group.offsets.get(ref.topic, ref.partition);
      if (!committed) return nothingCommitted(ref);
      return { topic: ref.topic, partition: ref.partition, offset: committed.offset, leaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: ErrorCode.NONE };
    };
    return { errorCode: ErrorCode.NONE, partitions: (partitions ?? group.offsets.all()).map(answer) };
  }

  /** OffsetDelete: a consumer group that still reads a topic keeps that topic's offsets. */
  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[], nowMs: number): OffsetDeleteResult {
    const group = this.#store.group(groupId);
    if (!group || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
    let eligible: readonly TopicPartitionRef[];
    const results: PartitionErrorCode[] = [];
    if (group.is('Empty')) {
      eligible = partitions;
    } else if (group.isConsumerGroup()) {
      eligible = partitions.filter((ref) => !group.isSubscribedToTopic(ref.topic));
      for (const ref of partitions) {
        if (group.isSubscribedToTopic(ref.topic)) results.push({ ...pick(ref), errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
      }
    } else {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] };
    }
    if (eligible.length > 0) {
      this.#cleanupGroup(group, () => eligible.flatMap((ref) => group.offsets.remove(ref.topic, ref.partition) ?? []), nowMs);
      for (const ref of eligible) results.push({ ...pick(ref), errorCode: ErrorCode.NONE });
    }
    return { errorCode: ErrorCode.NONE, partitions: results };
  }

  /** DeleteGroups: only groups without members can go; their offsets go with them. */
  deleteGroups(groupIds: readonly string[], nowMs: number): DeleteGroupsResult[] {
    return groupIds.map((groupId) => {
      const group = this.#store.group(groupId);
      if (!group || group.is('Dead')) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (!group.is('Empty')) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      group.transitionTo('Dead', nowMs);
      this.#cleanupGroup(group, () => group.offsets.removeAll(), nowMs);
      return { groupId, errorCode: ErrorCode.NONE };
    });
  }

  /** The retention sweep over every group; returns how many offsets expired. */
  expireOffsets(nowMs: number): number {
    let removedCount = 0;
    for (const group of [...this.#store.groups.values()]) {
      removedCount += this.#cleanupGroup(group, () => removeExpiredOffsets(group, nowMs, this.#store.config.offsetsRetentionMs), nowMs);
    }
    return removedCount;
  }

  /**
   * Removes offsets (chosen by `select`), retires the group if that left it empty, and queues the
   * tombstones. Losing these writes is harmless: the next leader expires or deletes again.
   */
  #cleanupGroup(group: Group, select: () => CommittedOffset[], nowMs: number): number {
    const removed = select();
    if (group.is('Empty') && !group.offsets.hasOffsets()) group.transitionTo('Dead', nowMs);
    const records: OffsetsTopicRecord[] = removed.map((offset) => offsetTombstone(group.groupId, offset.topic, offset.partition));
    if (group.is('Dead')) {
      this.#store.deleteGroup(group);
      // A generation-0 group only ever stored offsets: it has no metadata record to delete.
      if (group.generationId > 0) records.push(groupTombstone(group.groupId));
    }
    if (records.length > 0) this.#store.enqueueWrite(group.groupId, records);
    return removed.length;
  }
}

function pick(ref: TopicPartitionRef): TopicPartitionRef {
  return { topic: ref.topic, partition: ref.partition };
}

/**
 * Kafka's rule: a request with no generation may commit for an Empty group (admin tools, manual
 * assignment); anything claiming membership must be a current member of the current generation;
 * a non-member may not commit for a group that has members.
 */
function validateOffsetCommit(group: Group, request: OffsetCommitRequest): number {
  if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (request.generationId < 0 && group.is('Empty')) return ErrorCode.NONE;
  if (request.generationId >= 0 || request.memberId !== unknownMemberId || request.groupInstanceId !== null) {
    const memberError = validateCurrentMember(group, request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    return request.generationId === group.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
  }
  return group.is('Empty') ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
}

/**
 * Kafka's GroupMetadata.removeExpiredOffsets. Which clock applies depends on the group:
 *   - Empty group with a protocol: retention counts from when the group became Empty;
 *   - Stable consumer group that knows its subscription: offsets of topics it no longer reads
 *     expire by commit time;
 *   - simple group (no protocol type): by commit time;
 * and an offset from an old record with an explicit expire timestamp expires at that time. An
 * offset with a commit in flight never expires.
 */
export function removeExpiredOffsets(group: Group, nowMs: number, retentionMs: number): CommittedOffset[] {
  const expireBy = (baseTimestampMs: (offset: CommittedOffset) => number, keepTopics: ReadonlySet<string> = new Set()) =>
    group.offsets.removeWhere((offset) => {
      if (keepTopics.has(offset.topic) || group.offsets.hasPending(offset.topic, offset.partition)) return false;
      if (offset.expireTimestampMs !== null) return nowMs >= offset.expireTimestampMs;
      return nowMs - baseTimestampMs(offset) >= retentionMs;
    });
  if (group.protocolType !== null && group.is('Empty')) {
    return expireBy((offset) => group.stateChangedAtMs ?? offset.commitTimestampMs);
  }
  if (group.isConsumerGroup() && group.subscribedTopics !== null && group.is('Stable')) {
    return expireBy((offset) => offset.commitTimestampMs, group.subscribedTopics);
  }
  if (group.protocolType === null) return expireBy((offset) => offset.commitTimestampMs);
  return [];
}
