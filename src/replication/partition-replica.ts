// One partition on one node: leader, follower or neither, switched by committed metadata. Metadata
// older than what we hold (by leader epoch, then partition epoch) is refused whole; a new leader
// epoch ends the old role first (its waiting produce requests fail with NOT_LEADER_OR_FOLLOWER).
import { compareLeaderEpoch, comparePartitionState } from './epochs.ts';
import { FollowerState, truncationByEpoch } from './follower-state.ts';
import type { TruncationRule } from './follower-state.ts';
import { LeaderState } from './leader-state.ts';
import type { ReplicaLog } from './replica-log.ts';
import type { LeaderAction, PartitionState, ReplicationConfig } from './types.ts';

export type ReplicaRole = 'leader' | 'follower' | 'none';

export interface MetadataOutcome {
  /** False when the update was stale or a repeat and changed nothing. */
  readonly accepted: boolean;
  readonly actions: LeaderAction[];
  /** The epoch history changed (a new leader epoch began here): persist log.epochs.list(). */
  readonly epochsChanged: boolean;
}

export class PartitionReplica {
  private known: PartitionState | undefined;
  private leaderState: LeaderState | undefined;
  private followerState: FollowerState | undefined;

  constructor(
    readonly localId: number,
    private config: ReplicationConfig,
    readonly log: ReplicaLog,
    private readonly truncationRule: TruncationRule = truncationByEpoch,
  ) {}

  get role(): ReplicaRole {
    if (this.leaderState !== undefined) return 'leader';
    return this.followerState !== undefined ? 'follower' : 'none';
  }

  get leader(): LeaderState | undefined {
    return this.leaderState;
  }

  get follower(): FollowerState | undefined {
    return this.followerState;
  }

  get partitionState(): PartitionState | undefined {
    return this.known;
  }

  get leaderEpoch(): number {
    return this.known?.leaderEpoch ?? -1;
  }

  onMetadata(state: PartitionState, nowMs: number): MetadataOutcome {
    const refused: MetadataOutcome = { accepted: false, actions: [], epochsChanged: false };
    if (this.known !== undefined && comparePartitionState(state, this.known) !== 'newer') return refused;
    // Our log already holds a newer epoch than this metadata names: it is stale (we just restarted).
    if (compareLeaderEpoch(state.leaderEpoch, this.log.epochs.latestEpoch()) === 'stale') return refused;
    const sameLeaderEpoch = this.known?.leaderEpoch === state.leaderEpoch;
    this.known = state;
    if (sameLeaderEpoch) {
      return { accepted: true, actions: this.leaderState?.onPartitionState(state) ?? [], epochsChanged: false };
    }
    const actions = this.leaderState?.resign() ?? [];
    this.leaderState = undefined;
    this.followerState = undefined;
    const epochBefore = this.log.epochs.latestEpoch();
    if (state.leader === this.localId) {
      this.leaderState = new LeaderState(this.localId, this.config, state, this.log, nowMs);
    } else if (state.leader >= 0 && state.replicas.includes(this.localId)) {
      this.followerState = new FollowerState(this.localId, state.leader, state.leaderEpoch, this.config, this.log, this.truncationRule);
    }
    return { accepted: true, actions, epochsChanged: this.log.epochs.latestEpoch() !== epochBefore };
  }

  get replicationConfig(): ReplicationConfig {
    return this.config;
  }

  /** The topic's config changed: it applies to the current role at once (and to later ones). */
  onConfig(config: ReplicationConfig): LeaderAction[] {
    this.config = config;
    this.followerState?.onConfig(config);
    return this.leaderState?.onConfig(config) ?? [];
  }

  /** Time passes (leaders only have timers). */
  tick(nowMs: number): LeaderAction[] {
    return this.leaderState?.tick(nowMs) ?? [];
  }

  /** The node stops (shutdown or the partition was deleted): waiting requests fail. */
  close(): LeaderAction[] {
    const actions = this.leaderState?.resign() ?? [];
    this.leaderState = undefined;
    this.followerState = undefined;
    return actions;
  }
}
