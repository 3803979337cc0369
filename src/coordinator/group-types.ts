// Requests and results of the group coordinator, shaped after the Kafka APIs they serve so a
// handler maps fields one to one. Version differences (a field a version lacks, an error an old
// version cannot carry) stay in the handlers; these types hold the newest shape.
import type { OffsetsTopicRecord } from './offsets-topic-format.ts';

export type GroupStateName = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const groupStateNames: readonly GroupStateName[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

/** The member id a client sends before the coordinator has given it one. */
export const unknownMemberId = '';

/** Generation id of a group member that is not using group management (admin tools, assign()). */
export const noGeneration = -1;

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  /** unknownMemberId ('') on the first join. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  /** JoinGroup v0 has none: pass the session timeout, as Kafka does. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  /** JoinGroup v4+: a dynamic member without an id is first told MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a static leader rejoining a stable group may be told to skip assignment. */
  supportSkippingAssignment: boolean;
  reason: string | null;
}

export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  /** Filled only for the leader (the members it must assign). */
  members: JoinGroupMember[];
}

export interface SyncGroupAssignment {
  memberId: string;
  assignment: Buffer;
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5+ sends them; null when absent (older versions), which skips the check. */
  protocolType: string | null;
  protocolName: string | null;
  /** Only the leader sends assignments. */
  assignments: SyncGroupAssignment[];
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeavingMember {
  /** unknownMemberId with a groupInstanceId removes a static member administratively. */
  memberId: string;
  groupInstanceId: string | null;
  reason: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  /** LeaveGroup v0-2 carry one member id: pass it as a single entry. */
  members: LeavingMember[];
}

export interface LeaveGroupResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Empty unless the group is Stable (as in Kafka). */
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface DescribedGroup {
  groupId: string;
  /** GROUP_ID_NOT_FOUND for an unknown group: DescribeGroups v0-5 report it as NONE with state Dead. */
  errorCode: number;
  groupState: GroupStateName;
  protocolType: string;
  /** The selected protocol when Stable, else "". */
  protocolData: string;
  members: DescribedMember[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: GroupStateName;
  groupType: 'classic';
}

export interface ListGroupsFilter {
  /** Case-insensitive state names; empty or absent means all. */
  statesFilter?: readonly string[];
  /** Group types; empty or absent means all. Only 'classic' groups exist here. */
  typesFilter?: readonly string[];
}

export interface DeleteGroupsResult {
  groupId: string;
  errorCode: number;
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  /** -1 when the client sent none. */
  leaderEpoch: number;
  /** null is stored as "" (Kafka stores the empty string too). */
  metadata: string | null;
}

export interface OffsetCommitRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2-v4 retention_time_ms; -1 or absent = the broker's retention (what v5+ always use). */
  retentionTimeMs?: number;
  offsets: OffsetToCommit[];
}

export interface PartitionErrorCode {
  topic: string;
  partition: number;
  errorCode: number;
}

/** An accepted commit, waiting for its records to be appended to __consumer_offsets. */
export interface PendingOffsetCommit {
  readonly groupId: string;
  readonly offsets: readonly CommittedOffset[];
}

export interface OffsetCommitOutcome {
  /**
   * Per-partition answer. Partitions whose records are in `records` say NONE here; if the append
   * fails, answer them with failCommittedOffsets()'s codes instead.
   */
  partitions: PartitionErrorCode[];
  /** What to append to __consumer_offsets; empty means answer now, nothing to persist. */
  records: OffsetsTopicRecord[];
  /** Hand back to applyCommittedOffsets() / failCommittedOffsets() after the append; null when records is empty. */
  pending: PendingOffsetCommit | null;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /** Only from old (value v1) records; such an offset expires at this time instead of by retention. */
  expireTimestampMs: number | null;
}

export interface FetchedOffset {
  topic: string;
  partition: number;
  /** -1 when nothing is committed. */
  offset: number;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  partitions: FetchedOffset[];
}

export interface OffsetDeleteResult {
  /** When not NONE, partitions is empty. */
  errorCode: number;
  partitions: PartitionErrorCode[];
}

/**
 * Records the coordinator needs appended to its __consumer_offsets partition, in the order taken.
 * The driver appends them (replicated, acks=all) and then calls completeWrite(writeId, errorCode):
 * parked responses (e.g. SyncGroup waiting for the assignment to be durable) are released only
 * then.
 */
export interface GroupWrite {
  readonly writeId: number;
  readonly groupId: string;
  readonly records: readonly OffsetsTopicRecord[];
}
