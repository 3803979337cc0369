// The leader side of one partition: follower progress from their fetches, the ISR as committed plus
// at most one pending change, the high watermark, and produce requests waiting for acks=all. Pure:
// time comes in as nowMs, effects leave as LeaderAction values the driver carries out.
//
// Rules (Kafka's, from Partition.scala and Replica.scala, KIP-497 for the pending ISR):
// - HW = min(leader's own end, end of every member of the *maximal* ISR) and never decreases. The
//   maximal ISR is the committed ISR plus every member that some AlterPartition request based on
//   the current partition epoch proposed to add, answered or not: a copy of a refused request may
//   still be in flight and be applied later (the simulator found this with a retry overtaking a
//   refusal). Requests based on partition epoch P apply only while the controller is at P, so
//   learning any state newer than P clears that set. During a pending shrink the maximal ISR is
//   the committed one. So the HW never outruns a replica the controller may count in the ISR. A
//   follower whose end is unknown (no fetch yet in this epoch) holds the HW where it is. With
//   flush=sync "end" means the fsynced end.
// - Only fetches carrying this leader epoch and no divergence count; the follower's fetch offset
//   is its end offset (with flush=sync its fsynced end: it fetches again only once flushed).
// - A follower is caught up at time t if it fetched at an offset >= the leader's end at t, or at an
//   offset >= the leader's end as of its previous fetch (then caught up at that previous time).
// - Shrink: a member whose end differs from the leader's and who has not been caught up for more
//   than replica.lag.time.max.ms is proposed out (on tick); a lagging member of the uncertain set
//   above makes the leader propose the committed ISR unchanged, which (accepted) bumps the partition
//   epoch and so clears the set. Expand: a replica outside the ISR whose end is >= HW and >= this
//   epoch's start offset is proposed in (on fetch). One request in flight.
// - acks=all: refused before the append with NOT_ENOUGH_REPLICAS if the committed ISR is smaller than
//   min.insync.replicas (checkProduce). After the append it completes when HW >= its end offset: NONE
//   if the maximal ISR then has at least min.insync.replicas members, else
//   NOT_ENOUGH_REPLICAS_AFTER_APPEND (the data is written and will replicate). A shrink does not
//   fail it by itself: the smaller ISR lets the HW pass it, and then it is answered by that rule.
//   Deadline passed: REQUEST_TIMED_OUT. Leadership lost: NOT_LEADER_OR_FOLLOWER.
// - acks=1 completes once the leader has it (flush=sync: fsynced); acks=0 gets no answer.
import { ErrorCode } from '../protocol/error-codes.ts';
import { comparePartitionState, leaderEpochErrorCode } from './epochs.ts';
import { UNDEFINED_EPOCH } from '../storage/epoch-history.ts';
import type { EpochEndOffset } from '../storage/epoch-history.ts';
import type { ReplicaLog } from './replica-log.ts';
import { PendingProduces } from './pending-produces.ts';
import type {
  Acks, AlterPartitionRequest, AlterPartitionResult, LeaderAction, PartitionState, ReplicaFetchAnswer, ReplicaFetchRequest, ReplicationConfig,
} from './types.ts';

const UNKNOWN_OFFSET = -1;
/** Waiting acks=all requests per partition; more are refused rather than queued without bound. */
export const pendingProducesMax = 100_000;

interface FollowerProgress {
  logEndOffset: number;
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  lastFetchLeaderLogEndOffset: number;
}

export interface ProduceRequest {
  readonly requestId: number;
  readonly acks: Acks;
  readonly timeoutMs: number;
}

export class LeaderState {
  readonly leaderEpoch: number;
  /** The first offset written in this leader epoch: the follower expansion floor. */
  readonly epochStartOffset: number;
  private state: PartitionState;
  private pendingIsr: AlterPartitionRequest | undefined;
  /** Members proposed for addition on top of the current partition epoch (see the rules above). */
  private uncertainMembers: number[] = [];
  private readonly followers = new Map<number, FollowerProgress>();
  private readonly pending = new PendingProduces();
  private resigned = false;

