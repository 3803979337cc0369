// Classic consumer-group membership for `tide consume --group`: JoinGroup with the "consumer"
// protocol (range and roundrobin offered), the leader computes the assignment, SyncGroup hands it
// out, Heartbeat runs on a timer and flags a rebalance, LeaveGroup on exit.
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../coordinator/consumer-protocol.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { heartbeatCodec } from '../../protocol/messages/heartbeat.ts';
import { joinGroupCodec, type JoinGroupResponse } from '../../protocol/messages/join-group.ts';
import { leaveGroupCodec } from '../../protocol/messages/leave-group.ts';
import { syncGroupCodec } from '../../protocol/messages/sync-group.ts';
import { assign, type AssignorName } from './assignors.ts';
import type { BrokerConnection } from './connection.ts';
import { findCoordinator } from './group-coordinator-client.ts';
import { KafkaRequestError, transientErrorCodes } from './kafka-errors.ts';
import { sleep, type TideClient } from './tide-client.ts';

const PROTOCOL_TYPE = 'consumer';
/** Join attempts before giving up (each rebalance round or coordinator move costs one). */
const MAX_JOIN_ATTEMPTS = 10;
const REJOIN_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.MEMBER_ID_REQUIRED,
]);

export interface GroupMemberOptions {
  groupId: string;
  topic: string;
  assignors: AssignorName[]; // in order of preference
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
}

export class GroupMember {
  memberId = '';
  generationId = -1;
  /** Set by the heartbeat when the coordinator asks for a rebalance; the consumer rejoins. */
  rejoinNeeded = false;
  private coordinator: BrokerConnection | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatFailure: Error | null = null;

  constructor(private readonly client: TideClient, readonly options: GroupMemberOptions) {}

  /** Joins (or rejoins) the group; returns this member's partitions of the topic. */
  async join(): Promise<number[]> {
    this.stopHeartbeat();
    for (let attempt = 1; attempt <= MAX_JOIN_ATTEMPTS; attempt++) {
      this.coordinator ??= await findCoordinator(this.client, this.options.groupId);
      const joined = await this.sendJoin(this.coordinator);
      if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED || (joined.errorCode === ErrorCode.UNKNOWN_MEMBER_ID)) {
        this.memberId = joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED ? joined.memberId : '';
        continue;
      }
      if (transientErrorCodes.has(joined.errorCode) || joined.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
        this.coordinator = null;
        await sleep(200 * attempt);
        continue;
      }
      if (joined.errorCode !== ErrorCode.NONE) throw new KafkaRequestError(`group ${this.options.groupId}`, joined.errorCode);
      this.memberId = joined.memberId;
      this.generationId = joined.generationId;
      const partitions = await this.sync(this.coordinator, joined);
      if (partitions === null) continue; // the group moved on while we synced; join again
      this.rejoinNeeded = false;
      this.startHeartbeat();
      return partitions;
    }
    throw new KafkaRequestError(`group ${this.options.groupId}`, ErrorCode.REBALANCE_IN_PROGRESS, `no stable membership after ${MAX_JOIN_ATTEMPTS} attempts`);
  }

  /** Throws the heartbeat's fatal error, if any (called from the consume loop). */
  checkHealth(): void {
    if (this.heartbeatFailure) throw this.heartbeatFailure;
  }

  async leave(): Promise<void> {
    this.stopHeartbeat();
    if (!this.coordinator || this.memberId === '') return;
    await this.coordinator.send(leaveGroupCodec, {
      groupId: this.options.groupId,
      memberId: this.memberId,
      members: [{ memberId: this.memberId, groupInstanceId: null, reason: 'tide consume exiting' }],
    }).catch(() => undefined); // leaving is best effort: the session timeout removes us anyway
    this.memberId = '';
  }

  private async sendJoin(coordinator: BrokerConnection): Promise<JoinGroupResponse> {
    const metadata = encodeSubscription({ topics: [this.options.topic] });
    const { body } = await coordinator.send(joinGroupCodec, {
      groupId: this.options.groupId,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: PROTOCOL_TYPE,
      protocols: this.options.assignors.map((name) => ({ name, metadata })),
      reason: null,
    });
    return body;
  }

  private async sync(coordinator: BrokerConnection, joined: JoinGroupResponse): Promise<number[] | null> {
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (joined.leader === joined.memberId && !joined.skipAssignment) {
      const members = joined.members.map((member) => ({ memberId: member.memberId, topics: decodeSubscription(member.metadata).topics }));
      const topics = [...new Set(members.flatMap((member) => member.topics))];
      const metadata = await this.client.metadata(topics);
      const partitionCounts = new Map(metadata.topics.map((topic) => [topic.name ?? '', topic.partitions.length]));
      const assignorName = (joined.protocolName ?? this.options.assignors[0]!) as AssignorName;
      const plan = assign(assignorName, members, partitionCounts);
      assignments = [...plan].map(([memberId, assignedPartitions]) => ({ memberId, assignment: encodeAssignment({ assignedPartitions, version: 0 }) }));
    }
    const { body } = await coordinator.send(syncGroupCodec, {
      groupId: this.options.groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      protocolType: PROTOCOL_TYPE,
      protocolName: joined.protocolName,
      assignments,
    });
    if (REJOIN_ERRORS.has(body.errorCode)) return null;
    if (body.errorCode !== ErrorCode.NONE) throw new KafkaRequestError(`group ${this.options.groupId}`, body.errorCode);
    if (body.assignment.length === 0) return [];
    const assignment = decodeAssignment(body.assignment);
    return assignment.assignedPartitions.filter((entry) => entry.topic === this.options.topic).flatMap((entry) => entry.partitions).sort((a, b) => a - b);
  }

  private startHeartbeat(): void {
    const intervalMs = Math.max(100, Math.floor(this.options.sessionTimeoutMs / 3));
    const beat = async () => {
      if (!this.coordinator || this.rejoinNeeded) return;
      try {
        const { body } = await this.coordinator.send(heartbeatCodec, {
          groupId: this.options.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null,
        });
        if (REJOIN_ERRORS.has(body.errorCode)) this.rejoinNeeded = true;
        else if (transientErrorCodes.has(body.errorCode)) {
          this.coordinator = null;
          this.rejoinNeeded = true;
        } else if (body.errorCode !== ErrorCode.NONE) {
          this.heartbeatFailure = new KafkaRequestError(`group ${this.options.groupId}`, body.errorCode);
        }
      } catch (error) {
        this.heartbeatFailure = error instanceof Error ? error : new Error(String(error));
      }
    };
    this.heartbeatTimer = setInterval(() => void beat(), intervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }
}
