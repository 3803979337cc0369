// The follower side of one partition for one leader epoch. On becoming follower it first finds
// where its log diverged from the leader's (OffsetForLeaderEpoch, KIP-101 with KIP-279's
// epoch-aware answer) and truncates there, then fetches from its end offset. Each fetch also
// carries the epoch of its last batch so the leader can report a divergence found later.
//
// Contract with the driver: send one request at a time, from nextRequest(); pass each answer back
// with the request it answers (stale answers are ignored); apply the returned effects to the real
// log, in order, BEFORE sending the next request. With flush=sync the follower fetches again only
// once everything it appended is fsynced (onFlushed), so its fetch offset, which the leader counts
// as its end offset, is a durable one.
import { ErrorCode } from '../protocol/error-codes.ts';
import { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from '../storage/epoch-history.ts';
import type { EpochEndOffset } from '../storage/epoch-history.ts';
import type { ReplicaLog } from './replica-log.ts';
import type { ReplicaFetchAnswer, ReplicaFetchRequest, ReplicationConfig } from './types.ts';

export interface OffsetForLeaderEpochRequest {
  readonly kind: 'offset-for-leader-epoch';
  readonly leaderId: number;
  readonly currentLeaderEpoch: number;
  /** Our latest epoch: the leader answers where that epoch ends in its log. */
  readonly requestedEpoch: number;
}

export interface FetchRequest {
  readonly kind: 'fetch';
  readonly leaderId: number;
  readonly request: ReplicaFetchRequest;
}

export type FollowerRequest = OffsetForLeaderEpochRequest | FetchRequest;

/** A batch as the follower appends it: it ends before nextOffset and was written in epoch. */
export interface ReceivedBatch {
  readonly nextOffset: number;
  readonly epoch: number;
}

export type FollowerEffect =
  /** Cut the log back to endOffset (and its epoch checkpoint with it). */
  | { readonly kind: 'truncate'; readonly endOffset: number }
  /** Append the received batches that end at or before toOffset (the ones before fromOffset were skipped). */
  | { readonly kind: 'append'; readonly fromOffset: number; readonly toOffset: number }
  /** The follower HW moved (checkpoint it lazily). */
  | { readonly kind: 'high-watermark'; readonly highWatermark: number }
  /** The leader's log starts later than ours (retention, DeleteRecords there): delete ours below offset. */
  | { readonly kind: 'log-start'; readonly offset: number }
  /** Our log ends below the leader's log start: empty it and start again at offset. */
  | { readonly kind: 'restart'; readonly offset: number };

type Phase = 'truncating' | 'fetching';

/** Where a follower truncates, given the leader's (epoch, end offset) for an epoch we asked about. */
export interface TruncationDecision {
  readonly endOffset: number;
  /** False when we lack the leader's epoch: truncate, then ask again with our new latest epoch. */
  readonly complete: boolean;
}

/**
 * Kafka's AbstractFetcherThread.getOffsetTruncationState: truncate to the smaller of our end and
 * the leader's end for the largest epoch at or below the one we asked about; if we do not hold
 * that exact epoch, truncate to our end for it and ask again.
 */
export function truncationByEpoch(log: ReplicaLog, leaderAnswer: EpochEndOffset): TruncationDecision {
  const ourEnd = log.logEndOffset;
  if (leaderAnswer.endOffset === UNDEFINED_EPOCH_OFFSET) return { endOffset: Math.min(log.highWatermark, ourEnd), complete: true };
  if (leaderAnswer.epoch === UNDEFINED_EPOCH) return { endOffset: Math.min(leaderAnswer.endOffset, ourEnd), complete: true };
  const ours = log.epochs.endOffsetForEpoch(leaderAnswer.epoch, ourEnd);
  if (ours.epoch === UNDEFINED_EPOCH) return { endOffset: Math.min(leaderAnswer.endOffset, ourEnd), complete: true };
  if (ours.epoch !== leaderAnswer.epoch) return { endOffset: Math.min(ours.endOffset, ourEnd), complete: false };
  return { endOffset: Math.min(ours.endOffset, leaderAnswer.endOffset, ourEnd), complete: true };
}

export type TruncationRule = (log: ReplicaLog, leaderAnswer: EpochEndOffset) => TruncationDecision;

export class FollowerState {
  private phase: Phase = 'truncating';
  private truncationRounds = 0;

  constructor(
    readonly localId: number,
    readonly leaderId: number,
    readonly leaderEpoch: number,
    private config: ReplicationConfig,
    private readonly log: ReplicaLog,
    /** Replaceable only so the simulator can prove the pre-KIP-101 rule loses data. */
    private readonly truncationRule: TruncationRule = truncationByEpoch,
  ) {
    if (config.truncateOnFetch === true) this.phase = 'fetching';
  }

  /** A topic config change (flush) applies to the next request; the truncation phase is kept. */
  onConfig(config: ReplicationConfig): void {
    this.config = config;
  }

  get isFetching(): boolean {
    return this.phase === 'fetching';
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  /** The next request to send to the leader, or undefined while appended data awaits its fsync. */
  nextRequest(): FollowerRequest | undefined {
    if (this.phase === 'truncating') {
      return { kind: 'offset-for-leader-epoch', leaderId: this.leaderId, currentLeaderEpoch: this.leaderEpoch, requestedEpoch: this.log.epochs.latestEpoch() };
    }
    if (this.config.flushSync && this.log.flushedOffset < this.log.logEndOffset) return undefined;
    const request: ReplicaFetchRequest = {
      replicaId: this.localId, fetchOffset: this.log.logEndOffset, currentLeaderEpoch: this.leaderEpoch, lastFetchedEpoch: this.log.epochs.latestEpoch(),
    };
    return { kind: 'fetch', leaderId: this.leaderId, request };
  }

  onOffsetForLeaderEpochAnswer(request: OffsetForLeaderEpochRequest, answer: EpochEndOffset & { errorCode: number }): FollowerEffect[] {
    if (this.phase !== 'truncating' || request.requestedEpoch !== this.log.epochs.latestEpoch() || request.currentLeaderEpoch !== this.leaderEpoch) return [];
    // Epoch errors mean the leader or we have not seen the latest metadata yet: ask again later.
    if (answer.errorCode !== ErrorCode.NONE) return [];
    return this.truncate(this.truncationRule(this.log, answer));
  }

  /** The leader's answer to our Fetch, with the batches it carried (offsets and epochs only). */
  onFetchAnswer(request: FetchRequest, answer: ReplicaFetchAnswer, batches: readonly ReceivedBatch[]): FollowerEffect[] {
    if (this.phase !== 'fetching' || request.request.fetchOffset !== this.log.logEndOffset || request.request.currentLeaderEpoch !== this.leaderEpoch) return [];
    if (answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      // Everything we lack was deleted on the leader (retention, DeleteRecords): no divergence to
      // look for, and fetching from our end would fail for ever. Kafka's truncateFullyAndStartAt.
      if (answer.logStartOffset > this.log.logEndOffset) {
        this.log.restartAt(answer.logStartOffset);
        return [{ kind: 'restart', offset: answer.logStartOffset }];
      }
      this.phase = 'truncating';
      return [];
    }
    if (answer.errorCode !== ErrorCode.NONE) return [];
    if (answer.divergingEpoch !== undefined) return this.truncate(this.truncationRule(this.log, answer.divergingEpoch));
    const effects: FollowerEffect[] = [];
    const fromOffset = this.log.logEndOffset;
    for (const batch of batches) {
      if (batch.nextOffset <= this.log.logEndOffset) continue;
      if (batch.epoch < this.log.epochs.latestEpoch() || batch.epoch > this.leaderEpoch) break; // Not from this leader's history: refetch.
      this.log.appended(batch.nextOffset, batch.epoch);
    }
    if (this.log.logEndOffset > fromOffset) effects.push({ kind: 'append', fromOffset, toOffset: this.log.logEndOffset });
    const highWatermark = Math.min(answer.highWatermark, this.log.logEndOffset);
    if (highWatermark > this.log.highWatermark) {
      this.log.highWatermark = highWatermark;
      effects.push({ kind: 'high-watermark', highWatermark });
    }
    // The leader deletes only below its HW, so this stays at or below ours (set just above).
    if (this.log.startMovedTo(answer.logStartOffset)) effects.push({ kind: 'log-start', offset: this.log.logStartOffset });
    return effects;
  }

  /** Everything below `offset` is fsynced. */
  onFlushed(offset: number): void {
    this.log.flushed(offset);
  }

  private truncate(decision: TruncationDecision): FollowerEffect[] {
    const effects: FollowerEffect[] = [];
    if (this.log.truncateTo(decision.endOffset)) effects.push({ kind: 'truncate', endOffset: this.log.logEndOffset });
    this.truncationRounds++;
    // Each incomplete round strictly lowers our latest epoch, so this ends; the cap guards a bug.
    if (decision.complete || this.truncationRounds > 10_000) this.phase = 'fetching';
    return effects;
  }
}