  constructor(
    readonly localId: number,
    private config: ReplicationConfig,
    state: PartitionState,
    private readonly log: ReplicaLog,
    nowMs: number,
  ) {
    if (state.leader !== localId) throw new Error(`replica ${localId} cannot lead a partition whose leader is ${state.leader}`);
    this.state = state;
    this.leaderEpoch = state.leaderEpoch;
    this.epochStartOffset = log.logEndOffset;
    // Recorded now, not at the first append, so OffsetForLeaderEpoch answers for the new epoch at once.
    log.epochs.assign(state.leaderEpoch, log.logEndOffset);
    if (log.epochs.latestEpoch() !== state.leaderEpoch) throw new Error(`leader epoch ${state.leaderEpoch} is older than the log's ${log.epochs.latestEpoch()}`);
    for (const replicaId of state.replicas) {
      if (replicaId === localId) continue;
      // ISR members get a full lag period to show up before they can be shrunk out.
      const caughtUpMs = state.isr.includes(replicaId) ? nowMs : Number.NEGATIVE_INFINITY;
      this.followers.set(replicaId, { logEndOffset: UNKNOWN_OFFSET, lastCaughtUpTimeMs: caughtUpMs, lastFetchTimeMs: nowMs, lastFetchLeaderLogEndOffset: UNKNOWN_OFFSET });
    }
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  /**
   * False while the HW is below this epoch's start offset: a new leader learns the committed point
   * only as its ISR fetches, and until then its HW may be below one the previous leader already
   * showed. Offsets for consumers wait (ListOffsets: OFFSET_NOT_AVAILABLE, KIP-207). Once true the
   * HW is at least any HW of an earlier epoch: those never passed what this replica held when it
   * was elected from the ISR.
   */
  get highWatermarkKnown(): boolean {
    return this.log.highWatermark >= this.epochStartOffset;
  }

  get committedIsr(): readonly number[] {
    return this.state.isr;
  }

  get partitionEpoch(): number {
    return this.state.partitionEpoch;
  }

  get pendingAlterPartition(): AlterPartitionRequest | undefined {
    return this.pendingIsr;
  }

  get pendingProduceCount(): number {
    return this.pending.size;
  }

  /** The ISR the HW must wait for (see the rules above). */
  maximalIsr(): number[] {
    const isr = [...this.state.isr];
    for (const replicaId of this.uncertainMembers) if (!isr.includes(replicaId)) isr.push(replicaId);
    return isr;
  }

  followerLogEndOffset(replicaId: number): number | undefined {
    return this.followers.get(replicaId)?.logEndOffset;
  }

  /** Before appending a produce: NONE, or the error to answer without writing. */
  checkProduce(acks: Acks): number {
    if (this.resigned) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (acks === -1 && this.state.isr.length < this.config.minInsyncReplicas) return ErrorCode.NOT_ENOUGH_REPLICAS;
    if (this.pending.size >= pendingProducesMax) return ErrorCode.REQUEST_TIMED_OUT;
    return ErrorCode.NONE;
  }

  /**
   * The driver appended [old end, nextOffset) in this epoch (after checkProduce said NONE). For a
   * produce request, the answer comes back as a produce-done action now or later.
   */
  onAppend(nextOffset: number, nowMs: number, produce?: ProduceRequest): LeaderAction[] {
    if (this.resigned) throw new Error('append on a replica that is no longer leader');
    this.log.appended(nextOffset, this.leaderEpoch);
    const actions: LeaderAction[] = [];
    if (produce !== undefined && produce.acks !== 0) {
      this.pending.add({ requestId: produce.requestId, requiredOffset: nextOffset, deadlineMs: nowMs + produce.timeoutMs, acks: produce.acks });
    }
    this.advanceHighWatermark(actions);
    this.completeProduces(actions);
    return actions;
  }

  /** Everything below `offset` is fsynced on the leader. */
  onFlushed(offset: number): LeaderAction[] {
    this.log.flushed(offset);
    const actions: LeaderAction[] = [];
    this.advanceHighWatermark(actions);
    this.completeProduces(actions);
    return actions;
  }

  /** A follower's Fetch: what to send back, and what it set in motion. */
  onFetch(request: ReplicaFetchRequest, nowMs: number): { answer: ReplicaFetchAnswer; actions: LeaderAction[] } {
    const actions: LeaderAction[] = [];
    const refuse = (errorCode: number) => ({ answer: this.answer(errorCode, request.fetchOffset, request.fetchOffset), actions });
    if (this.resigned) return refuse(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const epochError = leaderEpochErrorCode(request.currentLeaderEpoch, this.leaderEpoch);
    if (epochError !== ErrorCode.NONE) return refuse(epochError);
    const progress = this.followers.get(request.replicaId);
    if (progress === undefined) return refuse(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (request.lastFetchedEpoch !== UNDEFINED_EPOCH) {
      const diverging = this.divergence(request.lastFetchedEpoch, request.fetchOffset);
      // A diverging follower's offset says nothing about what it shares with us: do not count it.
      if (diverging !== undefined) return { answer: { ...this.answer(ErrorCode.NONE, request.fetchOffset, request.fetchOffset), divergingEpoch: diverging }, actions };
    }
    if (request.fetchOffset > this.log.logEndOffset || request.fetchOffset < this.log.logStartOffset) return refuse(ErrorCode.OFFSET_OUT_OF_RANGE);
    this.updateProgress(progress, request.fetchOffset, nowMs);
    this.maybeExpandIsr(request.replicaId, progress, actions);
    this.advanceHighWatermark(actions);
    this.completeProduces(actions);
    return { answer: this.answer(ErrorCode.NONE, request.fetchOffset, this.log.logEndOffset), actions };
  }

  /** OffsetForLeaderEpoch from a follower (KIP-101/279), fenced by its currentLeaderEpoch (KIP-320). */
  onOffsetForLeaderEpoch(currentLeaderEpoch: number, requestedEpoch: number): EpochEndOffset & { errorCode: number } {
    const epochError = this.resigned ? ErrorCode.NOT_LEADER_OR_FOLLOWER : leaderEpochErrorCode(currentLeaderEpoch, this.leaderEpoch);
    if (epochError !== ErrorCode.NONE) return { errorCode: epochError, epoch: UNDEFINED_EPOCH, endOffset: -1 };
    return { errorCode: ErrorCode.NONE, ...this.log.epochs.endOffsetForEpoch(requestedEpoch, this.log.logEndOffset) };
  }

  /** Time passes: produce deadlines and ISR shrinking. */
  tick(nowMs: number): LeaderAction[] {
    const actions: LeaderAction[] = [];
    if (this.resigned) return actions;
    for (const produce of this.pending.takeExpired(nowMs)) actions.push({ kind: 'produce-done', requestId: produce.requestId, errorCode: ErrorCode.REQUEST_TIMED_OUT });
    this.maybeShrinkIsr(nowMs, actions);
    return actions;
  }

  /** The controller's answer to our AlterPartition request. */
  onAlterPartitionResult(request: AlterPartitionRequest, result: AlterPartitionResult): LeaderAction[] {
    const actions: LeaderAction[] = [];
    if (this.resigned || this.pendingIsr !== request) return actions;
    if (result.errorCode !== ErrorCode.NONE || !('isr' in result)) {
      // Refused; another copy may still be applied, so its members stay in the maximal ISR.
      this.pendingIsr = undefined;
      return actions;
    }
    if (result.leaderEpoch !== this.leaderEpoch) return actions; // Metadata will move us on.
    return this.onPartitionState({ ...this.state, partitionEpoch: result.partitionEpoch, isr: result.isr });
  }

  /** Committed metadata for this leader epoch (a newer partition epoch: ISR changed). */
  onPartitionState(state: PartitionState): LeaderAction[] {
    const actions: LeaderAction[] = [];
    if (this.resigned || state.leaderEpoch !== this.leaderEpoch || state.leader !== this.localId) return actions;
    if (comparePartitionState(state, this.state) !== 'newer') return actions;
    const before = this.state.isr;
    this.state = state;
    const expanded = state.isr.filter((replicaId) => !before.includes(replicaId));
    const shrunk = before.filter((replicaId) => !state.isr.includes(replicaId));
    if (expanded.length > 0 || shrunk.length > 0) actions.push({ kind: 'isr-changed', isr: state.isr, expanded, shrunk });
    for (const replicaId of expanded) {
      // A member joins having reached the HW at its last fetch: it gets a full lag period from
      // there, as ISR members do at election. Judged against the log end at once, a follower that
      // keeps pace but trails the unacknowledged tail would flap in and out on every round.
      const progress = this.followers.get(replicaId);
      if (progress !== undefined) progress.lastCaughtUpTimeMs = Math.max(progress.lastCaughtUpTimeMs, progress.lastFetchTimeMs);
    }
    // Requests based on an older partition epoch are either in this state or can never apply.
    if (this.pendingIsr !== undefined && this.pendingIsr.partitionEpoch < state.partitionEpoch) this.pendingIsr = undefined;
    this.uncertainMembers = [];
    this.advanceHighWatermark(actions);
    this.completeProduces(actions);
    return actions;
  }

  /**
   * The topic's config changed (min.insync.replicas, flush): it holds from now on, not from the
   * next leader epoch. Waiting requests are judged again (a lower minimum or flush=async can
   * complete them); the HW still only moves forward.
   */
  onConfig(config: ReplicationConfig): LeaderAction[] {
    this.config = config;
    const actions: LeaderAction[] = [];
    if (this.resigned) return actions;
    this.advanceHighWatermark(actions);
    this.completeProduces(actions);
    return actions;
  }

  /** Leadership moved or the partition went away: every waiting request fails. */
  resign(): LeaderAction[] {
    if (this.resigned) return [];
    this.resigned = true;
    this.pendingIsr = undefined;
    this.uncertainMembers = [];
    return this.pending.takeAll().map((produce) => ({ kind: 'produce-done', requestId: produce.requestId, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }));
  }

  private answer(errorCode: number, readFromOffset: number, readToOffset: number): ReplicaFetchAnswer {
    return {
      errorCode, highWatermark: this.log.highWatermark, logStartOffset: this.log.logStartOffset, logEndOffset: this.log.logEndOffset,
      readFromOffset, readToOffset: Math.max(readFromOffset, readToOffset),
    };
  }

  private divergence(lastFetchedEpoch: number, fetchOffset: number): { epoch: number; endOffset: number } | undefined {
    const end = this.log.epochs.endOffsetForEpoch(lastFetchedEpoch, this.log.logEndOffset);
    if (end.epoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: -1 };
    if (end.epoch < lastFetchedEpoch || end.endOffset < fetchOffset) return end;
    return undefined;
  }

  private updateProgress(progress: FollowerProgress, fetchOffset: number, nowMs: number): void {
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset >= leaderEnd) progress.lastCaughtUpTimeMs = Math.max(progress.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= progress.lastFetchLeaderLogEndOffset) progress.lastCaughtUpTimeMs = Math.max(progress.lastCaughtUpTimeMs, progress.lastFetchTimeMs);
    progress.logEndOffset = fetchOffset;
    progress.lastFetchLeaderLogEndOffset = leaderEnd;
    progress.lastFetchTimeMs = nowMs;
  }

  private maybeExpandIsr(replicaId: number, progress: FollowerProgress, actions: LeaderAction[]): void {
    if (this.pendingIsr !== undefined || this.state.isr.includes(replicaId)) return;
    if (progress.logEndOffset < this.log.highWatermark || progress.logEndOffset < this.epochStartOffset) return;
    this.propose([...this.state.isr, replicaId], actions);
  }

  private maybeShrinkIsr(nowMs: number, actions: LeaderAction[]): void {
    if (this.pendingIsr !== undefined) return;
    const leaderEnd = this.log.logEndOffset;
    const outOfSync = this.maximalIsr().filter((replicaId) => {
      const progress = this.followers.get(replicaId);
      if (replicaId === this.localId || progress === undefined) return false;
      return progress.logEndOffset !== leaderEnd && nowMs - progress.lastCaughtUpTimeMs > this.config.replicaLagTimeMaxMs;
    });
    // With only uncertain members lagging this proposes the committed ISR as it is (see above).
    if (outOfSync.length > 0) this.propose(this.state.isr.filter((replicaId) => !outOfSync.includes(replicaId)), actions);
  }

  private propose(isr: number[], actions: LeaderAction[]): void {
    const request: AlterPartitionRequest = { leaderId: this.localId, leaderEpoch: this.leaderEpoch, partitionEpoch: this.state.partitionEpoch, isr };
    this.pendingIsr = request;
    for (const replicaId of isr) if (!this.state.isr.includes(replicaId) && !this.uncertainMembers.includes(replicaId)) this.uncertainMembers.push(replicaId);
    actions.push({ kind: 'alter-partition', request });
  }

  private advanceHighWatermark(actions: LeaderAction[]): void {
    let candidate = this.log.durableEndOffset(this.config.flushSync);
    for (const replicaId of this.maximalIsr()) {
      if (replicaId === this.localId) continue;
      candidate = Math.min(candidate, this.followers.get(replicaId)?.logEndOffset ?? UNKNOWN_OFFSET);
    }
    if (candidate <= this.log.highWatermark) return;
    this.log.highWatermark = candidate;
    actions.push({ kind: 'high-watermark', highWatermark: candidate });
  }

  private completeProduces(actions: LeaderAction[]): void {
    if (this.pending.size === 0) return;
    const done = this.pending.takeDone(this.log.durableEndOffset(this.config.flushSync), this.log.highWatermark);
    for (const produce of done.leader) actions.push({ kind: 'produce-done', requestId: produce.requestId, errorCode: ErrorCode.NONE });
    if (done.all.length === 0) return;
    const errorCode = this.maximalIsr().length >= this.config.minInsyncReplicas ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    for (const produce of done.all) actions.push({ kind: 'produce-done', requestId: produce.requestId, errorCode });
  }
}
