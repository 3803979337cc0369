// One classic consumer group (Kafka's GroupMetadata): membership, the generation, the selected
// protocol, the rebalance timers as data, and the group's committed offsets. The rules that move a
// group between states live in group-coordinator.ts; this file keeps the invariants:
//   - a static member's instance id maps to exactly one member id (staticMembers);
//   - the leader, when set, is a member;
//   - protocolType is fixed by the first member and every member supports some protocol that all
//     members support (checked before a member is added);
//   - state changes only along Kafka's allowed transitions (transitionTo asserts it).
import { decodeSubscriptionTopics } from './consumer-protocol.ts';
import { ErrorCode } from './error-codes.ts';
import { GroupOffsets } from './group-offsets.ts';
import type {
  DescribedGroup,
  GroupStateName,
  JoinGroupMember,
  JoinGroupResult,
  ListedGroup,
  SyncGroupResult,
} from './group-types.ts';
import { unknownMemberId } from './group-types.ts';
import type { Member } from './member.ts';
import type { GroupMetadataValue } from './offsets-topic-format.ts';

const consumerProtocolType = 'consumer';
const emptyBuffer = Buffer.alloc(0);

const validPreviousStates: Record<GroupStateName, readonly GroupStateName[]> = {
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
  Empty: ['PreparingRebalance'],
};

/**
 * The join phase of a rebalance. A normal phase ends when every member has rejoined or at the
 * deadline; an initial phase (group was Empty) always waits its delay, and is extended while new
 * members keep arriving, up to the rebalance timeout (Kafka's InitialDelayedJoin).
 */
export type JoinPhase =
  | { kind: 'normal'; deadlineMs: number }
  | { kind: 'initial'; deadlineMs: number; delayMs: number; remainingMs: number };

export class Group {
  readonly groupId: string;
  state: GroupStateName = 'Empty';
  stateChangedAtMs: number | null;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  /** In join order: the first member becomes leader, and a new leader is the oldest rejoined member. */
  readonly members = new Map<string, Member>();
  /** group.instance.id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** Ids handed out with MEMBER_ID_REQUIRED, awaiting the member's second JoinGroup; value = expiry deadline. */
  readonly pendingMembers = new Map<string, number>();
  /** Members of the new generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** Topics the consumer members subscribe to; null when unknown (not a consumer group, or unparsable). */
  subscribedTopics: ReadonlySet<string> | null = null;
  /** A member joined during the initial delay of generation 0, so the delay may be extended. */
  newMemberAdded = false;
  joinPhase: JoinPhase | null = null;
  syncDeadlineMs: number | null = null;
  readonly offsets = new GroupOffsets();

  constructor(groupId: string, nowMs: number | null) {
    this.groupId = groupId;
    this.stateChangedAtMs = nowMs;
  }

  is(state: GroupStateName): boolean {
    return this.state === state;
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): Member {
    const member = this.members.get(memberId);
    if (!member) throw new Error(`group ${this.groupId} has no member ${memberId}`);
    return member;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  isConsumerGroup(): boolean {
    return this.protocolType === consumerProtocolType;
  }

  canRebalance(): boolean {
    return validPreviousStates.PreparingRebalance.includes(this.state);
  }

  transitionTo(target: GroupStateName, nowMs: number): void {
    if (!validPreviousStates[target].includes(this.state)) {
      throw new Error(`group ${this.groupId}: invalid transition ${this.state} -> ${target}`);
    }
    this.state = target;
    this.stateChangedAtMs = nowMs;
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  numAwaitingJoin(): number {
    let count = 0;
    for (const member of this.members.values()) if (member.isAwaitingJoin) count++;
    return count;
  }

  hasAllMembersJoined(): boolean {
    return this.numAwaitingJoin() === this.members.size && this.pendingMembers.size === 0;
  }

  /** The largest rebalance timeout of the members: how long a rebalance may wait for all of them. */
  rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const member of this.members.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    return timeoutMs;
  }

  add(member: Member): void {
    if (member.groupInstanceId !== null) {
      if (this.staticMembers.has(member.groupInstanceId)) {
        throw new Error(`group ${this.groupId}: static member ${member.groupInstanceId} is already a member`);
      }
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.protocolType !== member.protocolType || !this.supportsProtocols(member.protocolType, member.protocolNames())) {
      throw new Error(`group ${this.groupId}: member ${member.memberId} does not fit the group's protocols`);
    }
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.pendingMembers.delete(member.memberId);
  }

  /**
   * Removes a member. Parked requests the caller did not answer first are answered
   * UNKNOWN_MEMBER_ID so no handler waits forever for a member that is gone.
   */
  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
      member.awaitingJoin?.settle(joinError(unknownMemberId, ErrorCode.UNKNOWN_MEMBER_ID));
      member.awaitingJoin = null;
      member.awaitingSync?.settle(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      member.awaitingSync = null;
      member.sessionDeadlineMs = null;
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    this.pendingMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
  }

  /**
   * A static member came back with a new member id: it keeps its place (and assignment) under the
   * new id. Whoever still waits under the old id is a zombie and is fenced.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.get(oldMemberId);
    this.members.delete(oldMemberId);
    member.awaitingJoin?.settle(joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    member.awaitingJoin = null;
    member.awaitingSync?.settle(syncError(ErrorCode.FENCED_INSTANCE_ID));
    member.awaitingSync = null;
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    // Kafka leaves the old id in the pending-sync set, where it can never be cleared; carry it over.
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  /** Protocols supported by every member. */
  candidateProtocols(): Set<string> {
    const counts = new Map<string, number>();
    for (const member of this.members.values()) {
      for (const name of member.protocolNames()) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const candidates = new Set<string>();
    for (const [name, count] of counts) if (count === this.members.size) candidates.add(name);
    return candidates;
  }

  /**
   * Each member votes for its most preferred candidate; most votes wins. Kafka breaks ties by hash
   * order; Tide picks the tied protocol that got its first vote earliest (join order), so the
   * outcome is reproducible.
   */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`group ${this.groupId}: cannot select a protocol with no members`);
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let winner = '';
    let winnerVotes = -1;
    for (const [name, count] of votes) {
      if (count > winnerVotes) {
        winner = name;
        winnerVotes = count;
      }
    }
    return winner;
  }

