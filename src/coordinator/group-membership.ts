// The requests of the classic group protocol: JoinGroup, SyncGroup, Heartbeat and LeaveGroup,
// which move a group through Empty -> PreparingRebalance -> CompletingRebalance -> Stable together
// with the timers in group-rebalance.ts. They follow Kafka's GroupCoordinator (3.x) rule for rule,
// including the order in which errors are checked; where Tide differs a comment says so.
import { Completion } from './completion.ts';
import { ErrorCode, groupWriteErrorFromAppendError } from './error-codes.ts';
import type { GroupStore } from './group-store.ts';
import type {
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupRequest,
  LeaveGroupResult,
  SyncGroupRequest,
  SyncGroupResult,
} from './group-types.ts';
import { unknownMemberId } from './group-types.ts';
import { joinResultFor } from './group-rebalance.ts';
import type { Rebalancer } from './group-rebalance.ts';
import { joinError, syncError } from './group.ts';
import type { Group } from './group.ts';
import { Member } from './member.ts';
import { groupMetadataRecord } from './offsets-topic-format.ts';

export class GroupMembership {
  readonly #store: GroupStore;
  readonly #rebalancer: Rebalancer;
  readonly #newUuid: () => string;

  constructor(store: GroupStore, rebalancer: Rebalancer, newUuid: () => string) {
    this.#store = store;
    this.#rebalancer = rebalancer;
    this.#newUuid = newUuid;
  }

  // ---- JoinGroup -------------------------------------------------------------------------------

