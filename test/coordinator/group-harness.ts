// Test driver for the group coordinator: fake time, a deterministic uuid source, and an in-memory
// __consumer_offsets log that every write is appended to before it is completed (the ordering a
// real driver must keep). Not a test file itself.
import assert from 'node:assert/strict';
import type { Completion } from '../../src/coordinator/completion.ts';
import { encodeSubscription } from '../../src/coordinator/consumer-protocol.ts';
import type { GroupCoordinatorConfig } from '../../src/coordinator/group-config.ts';
import { GroupCoordinator } from '../../src/coordinator/group-coordinator.ts';
import type {
  GroupProtocol,
  JoinGroupRequest,
  JoinGroupResult,
  OffsetToCommit,
  SyncGroupResult,
} from '../../src/coordinator/group-types.ts';
import { ErrorCode } from '../../src/coordinator/error-codes.ts';
import type { OffsetsTopicLogRecord } from '../../src/coordinator/offsets-topic-replay.ts';

export const sessionTimeoutMs = 10_000;
export const rebalanceTimeoutMs = 30_000;

export function consumerProtocols(names: string[], topics: string[] = ['orders']): GroupProtocol[] {
  return names.map((name) => ({ name, metadata: encodeSubscription({ version: 0, topics, userData: Buffer.from(name) }) }));
}

export class Harness {
  nowMs = 1_000_000;
  readonly log: OffsetsTopicLogRecord[] = [];
  readonly coordinator: GroupCoordinator;
  #uuidCounter = 0;
  /** Append error the next flushes report (0 = durable). */
  appendErrorCode = 0;

  constructor(config: Partial<GroupCoordinatorConfig> = {}) {
    this.coordinator = new GroupCoordinator({
      config: { groupInitialRebalanceDelayMs: 100, ...config },
      newUuid: () => `uuid${++this.#uuidCounter}`,
    });
  }

  /** Appends every pending write to the log (unless failing) and completes it. */
  flush(): void {
    for (let round = 0; round < 100; round++) {
      const writes = this.coordinator.takeWrites();
      if (writes.length === 0) return;
      for (const write of writes) {
        if (this.appendErrorCode === 0) {
          for (const record of write.records) this.log.push({ key: record.key, value: record.value, logOffset: this.log.length });
        }
        this.coordinator.completeWrite(write.writeId, this.appendErrorCode, this.nowMs);
      }
    }
    assert.fail('writes kept coming');
  }

  advance(ms: number): void {
    this.nowMs += ms;
    this.coordinator.tick(this.nowMs);
    this.flush();
  }

  joinRequest(groupId: string, overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
    return {
      groupId,
      memberId: '',
      groupInstanceId: null,
      clientId: 'client',
      clientHost: '/127.0.0.1',
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      protocolType: 'consumer',
      protocols: consumerProtocols(['range']),
      requireKnownMemberId: true,
      supportSkippingAssignment: true,
      reason: null,
      ...overrides,
    };
  }

  join(groupId: string, overrides: Partial<JoinGroupRequest> = {}): Completion<JoinGroupResult> {
    const completion = this.coordinator.joinGroup(this.joinRequest(groupId, overrides), this.nowMs);
    this.flush();
    return completion;
  }

  /** A dynamic member's two-step join (MEMBER_ID_REQUIRED, then again with the id); returns the parked second join. */
  joinNew(groupId: string, overrides: Partial<JoinGroupRequest> = {}): { memberId: string; join: Completion<JoinGroupResult> } {
    const first = this.join(groupId, overrides);
    assert.equal(first.value?.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const memberId = first.value!.memberId;
    assert.notEqual(memberId, '');
    return { memberId, join: this.join(groupId, { ...overrides, memberId }) };
  }

  sync(
    groupId: string,
    memberId: string,
    generationId: number,
    assignments: { memberId: string; assignment: Buffer }[] = [],
    groupInstanceId: string | null = null,
  ): Completion<SyncGroupResult> {
    const completion = this.coordinator.syncGroup(
      { groupId, generationId, memberId, groupInstanceId, protocolType: 'consumer', protocolName: null, assignments },
      this.nowMs,
    );
    this.flush();
    return completion;
  }

  heartbeat(groupId: string, memberId: string, generationId: number, groupInstanceId: string | null = null): number {
    return this.coordinator.heartbeat({ groupId, memberId, generationId, groupInstanceId }, this.nowMs).errorCode;
  }

  /** Commits and (unless failing) makes the commit durable, like a handler would. */
  commit(groupId: string, memberId: string, generationId: number, offsets: Partial<OffsetToCommit>[], groupInstanceId: string | null = null) {
    const outcome = this.coordinator.commitOffsets(
      {
        groupId,
        generationId,
        memberId,
        groupInstanceId,
        offsets: offsets.map((offset) => ({ topic: 'orders', partition: 0, offset: 0, leaderEpoch: -1, metadata: '', ...offset })),
      },
      this.nowMs,
    );
    if (outcome.pending) {
      const logOffset = this.log.length;
      for (const record of outcome.records) this.log.push({ key: record.key, value: record.value, logOffset: this.log.length });
      this.coordinator.applyCommittedOffsets(outcome.pending, logOffset);
    }
    this.flush();
    return outcome;
  }

  /**
   * Forms a stable group of dynamic members (in order; the first leads), each assigned a buffer
   * holding its own index. Returns the member ids and the generation.
   */
  formGroup(groupId: string, memberCount: number, overrides: Partial<JoinGroupRequest> = {}): { memberIds: string[]; generationId: number } {
    const joins = Array.from({ length: memberCount }, () => this.joinNew(groupId, overrides));
    this.settleJoinPhase(groupId);
    const results = joins.map(({ join }) => settled(join));
    const generationId = results[0]!.generationId;
    const memberIds = joins.map(({ memberId }) => memberId);
    this.syncAll(groupId, memberIds, generationId);
    return { memberIds, generationId };
  }

  /** Advances time until the group leaves PreparingRebalance (bounded). */
  settleJoinPhase(groupId: string): void {
    for (let step = 0; step < 1000; step++) {
      if (this.coordinator.exportGroup(groupId)?.state !== 'PreparingRebalance') return;
      this.advance(50);
    }
    assert.fail(`group ${groupId} never left PreparingRebalance`);
  }

  /** Followers sync first, then the leader (memberIds[0] must lead); each gets Buffer [index]. */
  syncAll(groupId: string, memberIds: string[], generationId: number): SyncGroupResult[] {
    const view = this.coordinator.exportGroup(groupId);
    assert.equal(view?.leaderId, memberIds[0]);
    const assignments = memberIds.map((memberId, index) => ({ memberId, assignment: Buffer.from([index]) }));
    const followerSyncs = memberIds.slice(1).map((memberId) => this.sync(groupId, memberId, generationId));
    const leaderSync = this.sync(groupId, memberIds[0]!, generationId, assignments);
    return [leaderSync, ...followerSyncs].map(settled);
  }
}

export function settled<T>(completion: Completion<T>): T {
  assert.ok(completion.settled, 'expected the request to be answered by now');
  return completion.value as T;
}
