// One member of a classic group (Kafka's MemberMetadata): what it supports, what it was assigned,
// which request of it is parked, and when its session runs out.
import type { Completion } from './completion.ts';
import type { GroupProtocol, JoinGroupResult, SyncGroupResult } from './group-types.ts';

const emptyBuffer = Buffer.alloc(0);

export interface MemberInit {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
}

export class Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly protocolType: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocols: GroupProtocol[];
  assignment: Buffer = emptyBuffer;
  /** A parked JoinGroup; non-null means the member has (re)joined the current rebalance. */
  awaitingJoin: Completion<JoinGroupResult> | null = null;
  /** A parked SyncGroup. */
  awaitingSync: Completion<SyncGroupResult> | null = null;
  /** Joined but not yet through its first rebalance: it cannot heartbeat, so a shorter clock applies. */
  isNew = false;
  /** When the session expires unless a heartbeat (or a rebalance step) pushes it out; null = not armed. */
  sessionDeadlineMs: number | null = null;

  constructor(init: MemberInit) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.protocolType = init.protocolType;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocols = init.protocols;
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  get isAwaitingJoin(): boolean {
    return this.awaitingJoin !== null;
  }

  get isAwaitingSync(): boolean {
    return this.awaitingSync !== null;
  }

  protocolNames(): Set<string> {
    return new Set(this.protocols.map((protocol) => protocol.name));
  }

  /** The member's metadata for a protocol it supports; the group only selects protocols all members support. */
  metadata(protocolName: string): Buffer {
    const protocol = this.protocols.find((candidate) => candidate.name === protocolName);
    if (!protocol) throw new Error(`member ${this.memberId} does not support protocol ${protocolName}`);
    return protocol.metadata;
  }

  /** The member's most preferred protocol among the candidates (its list is in preference order). */
  vote(candidates: ReadonlySet<string>): string {
    const choice = this.protocols.find((protocol) => candidates.has(protocol.name));
    if (!choice) throw new Error(`member ${this.memberId} supports none of the candidate protocols`);
    return choice.name;
  }

  /** Same protocols, same order, same metadata: a rejoin that changes nothing. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every(
      (protocol, index) => protocol.name === this.protocols[index]!.name && protocol.metadata.equals(this.protocols[index]!.metadata),
    );
  }

  /**
   * Whether an expiring session should be forgiven. A member parked in a rebalance cannot send
   * heartbeats, so it counts as alive, unless it is brand new (it might be a retry that was
   * abandoned; its clock is the new-member join timeout instead).
   */
  hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return false;
    return this.isAwaitingJoin || this.isAwaitingSync;
  }
}
