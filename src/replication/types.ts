// Shapes shared by the leader and follower sides of partition replication.

/** Kafka's replica.lag.time.max.ms is 30000; Tide fails over in seconds, so it drops laggards sooner. */
export const defaultReplicaLagTimeMaxMs = 10_000;

/** What one follower Fetch carries of one partition at most (Kafka's replica.fetch.max.bytes is 1 MiB). */
export const replicaFetchPartitionMaxBytes = 4 * 1024 * 1024;

export interface ReplicationConfig {
  /** A follower not caught up with the leader's end for longer than this leaves the ISR. */
  readonly replicaLagTimeMaxMs: number;
  /** acks=all needs at least this many ISR members (min.insync.replicas). */
  readonly minInsyncReplicas: number;
  /** flush=sync: only fsynced data counts toward the high watermark and acks. */
  readonly flushSync: boolean;
  /**
   * Skip the OffsetForLeaderEpoch round trip on becoming follower and rely on the leader reporting
   * a diverging epoch in its Fetch answer (Kafka's path since 2.7). Default false: ask first.
   */
  readonly truncateOnFetch?: boolean;
}

/** A partition's committed state, as a metadata `partition` record carries it. */
export interface PartitionState {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/**
 * Sent by the leader to the controller; the change holds only once committed. The controller
 * applies it only if leaderEpoch and partitionEpoch are the current ones, and every accepted
 * request bumps the partition epoch, even one that leaves the ISR as it is (the leader relies on
 * that to learn that no older copy of a request can still apply).
 */
export interface AlterPartitionRequest {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** The partition epoch the proposal is based on: the controller refuses it if that moved on. */
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
}

/** The controller's definite answer: the committed state, or a refusal (FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA). */
export type AlterPartitionResult =
  | { readonly errorCode: 0; readonly leaderEpoch: number; readonly partitionEpoch: number; readonly isr: readonly number[] }
  | { readonly errorCode: number };

export type Acks = 0 | 1 | -1;

export type LeaderAction =
  /** Answer a waiting produce request. */
  | { readonly kind: 'produce-done'; readonly requestId: number; readonly errorCode: number }
  /** Send to the controller; feed the answer to onAlterPartitionResult. Resend the same request if no answer comes. */
  | { readonly kind: 'alter-partition'; readonly request: AlterPartitionRequest }
  /** The HW moved: checkpoint it (lazily) and wake consumer fetches waiting for data. */
  | { readonly kind: 'high-watermark'; readonly highWatermark: number }
  /** The committed ISR changed (for metrics): who joined, who left. */
  | { readonly kind: 'isr-changed'; readonly isr: readonly number[]; readonly expanded: readonly number[]; readonly shrunk: readonly number[] };

export interface ReplicaFetchRequest {
  readonly replicaId: number;
  readonly fetchOffset: number;
  readonly currentLeaderEpoch: number;
  /** The epoch of the follower's last batch (KIP-595 style divergence check); -1 to skip the check. */
  readonly lastFetchedEpoch: number;
}

export interface ReplicaFetchAnswer {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** Records to send: [readFromOffset, readToOffset), capped by the driver at the fetch size. */
  readonly readFromOffset: number;
  readonly readToOffset: number;
  /** Set when the follower's log diverged: it must truncate and fetch again (no records sent). */
  readonly divergingEpoch?: { readonly epoch: number; readonly endOffset: number };
}