  joinGroup(request: JoinGroupRequest, nowMs: number): Completion<JoinGroupResult> {
    const completion = new Completion<JoinGroupResult>();
    const config = this.#store.config;
    if (request.groupId === '') {
      completion.settle(joinError(request.memberId, ErrorCode.INVALID_GROUP_ID));
      return completion;
    }
    if (request.sessionTimeoutMs < config.groupMinSessionTimeoutMs || request.sessionTimeoutMs > config.groupMaxSessionTimeoutMs) {
      completion.settle(joinError(request.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
      return completion;
    }
    const isUnknownMember = request.memberId === unknownMemberId;
    let group = this.#store.group(request.groupId);
    let created = false;
    if (!group) {
      // A known member id for a group that does not exist is stale: make the client start over.
      if (!isUnknownMember) {
        completion.settle(joinError(request.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return completion;
      }
      group = this.#store.createGroup(request.groupId, nowMs);
      created = true;
    }

    if (!this.#acceptJoiningMember(group, request.memberId)) {
      group.remove(request.memberId);
      completion.settle(joinError(unknownMemberId, ErrorCode.GROUP_MAX_SIZE_REACHED));
    } else if (isUnknownMember) {
      this.#joinNewMember(group, request, completion, nowMs);
    } else {
      this.#joinCurrentMember(group, request, completion, nowMs);
    }

    if (group.is('PreparingRebalance')) this.#rebalancer.maybeCompleteJoin(group, nowMs);
    // Tide does not keep a group that a refused first join would otherwise leave behind empty.
    if (created && group.is('Empty') && group.size === 0 && group.pendingMembers.size === 0 && !group.offsets.hasOffsets()) {
      this.#store.deleteGroup(group);
    }
    return completion;
  }

  /**
   * Room for the member under group.max.size. While preparing a rebalance only members that have
   * rejoined count (the group may be over the limit after the limit was lowered), so the last
   * ones to rejoin are the ones turned away.
   */
  #acceptJoiningMember(group: Group, memberId: string): boolean {
    const maxSize = this.#store.config.groupMaxSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (group.has(memberId) && group.get(memberId).isAwaitingJoin) || group.numAwaitingJoin() < maxSize;
      case 'CompletingRebalance':
      case 'Stable':
        return group.has(memberId) || group.size < maxSize;
    }
  }

  #joinNewMember(group: Group, request: JoinGroupRequest, completion: Completion<JoinGroupResult>, nowMs: number): void {
    if (group.is('Dead')) {
      completion.settle(joinError(unknownMemberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!group.supportsProtocols(request.protocolType, protocolNames(request))) {
      completion.settle(joinError(unknownMemberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const newMemberId = `${request.groupInstanceId ?? request.clientId}-${this.#newUuid()}`;
    if (request.groupInstanceId !== null) {
      const oldMemberId = group.staticMemberId(request.groupInstanceId);
      if (oldMemberId !== undefined) {
        this.#updateStaticMemberAndRebalance(group, request.groupInstanceId, oldMemberId, newMemberId, request, completion, nowMs);
      } else {
        this.#addMemberAndRebalance(group, newMemberId, request, completion, nowMs);
      }
      return;
    }
    if (request.requireKnownMemberId) {
      // The member gets its id now and must come back with it; until then it only holds a place
      // (and holds up a rebalance) for one session timeout.
      group.pendingMembers.set(newMemberId, nowMs + request.sessionTimeoutMs);
      completion.settle(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
      return;
    }
    this.#addMemberAndRebalance(group, newMemberId, request, completion, nowMs);
  }

  #joinCurrentMember(group: Group, request: JoinGroupRequest, completion: Completion<JoinGroupResult>, nowMs: number): void {
    const memberId = request.memberId;
    if (group.is('Dead')) {
      completion.settle(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!group.supportsProtocols(request.protocolType, protocolNames(request))) {
      completion.settle(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    if (group.pendingMembers.has(memberId)) {
      // Pending ids are only handed to dynamic members. Kafka asserts this; here it is client
      // input, so a mismatch is refused instead of crashing the coordinator.
      if (request.groupInstanceId !== null) {
        completion.settle(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      }
      this.#addMemberAndRebalance(group, memberId, request, completion, nowMs);
      return;
    }
    const memberError = validateCurrentMember(group, memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) {
      completion.settle(joinError(memberId, memberError));
      return;
    }
    const member = group.get(memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        this.#updateMemberAndRebalance(group, member, request, completion, nowMs);
        return;
      case 'CompletingRebalance':
        if (member.matches(request.protocols)) {
          // The member lost our JoinGroup answer and asks again unchanged: repeat it.
          completion.settle(joinResultFor(group, member, group.isLeader(memberId)));
        } else {
          this.#updateMemberAndRebalance(group, member, request, completion, nowMs);
        }
        return;
      case 'Stable':
        // A leader's JoinGroup forces a rebalance: it is how a leader reacts to metadata changes
        // that do not change its own subscription (new partitions of a subscribed topic).
        if (group.isLeader(memberId) || !member.matches(request.protocols)) {
          this.#updateMemberAndRebalance(group, member, request, completion, nowMs);
        } else {
          completion.settle(joinResultFor(group, member, false));
        }
        return;
      case 'Empty':
      case 'Dead':
        completion.settle(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }


  #addMemberAndRebalance(group: Group, memberId: string, request: JoinGroupRequest, completion: Completion<JoinGroupResult>, nowMs: number): void {
    const member = new Member({
      memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: request.clientId,
      clientHost: request.clientHost,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      sessionTimeoutMs: request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols,
    });
    member.isNew = true;
    // Only the very first rebalance of a group stretches its initial delay for late arrivals.
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member);
    member.awaitingJoin = completion;
    // A new member's JoinGroup is parked with its socket muted: it cannot heartbeat or notice a
    // disconnect, so a separate, longer clock removes abandoned joins.
    member.sessionDeadlineMs = nowMs + this.#store.config.newMemberJoinTimeoutMs;
    this.#rebalancer.maybePrepareRebalance(group, `adding member ${memberId}; client reason: ${request.reason ?? 'not provided'}`, nowMs);
  }

  #updateMemberAndRebalance(group: Group, member: Member, request: JoinGroupRequest, completion: Completion<JoinGroupResult>, nowMs: number): void {
    updateMember(member, request.protocols, request.rebalanceTimeoutMs, request.sessionTimeoutMs, completion);
    this.#rebalancer.maybePrepareRebalance(group, `member ${member.memberId} rejoining in ${group.state}; client reason: ${request.reason ?? 'not provided'}`, nowMs);
  }

  /**
   * A static member restarted (new member id, same instance id). If nothing that decides the
   * assignment changed, a stable group keeps its generation: the member takes over the old id's
   * place and assignment once the new id is durable. Otherwise the group rebalances.
   */
  #updateStaticMemberAndRebalance(
    group: Group,
    groupInstanceId: string,
    oldMemberId: string,
    newMemberId: string,
    request: JoinGroupRequest,
    completion: Completion<JoinGroupResult>,
    nowMs: number,
  ): void {
    const previousLeader = group.leaderId;
    const member = group.replaceStaticMember(groupInstanceId, oldMemberId, newMemberId);
    member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
    const previous = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    updateMember(member, request.protocols, request.rebalanceTimeoutMs, request.sessionTimeoutMs, completion);

    switch (group.state) {
      case 'Stable': {
        if (group.protocolName !== group.selectProtocol()) {
          this.#rebalancer.maybePrepareRebalance(group, `static member ${groupInstanceId} rejoined with a protocol change`, nowMs);
          return;
        }
        const record = groupMetadataRecord(group.groupId, group.toMetadataValue());
        this.#store.enqueueWrite(group.groupId, [record], (appendErrorCode, completedAtMs) => {
          // Act only if the rejoin is still what the group is waiting on; if a rebalance started
          // meanwhile, the parked JoinGroup is answered by that rebalance instead.
          const stillWaiting = this.#store.isCurrent(group) && group.is('Stable') && member.awaitingJoin === completion;
          if (!stillWaiting) return;
          const errorCode = groupWriteErrorFromAppendError(appendErrorCode);
          if (errorCode !== ErrorCode.NONE) {
            member.awaitingJoin = null;
            updateMember(member, previous.protocols, previous.rebalanceTimeoutMs, previous.sessionTimeoutMs, null);
            group.replaceStaticMember(groupInstanceId, newMemberId, oldMemberId);
            member.sessionDeadlineMs = completedAtMs + member.sessionTimeoutMs;
            completion.settle({ ...joinError(unknownMemberId, errorCode), generationId: group.generationId, protocolType: group.protocolType, protocolName: group.protocolName, leader: previousLeader ?? '' });
            return;
          }
          member.awaitingJoin = null;
          if (request.supportSkippingAssignment) {
            // JoinGroup v9+: tell a static leader it leads, but must not reassign a stable group.
            const isLeader = group.isLeader(newMemberId);
            completion.settle({ ...joinResultFor(group, member, isLeader), skipAssignment: isLeader });
          } else {
            // Older clients: report the previous leader id, so a returning leader does not believe
            // it leads and compute an assignment a stable group would ignore.
            completion.settle({ ...joinResultFor(group, member, false), leader: previousLeader ?? '' });
          }
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning under the old id; start over so nobody is left out.
        this.#rebalancer.prepareRebalance(group, `static member ${groupInstanceId} rejoined while awaiting sync`, nowMs);
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        throw new Error(`group ${group.groupId}: static member ${groupInstanceId} found in state ${group.state}`);
    }
  }

  // ---- SyncGroup -------------------------------------------------------------------------------

  syncGroup(request: SyncGroupRequest, nowMs: number): Completion<SyncGroupResult> {
    const completion = new Completion<SyncGroupResult>();
    if (request.groupId === '') {
      completion.settle(syncError(ErrorCode.INVALID_GROUP_ID));
      return completion;
    }
    const group = this.#store.group(request.groupId);
    if (!group) {
      completion.settle(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      return completion;
    }
    const validationError = validateSync(group, request);
    if (validationError !== ErrorCode.NONE) {
      completion.settle(syncError(validationError));
      return completion;
    }
    switch (group.state) {
      case 'Empty':
        completion.settle(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        break;
      case 'PreparingRebalance':
        completion.settle(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        break;
      case 'CompletingRebalance':
        this.#syncWhileCompleting(group, request, completion);
        break;
      case 'Stable': {
        removePendingSyncMember(group, request.memberId);
        const member = group.get(request.memberId);
        completion.settle({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
        member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
        break;
      }
      case 'Dead':
        throw new Error(`group ${group.groupId}: SyncGroup reached a Dead group after validation`);
    }
    return completion;
  }

  #syncWhileCompleting(group: Group, request: SyncGroupRequest, completion: Completion<SyncGroupResult>): void {
    const member = group.get(request.memberId);
    // A second SyncGroup supersedes the first (the client gave up on it).
    member.awaitingSync?.settle(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    member.awaitingSync = completion;
    removePendingSyncMember(group, request.memberId);
    if (!group.isLeader(request.memberId)) return;

    // Members the leader left out get an empty assignment rather than none.
    const assignment = new Map<string, Buffer>();
    for (const entry of request.assignments) assignment.set(entry.memberId, entry.assignment);
    const missing = [...group.members.keys()].filter((memberId) => !assignment.has(memberId));
    for (const memberId of missing) assignment.set(memberId, Buffer.alloc(0));
    if (missing.length > 0) {
      this.#store.logger.warn('leader left members without an assignment', { groupId: group.groupId, generationId: group.generationId, missing });
    }

    const generationId = group.generationId;
    const record = groupMetadataRecord(group.groupId, group.toMetadataValue(assignment));
    this.#store.enqueueWrite(group.groupId, [record], (appendErrorCode, completedAtMs) => {
      // A member may have joined while the assignment was being written: then this generation
      // is already over and its answers were sent (REBALANCE_IN_PROGRESS) by prepareRebalance.
      if (!this.#store.isCurrent(group) || !group.is('CompletingRebalance') || group.generationId !== generationId) return;
      const errorCode = groupWriteErrorFromAppendError(appendErrorCode);
      if (errorCode !== ErrorCode.NONE) {
        this.#rebalancer.resetAndPropagateAssignmentError(group, errorCode, completedAtMs);
        this.#rebalancer.maybePrepareRebalance(group, `error ${errorCode} storing the assignment of generation ${generationId}`, completedAtMs);
        return;
      }
      for (const groupMember of group.members.values()) groupMember.assignment = assignment.get(groupMember.memberId) ?? Buffer.alloc(0);
      this.#rebalancer.propagateAssignment(group, ErrorCode.NONE, completedAtMs);
      group.transitionTo('Stable', completedAtMs);
      this.#store.logger.info('group stable', { groupId: group.groupId, generationId, members: group.size });
    });
  }

  // ---- Heartbeat and LeaveGroup ----------------------------------------------------------------

  heartbeat(request: HeartbeatRequest, nowMs: number): { errorCode: number } {
    if (request.groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID };
    const group = this.#store.group(request.groupId);
    if (!group) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const memberError = validateCurrentMember(group, request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return { errorCode: memberError };
    if (request.generationId !== group.generationId) return { errorCode: ErrorCode.ILLEGAL_GENERATION };
    if (group.is('Empty')) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    const member = group.get(request.memberId);
    member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
    // Heartbeats are how members learn of a rebalance (consumers heartbeat right after their JoinGroup,
    // so CompletingRebalance answers NONE).
    return { errorCode: group.is('PreparingRebalance') ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE };
  }

  leaveGroup(request: LeaveGroupRequest, nowMs: number): LeaveGroupResult {
    if (request.groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.#store.group(request.groupId);
    const answer = (memberId: string, groupInstanceId: string | null, errorCode: number) => ({ memberId, groupInstanceId, errorCode });
    if (!group) {
      return { errorCode: ErrorCode.NONE, members: request.members.map((leaving) => answer(leaving.memberId, leaving.groupInstanceId, ErrorCode.UNKNOWN_MEMBER_ID)) };
    }
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };

    const members = request.members.map((leaving) => {
      const reason = `member left; client reason: ${leaving.reason ?? 'not provided'}`;
      if (leaving.memberId === unknownMemberId) {
        // Administrative removal of a static member by instance id (kafka-consumer-groups --delete... / AdminClient).
        const currentMemberId = leaving.groupInstanceId === null ? undefined : group.staticMemberId(leaving.groupInstanceId);
        if (currentMemberId === undefined) return answer(leaving.memberId, leaving.groupInstanceId, ErrorCode.UNKNOWN_MEMBER_ID);
        this.#rebalancer.removeMemberAndUpdateGroup(group, group.get(currentMemberId), reason, nowMs);
        return answer(leaving.memberId, leaving.groupInstanceId, ErrorCode.NONE);
      }
      if (group.pendingMembers.has(leaving.memberId)) {
        this.#rebalancer.removePendingMemberAndUpdateGroup(group, leaving.memberId, nowMs);
        return answer(leaving.memberId, leaving.groupInstanceId, ErrorCode.NONE);
      }
      const memberError = validateCurrentMember(group, leaving.memberId, leaving.groupInstanceId);
      if (memberError === ErrorCode.NONE) this.#rebalancer.removeMemberAndUpdateGroup(group, group.get(leaving.memberId), reason, nowMs);
      return answer(leaving.memberId, leaving.groupInstanceId, memberError);
    });
    return { errorCode: ErrorCode.NONE, members };
  }
}

function protocolNames(request: JoinGroupRequest): Set<string> {
  return new Set(request.protocols.map((protocol) => protocol.name));
}

/**
 * A request names a member that exists, and, if it carries an instance id, the member currently
 * registered under that id (an older instance of a static member is FENCED_INSTANCE_ID).
 */
export function validateCurrentMember(group: Group, memberId: string, groupInstanceId: string | null): number {
  if (groupInstanceId !== null) {
    const currentMemberId = group.staticMemberId(groupInstanceId);
    if (currentMemberId === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (currentMemberId !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
  }
  return group.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
}

function validateSync(group: Group, request: SyncGroupRequest): number {
  if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const memberError = validateCurrentMember(group, request.memberId, request.groupInstanceId);
  if (memberError !== ErrorCode.NONE) return memberError;
  if (request.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
  if (request.protocolType !== null && request.protocolType !== group.protocolType) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  if (request.protocolName !== null && request.protocolName !== group.protocolName) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  return ErrorCode.NONE;
}

function updateMember(
  member: Member,
  protocols: Member['protocols'],
  rebalanceTimeoutMs: number,
  sessionTimeoutMs: number,
  completion: Completion<JoinGroupResult> | null,
): void {
  member.protocols = protocols;
  member.rebalanceTimeoutMs = rebalanceTimeoutMs;
  member.sessionTimeoutMs = sessionTimeoutMs;
  // Kafka silently drops a superseded JoinGroup; answering it lets its handler finish. The client
  // has already moved on to the newer request, so the code only needs to be harmless.
  if (member.awaitingJoin !== null && member.awaitingJoin !== completion) {
    member.awaitingJoin.settle(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
  }
  member.awaitingJoin = completion;
}

function removePendingSyncMember(group: Group, memberId: string): void {
  group.pendingSyncMembers.delete(memberId);
  if (group.pendingSyncMembers.size === 0) group.syncDeadlineMs = null;
}