  /** Whether a member with these protocols could join: same type, and one protocol all members support. */
  supportsProtocols(memberProtocolType: string, memberProtocols: ReadonlySet<string>): boolean {
    if (this.is('Empty')) return memberProtocolType.length > 0 && memberProtocols.size > 0;
    if (this.protocolType !== memberProtocolType) return false;
    // With no members left (all gone mid-rebalance) every protocol is trivially common, as in Kafka.
    if (this.members.size === 0) return memberProtocols.size > 0;
    const candidates = this.candidateProtocols();
    for (const name of memberProtocols) if (candidates.has(name)) return true;
    return false;
  }

  /** Ends the join phase: a new generation, CompletingRebalance with members, Empty without. */
  initNextGeneration(nowMs: number): void {
    this.generationId += 1;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', nowMs);
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty', nowMs);
    }
    this.pendingSyncMembers.clear();
  }

  /**
   * Kafka parses each member's subscription with the version-0 prefix (version + topics) so any
   * future version still yields topics; a blob that does not parse makes the set unknown, which
   * callers treat as "subscribed to everything".
   */
  computeSubscribedTopics(): ReadonlySet<string> | null {
    if (!this.isConsumerGroup()) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const member of this.members.values()) {
        for (const topic of decodeSubscriptionTopics(member.metadata(this.protocolName))) topics.add(topic);
      }
    } catch {
      return null;
    }
    return topics;
  }

  /** Kafka returns true when the subscription is unknown, to be safe. */
  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  /** The member list the leader receives in its JoinGroup response. */
  currentMemberMetadata(): JoinGroupMember[] {
    if (this.is('Dead') || this.is('PreparingRebalance') || this.protocolName === null) {
      throw new Error(`group ${this.groupId}: no member metadata in state ${this.state}`);
    }
    const protocolName = this.protocolName;
    return [...this.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.metadata(protocolName),
    }));
  }

  describe(): DescribedGroup {
    const stable = this.is('Stable') && this.protocolName !== null;
    const protocolName = this.protocolName ?? '';
    return {
      groupId: this.groupId,
      errorCode: ErrorCode.NONE,
      groupState: this.state,
      protocolType: this.protocolType ?? '',
      protocolData: stable ? protocolName : '',
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        memberMetadata: stable ? member.metadata(protocolName) : emptyBuffer,
        memberAssignment: stable ? member.assignment : emptyBuffer,
      })),
    };
  }

  overview(): ListedGroup {
    return { groupId: this.groupId, protocolType: this.protocolType ?? '', groupState: this.state, groupType: 'classic' };
  }

  /** The group as a __consumer_offsets value; `assignment` overrides the members' current ones (SyncGroup stores before applying). */
  toMetadataValue(assignment?: ReadonlyMap<string, Buffer>): GroupMetadataValue {
    const protocolName = this.protocolName;
    return {
      protocolType: this.protocolType ?? '',
      generationId: this.generationId,
      protocolName,
      leaderId: this.leaderId,
      currentStateTimestampMs: this.stateChangedAtMs,
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        sessionTimeoutMs: member.sessionTimeoutMs,
        subscription: protocolName === null ? emptyBuffer : member.metadata(protocolName),
        assignment: assignment ? (assignment.get(member.memberId) ?? emptyBuffer) : member.assignment,
      })),
    };
  }
}

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: emptyBuffer };
}
