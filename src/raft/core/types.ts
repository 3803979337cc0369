// The values that cross the boundary of the pure Raft core: log entries, persistent state,
// snapshots, messages and the Ready batch the driver must persist, send and apply.

/** Node ids are positive integers; 0 stands for "nobody" (no vote cast, no leader known). */
export type NodeId = number;
export const NO_NODE: NodeId = 0;

export interface Entry {
  readonly term: number;
  readonly index: number;
  /** Opaque to Raft. Empty data is the no-op a new leader appends to commit its predecessors' entries. */
  readonly data: Uint8Array;
}

/** What Raft must find again after a crash: losing any of it can elect two leaders in a term. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NO_NODE, commit: 0 };

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  /** The last entry the snapshot covers, and its term (needed for the log-matching check after it). */
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The application's state after applying every entry up to metadata.index; opaque to Raft. */
  readonly data: Uint8Array;
}

export const EMPTY_BYTES = new Uint8Array(0);

export function emptySnapshot(confState: ConfState = { voters: [], learners: [] }): Snapshot {
  return { metadata: { index: 0, term: 0, confState }, data: EMPTY_BYTES };
}

/**
 * Message kinds. The local ones (Hup, Beat, Propose, CheckQuorum, TransferLeader) are how the node's
 * own API feeds the role-specific step functions; they never travel and the codec refuses them.
 */
export const MessageType = {
  Hup: 0,
  Beat: 1,
  Propose: 2,
  Append: 3,
  AppendResponse: 4,
  Vote: 5,
  VoteResponse: 6,
  Snapshot: 7,
  Heartbeat: 8,
  HeartbeatResponse: 9,
  TransferLeader: 10,
  TimeoutNow: 11,
  CheckQuorum: 12,
  PreVote: 13,
  PreVoteResponse: 14,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const messageTypeNames: Record<MessageType, string> = {
  0: 'Hup', 1: 'Beat', 2: 'Propose', 3: 'Append', 4: 'AppendResponse', 5: 'Vote', 6: 'VoteResponse',
  7: 'Snapshot', 8: 'Heartbeat', 9: 'HeartbeatResponse', 10: 'TransferLeader', 11: 'TimeoutNow',
  12: 'CheckQuorum', 13: 'PreVote', 14: 'PreVoteResponse',
};

export function messageTypeName(type: MessageType): string {
  return messageTypeNames[type] ?? `Unknown(${type})`;
}

const networkTypes: ReadonlySet<number> = new Set<number>([
  MessageType.Append, MessageType.AppendResponse, MessageType.Vote, MessageType.VoteResponse,
  MessageType.Snapshot, MessageType.Heartbeat, MessageType.HeartbeatResponse, MessageType.TimeoutNow,
  MessageType.PreVote, MessageType.PreVoteResponse,
]);

/** Whether a message of this type may arrive from another node. */
export function isNetworkMessageType(type: number): type is MessageType {
  return networkTypes.has(type);
}

export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term; 0 only on local messages. */
  readonly term: number;
  /**
   * Append: term of the entry at `index` (the one before `entries`). Vote/PreVote: term of the
   * candidate's last entry. Rejected AppendResponse: term of the entry at `rejectHint`.
   */
  readonly logTerm: number;
  /**
   * Append: index of the entry before `entries`. Vote/PreVote: the candidate's last index.
   * AppendResponse: the last index now matching the leader (or the rejected index).
   */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** Rejected AppendResponse: the follower's guess of where the logs may match. */
  readonly rejectHint: number;
  readonly snapshot?: Snapshot;
  /** Set on Vote/PreVote sent for a leadership transfer, so voters ignore their leader lease. */
  readonly transfer: boolean;
}

export function makeMessage(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: NO_NODE, to: NO_NODE, term: 0, logTerm: 0, index: 0, entries: [], commit: 0,
    reject: false, rejectHint: 0, transfer: false, ...fields,
  };
}

export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state the application may want to observe; never persisted. */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: RaftRole;
}

/**
 * One batch of work for the driver. Handle it in this order, then call advance(ready):
 * 1. save `snapshot`, `entries` and `hardState` to stable storage and fsync;
 * 2. send `messages`;
 * 3. install `snapshot` in the state machine, then apply `committedEntries` in order.
 */
export interface Ready {
  /** Leader and role, present only when either changed since the previous Ready. */
  readonly softState?: SoftState;
  /**
   * Term, vote and commit to save to stable storage BEFORE `messages` are sent; present only when
   * changed. A vote that reaches a candidate before it is on disk can be forgotten by a crash and
   * cast again for another candidate: two leaders in one term.
   */
  readonly hardState?: HardState;
  /**
   * Entries to save to stable storage BEFORE `messages` are sent. Saving an entry at index i
   * discards any stored entries from i on (they were never committed). An acknowledgement sent
   * before the entries are durable can count toward a commit that a crash then un-does.
   */
  readonly entries: readonly Entry[];
  /** Snapshot to save to stable storage (replacing the log before it) BEFORE `messages` are sent. */
  readonly snapshot?: Snapshot;
  /** Committed entries to apply, in order, AFTER `entries` and `hardState` are durable. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send AFTER `entries`, `hardState` and `snapshot` are durable (fsynced). */
  readonly messages: readonly Message[];
  /** Whether step 1 must fsync (entries or term/vote changed); a commit-only change may be lazy. */
  readonly mustSync: boolean;
}
