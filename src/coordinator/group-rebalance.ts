// The steps of a rebalance and the timers that drive them, shared by the request paths in
// group-membership.ts: entering PreparingRebalance (with Kafka's initial delay for new groups),
// completing the join phase into a new generation, handing out (or failing) the assignment, and
// removing members. Timers are data here: each group and member carries deadlines, and expire()
// fires the due ones in deadline order (Kafka uses a purgatory of delayed operations instead).
import { ErrorCode } from './error-codes.ts';
import type { GroupStore } from './group-store.ts';
import type { JoinGroupResult } from './group-types.ts';
import { unknownMemberId } from './group-types.ts';
import { joinError, syncError } from './group.ts';
import type { Group } from './group.ts';
import type { Member } from './member.ts';
import { groupMetadataRecord } from './offsets-topic-format.ts';

export class Rebalancer {
  readonly #store: GroupStore;

  constructor(store: GroupStore) {
    this.#store = store;
  }

  maybePrepareRebalance(group: Group, reason: string, nowMs: number): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason, nowMs);
  }

  /** Also used when a freshly loaded group is over group.max.size. */
  prepareRebalance(group: Group, reason: string, nowMs: number): void {
    // Members waiting for this generation's assignment must rejoin instead.
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS, nowMs);
    group.pendingSyncMembers.clear();
    group.syncDeadlineMs = null;

    const initialDelayMs = this.#store.config.groupInitialRebalanceDelayMs;
    if (group.is('Empty')) {
      group.joinPhase = {
        kind: 'initial',
        deadlineMs: nowMs + initialDelayMs,
        delayMs: initialDelayMs,
        remainingMs: Math.max(group.rebalanceTimeoutMs() - initialDelayMs, 0),
      };
    } else {
      group.joinPhase = { kind: 'normal', deadlineMs: nowMs + group.rebalanceTimeoutMs() };
    }
    group.transitionTo('PreparingRebalance', nowMs);
    this.#store.logger.info('preparing to rebalance', { groupId: group.groupId, generationId: group.generationId, reason });
    this.maybeCompleteJoin(group, nowMs);
  }

  /** The join phase ends early once everyone has rejoined, except the initial delay, which always runs out. */
  maybeCompleteJoin(group: Group, nowMs: number): void {
    if (group.is('PreparingRebalance') && group.joinPhase?.kind === 'normal' && group.hasAllMembersJoined()) {
      this.#completeJoin(group, nowMs);
    }
  }

  #completeJoin(group: Group, nowMs: number): void {
    group.joinPhase = null;
    // Dynamic members that did not rejoin in time are gone; static ones keep their place (they
    // may be restarting) and must send SyncGroup before the sync deadline instead.
    for (const member of [...group.members.values()]) {
      if (!member.isAwaitingJoin && !member.isStatic) group.remove(member.memberId);
    }
    if (group.is('Dead')) return;
    if (!electJoinedLeader(group) && group.size > 0) {
      // Nobody rejoined; wait another rebalance timeout for sessions to expire the silent members.
      this.#store.logger.warn('no member rejoined; extending the join phase', { groupId: group.groupId });
      group.joinPhase = { kind: 'normal', deadlineMs: nowMs + group.rebalanceTimeoutMs() };
      return;
    }
    group.initNextGeneration(nowMs);
    if (group.is('Empty')) {
      this.#store.logger.info('group is empty', { groupId: group.groupId, generationId: group.generationId });
      // If this write is lost, the previous generation comes back on failover with no live
      // members and simply expires: harmless, so no continuation.
      this.#store.enqueueWrite(group.groupId, [groupMetadataRecord(group.groupId, group.toMetadataValue())]);
      return;
    }
    const leaderMembers = group.currentMemberMetadata();
    for (const member of group.members.values()) {
      const isLeader = group.isLeader(member.memberId);
      member.awaitingJoin?.settle({ ...joinResultFor(group, member, false), members: isLeader ? leaderMembers : [] });
      member.awaitingJoin = null;
      member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
    }
    group.syncDeadlineMs = nowMs + group.rebalanceTimeoutMs();
    this.#store.logger.info('join phase complete', { groupId: group.groupId, generationId: group.generationId, members: group.size, protocol: group.protocolName });
  }

  resetAndPropagateAssignmentError(group: Group, errorCode: number, nowMs: number): void {
    if (!group.is('CompletingRebalance')) throw new Error(`group ${group.groupId}: reset of assignment in ${group.state}`);
    for (const member of group.members.values()) member.assignment = Buffer.alloc(0);
    this.propagateAssignment(group, errorCode, nowMs);
  }

  propagateAssignment(group: Group, errorCode: number, nowMs: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const member of group.members.values()) {
      if (!member.awaitingSync) continue;
      member.awaitingSync.settle({
        errorCode,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: member.assignment,
      });
      member.awaitingSync = null;
      // The session clock restarts now: a member that waited on the leader (or the write) could
      // not heartbeat usefully meanwhile.
      member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
    }
  }

  removeMemberAndUpdateGroup(group: Group, member: Member, reason: string, nowMs: number): void {
    member.awaitingJoin?.settle(joinError(unknownMemberId, ErrorCode.UNKNOWN_MEMBER_ID));
    member.awaitingJoin = null;
    group.remove(member.memberId);
    this.#store.logger.info('member removed', { groupId: group.groupId, memberId: member.memberId, reason });
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, reason, nowMs);
        break;
      case 'PreparingRebalance':
        this.maybeCompleteJoin(group, nowMs);
        break;
      case 'Empty':
      case 'Dead':
        break;
    }
  }

  removePendingMemberAndUpdateGroup(group: Group, memberId: string, nowMs: number): void {
    group.remove(memberId);
    if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group, nowMs);
  }

  // ---- Timers ----------------------------------------------------------------------------------

  /** The earliest deadline of the group's timers, or null when none is armed. */
  nextDeadlineMs(group: Group): number | null {
    let earliest: number | null = null;
    const consider = (deadlineMs: number | null) => {
      if (deadlineMs !== null && (earliest === null || deadlineMs < earliest)) earliest = deadlineMs;
    };
    for (const member of group.members.values()) consider(member.sessionDeadlineMs);
    for (const deadlineMs of group.pendingMembers.values()) consider(deadlineMs);
    consider(group.joinPhase?.deadlineMs ?? null);
    consider(group.syncDeadlineMs);
    return earliest;
  }

  /**
   * Fires the group's timers that are due at nowMs, earliest first, re-checking each right before
   * it fires because an earlier one may have changed the group. Returns how many fired.
   */
  expire(group: Group, nowMs: number): number {
    const due: { deadlineMs: number; fire: () => void }[] = [];
    for (const member of group.members.values()) {
      const deadlineMs = member.sessionDeadlineMs;
      if (deadlineMs !== null && deadlineMs <= nowMs) due.push({ deadlineMs, fire: () => this.#onSessionDeadline(group, member, nowMs) });
    }
    for (const [memberId, deadlineMs] of group.pendingMembers) {
      if (deadlineMs <= nowMs) due.push({ deadlineMs, fire: () => this.#onPendingMemberDeadline(group, memberId, nowMs) });
    }
    const joinDeadlineMs = group.joinPhase?.deadlineMs;
    if (joinDeadlineMs !== undefined && joinDeadlineMs <= nowMs) due.push({ deadlineMs: joinDeadlineMs, fire: () => this.#onJoinDeadline(group, nowMs) });
    const syncDeadlineMs = group.syncDeadlineMs;
    if (syncDeadlineMs !== null && syncDeadlineMs <= nowMs) due.push({ deadlineMs: syncDeadlineMs, fire: () => this.#onSyncDeadline(group, nowMs) });
    due.sort((a, b) => a.deadlineMs - b.deadlineMs);
    for (const event of due) {
      if (this.#store.isCurrent(group)) event.fire();
    }
    return due.length;
  }

  #onSessionDeadline(group: Group, member: Member, nowMs: number): void {
    if (group.members.get(member.memberId) !== member || member.sessionDeadlineMs === null || member.sessionDeadlineMs > nowMs) return;
    if (member.hasSatisfiedHeartbeat()) {
      // Parked in a rebalance: the rebalance re-arms the clock when it answers the member.
      member.sessionDeadlineMs = null;
      return;
    }
    this.removeMemberAndUpdateGroup(group, member, member.isNew ? 'new member did not complete its join in time' : 'session expired', nowMs);
  }

  #onPendingMemberDeadline(group: Group, memberId: string, nowMs: number): void {
    const deadlineMs = group.pendingMembers.get(memberId);
    if (deadlineMs === undefined || deadlineMs > nowMs) return;
    this.removePendingMemberAndUpdateGroup(group, memberId, nowMs);
  }

  #onJoinDeadline(group: Group, nowMs: number): void {
    const phase = group.joinPhase;
    if (!phase || phase.deadlineMs > nowMs || !group.is('PreparingRebalance')) return;
    if (phase.kind === 'initial' && group.newMemberAdded && phase.remainingMs !== 0) {
      // Kafka's InitialDelayedJoin arithmetic, kept exactly (it subtracts the previous delay).
      group.newMemberAdded = false;
      const delayMs = Math.min(this.#store.config.groupInitialRebalanceDelayMs, phase.remainingMs);
      group.joinPhase = { kind: 'initial', deadlineMs: nowMs + delayMs, delayMs, remainingMs: Math.max(phase.remainingMs - phase.delayMs, 0) };
      return;
    }
    this.#completeJoin(group, nowMs);
  }

  #onSyncDeadline(group: Group, nowMs: number): void {
    if (group.syncDeadlineMs === null || group.syncDeadlineMs > nowMs) return;
    group.syncDeadlineMs = null;
    if (!(group.is('CompletingRebalance') || group.is('Stable')) || group.pendingSyncMembers.size === 0) return;
    const missing = [...group.pendingSyncMembers];
    for (const memberId of missing) group.remove(memberId);
    this.#store.logger.info('members did not sync in time', { groupId: group.groupId, missing });
    this.prepareRebalance(group, `removing ${missing.join(', ')} on sync deadline`, nowMs);
  }

  // ---- Unload ----------------------------------------------------------------------------------

  /** The partition moved away: every parked request is told NOT_COORDINATOR and the group is Dead. */
  unloadGroup(group: Group, nowMs: number): void {
    for (const member of group.members.values()) {
      member.awaitingJoin?.settle(joinError(member.memberId, ErrorCode.NOT_COORDINATOR));
      member.awaitingJoin = null;
      member.awaitingSync?.settle(syncError(ErrorCode.NOT_COORDINATOR));
      member.awaitingSync = null;
    }
    group.joinPhase = null;
    group.syncDeadlineMs = null;
    group.transitionTo('Dead', nowMs);
  }
}

/** A successful JoinGroup answer for the group's current generation. */
export function joinResultFor(group: Group, member: Member, includeMembers: boolean): JoinGroupResult {
  return {
    errorCode: ErrorCode.NONE,
    generationId: group.generationId,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    leader: group.leaderId ?? '',
    skipAssignment: false,
    memberId: member.memberId,
    members: includeMembers ? group.currentMemberMetadata() : [],
  };
}

/** Keeps the leader if it rejoined, else promotes the first member that did; false if none did. */
function electJoinedLeader(group: Group): boolean {
  if (group.leaderId === null) return false;
  if (group.get(group.leaderId).isAwaitingJoin) return true;
  for (const member of group.members.values()) {
    if (member.isAwaitingJoin) {
      group.leaderId = member.memberId;
      return true;
    }
  }
  return false;
}
