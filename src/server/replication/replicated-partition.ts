// Drives one partition's PartitionReplica (src/replication/, pure) against the real log: carries
// out its actions (answer produce requests, ask the controller to alter the ISR, move the high
// watermark) and its effects as follower (truncate, append, high watermark) in order, before the
// next request. The mirror (ReplicaLog) is updated by the pure logic; the real log is changed here
// first, so the mirror never claims bytes the disk does not have.
import { ErrorCode } from '../../protocol/error-codes.ts';
import { iterateBatches, type RecordBatchView } from '../../protocol/record-batch.ts';
import type { FetchRequest, FollowerEffect, OffsetForLeaderEpochRequest } from '../../replication/follower-state.ts';
import type { EpochEndOffset } from '../../storage/epoch-history.ts';
import { PartitionReplica } from '../../replication/partition-replica.ts';
import { ReplicaLog } from '../../replication/replica-log.ts';
import type { Acks, AlterPartitionRequest, AlterPartitionResult, LeaderAction, PartitionState, ReplicaFetchAnswer, ReplicaFetchRequest, ReplicationConfig } from '../../replication/types.ts';
import type { Logger } from '../../util/log.ts';
import type { AppendOutcome, Partition } from '../partition.ts';

export interface ReplicatedPartitionHost {
  nowMs(): number;
  /** Send to the active controller; feed the answer to onAlterPartitionResult (resend on no answer). */
  sendAlterPartition(partition: ReplicatedPartition, request: AlterPartitionRequest): void;
  /** The follower has a request to send: wake the fetcher of its leader. */
  wakeFetcher(leaderId: number): void;
}

export interface ProduceAnswer {
  errorCode: number;
  appended?: AppendOutcome;
}

/** The most a duplicate waits for the high watermark to pass its original, beyond its own timeout. */
const duplicateWaitMsMax = 120_000;

export class ReplicatedPartition {
  readonly replica: PartitionReplica;
  private nextRequestId = 1;
  private readonly waiting = new Map<number, (errorCode: number) => void>();
  /** Follower effects are applied one answer at a time, in order. */
  private followerChain: Promise<void> = Promise.resolve();
  private closed = false;
  private produceInFlight: { requestId: number; acks: Acks; timeoutMs: number } | undefined;

  constructor(
    readonly partition: Partition,
    readonly localId: number,
    config: ReplicationConfig,
    private readonly host: ReplicatedPartitionHost,
    private readonly logger: Logger,
  ) {
    const log = partition.log;
    // No HW checkpoint yet: start from the log start, so nothing this node holds counts as
    // committed until a leader (or, leading, its ISR) says so. A just-opened log's tail may never
    // have reached the other replicas.
    partition.lowerHighWatermarkTo(log.logStartOffset);
    this.replica = new PartitionReplica(localId, config, new ReplicaLog({
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      flushedOffset: log.flushedOffset,
      highWatermark: log.logStartOffset,
      epochs: log.epochEntries(),
    }));
    partition.replicated = true;
    partition.appendObserver = (nextOffset, written) => this.onLeaderAppend(nextOffset, written);
  }

  get key(): string {
    return `${this.partition.topic}-${this.partition.partition}`;
  }

  /** Committed metadata for this partition; stale or repeated states change nothing. */
  onMetadata(state: PartitionState): void {
    const outcome = this.replica.onMetadata(state, this.host.nowMs());
    if (!outcome.accepted) return;
    this.handle(outcome.actions);
    const leader = this.replica.leader;
    if (leader) {
      // An ISR of one (or followers already caught up) lets the HW reach the durable end at once.
      this.handle(leader.onFlushed(this.partition.log.flushedOffset));
      this.partition.wakeWaiters();
    } else if (this.replica.follower) {
      this.host.wakeFetcher(state.leader);
    }
  }

  tick(): void {
    this.handle(this.replica.tick(this.host.nowMs()));
  }

  onAlterPartitionResult(request: AlterPartitionRequest, result: AlterPartitionResult): void {
    const leader = this.replica.leader;
    if (leader) this.handle(leader.onAlterPartitionResult(request, result));
  }

  // ---- Leader ---------------------------------------------------------------------------------

  /**
   * Appends a produced batch as leader and answers per acks: acks=all once the ISR has it (and the
   * ISR has min.insync.replicas members), acks=1 once the leader has it (fsynced with flush=sync).
   * A producer-state refusal rejects with the ProducerStateError, as Partition.append does.
   */
  async produce(records: Buffer, acks: Acks, timeoutMs: number): Promise<ProduceAnswer> {
    const leader = this.replica.leader;
    if (!leader || leader.leaderEpoch !== this.partition.leaderEpoch) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    const refused = leader.checkProduce(acks);
    if (refused !== ErrorCode.NONE) return { errorCode: refused };
    const requestId = this.nextRequestId++;
    const answered = new Promise<number>((resolve) => this.waiting.set(requestId, resolve));
    // The append observer (onLeaderAppend) picks this up synchronously if the batch is appended.
    this.produceInFlight = { requestId, acks, timeoutMs };
    let appending: Promise<AppendOutcome>;
    try {
      appending = this.partition.append(records);
    } finally {
      this.produceInFlight = undefined;
    }
    const appended = await appending.catch((error: unknown) => {
      this.waiting.delete(requestId);
      throw error;
    });
    if (appended.duplicate || acks === 0) this.waiting.delete(requestId);
    if (appended.duplicate) return { errorCode: await this.waitForHighWatermark(appended.lastOffset + 1, timeoutMs), appended };
    const errorCode = acks === 0 ? ErrorCode.NONE : await answered;
    return { errorCode, appended };
  }

  /** Every leader append, produced or written by the broker itself (consumer offsets). */
  private onLeaderAppend(nextOffset: number, written: Promise<unknown>): void {
    const produce = this.produceInFlight;
    this.produceInFlight = undefined;
    const leader = this.replica.leader;
    if (!leader || leader.leaderEpoch !== this.partition.leaderEpoch) {
      // Only a leader appends; the mirror must never miss an append, so this is a bug, loudly.
      this.logger.error('append on a partition this node does not lead; replication state is now wrong', { partition: this.key, nextOffset });
      return;
    }
    this.handle(leader.onAppend(nextOffset, this.host.nowMs(), produce));
    // Once the bytes are readable, followers long-polling for data fetch them (woken earlier, they
    // would find nothing to read and sleep until their max wait); with flush=sync they count for
    // the HW once fsynced here too.
    void written.then(() => {
      this.onLocalFlush();
      this.partition.wakeWaiters();
    });
  }

  /** A follower's Fetch: the answer and the records to send ([readFrom, readTo), whole batches, capped). */
  async onReplicaFetch(request: ReplicaFetchRequest, maxBytes: number): Promise<{ answer: ReplicaFetchAnswer; records: Buffer }> {
    const leader = this.replica.leader;
    const empty = Buffer.alloc(0);
    if (!leader) {
      return { answer: { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1, logStartOffset: -1, logEndOffset: -1, readFromOffset: request.fetchOffset, readToOffset: request.fetchOffset }, records: empty };
    }
    const { answer, actions } = leader.onFetch(request, this.host.nowMs());
    this.handle(actions);
    if (answer.errorCode !== ErrorCode.NONE || answer.divergingEpoch !== undefined || answer.readToOffset <= answer.readFromOffset) return { answer, records: empty };
    const read = await this.partition.log.read(answer.readFromOffset, Math.max(1, maxBytes), answer.readToOffset);
    return { answer, records: read.records };
  }

  onOffsetForLeaderEpoch(currentLeaderEpoch: number, requestedEpoch: number): (EpochEndOffset & { errorCode: number }) | null {
    return this.replica.leader?.onOffsetForLeaderEpoch(currentLeaderEpoch, requestedEpoch) ?? null;
  }

  // ---- Follower -------------------------------------------------------------------------------

  nextFollowerRequest(): OffsetForLeaderEpochRequest | FetchRequest | undefined {
    return this.replica.follower?.nextRequest();
  }

  /** The leader's OffsetForLeaderEpoch answer: truncate as the follower logic says. */
  onEpochAnswer(request: OffsetForLeaderEpochRequest, answer: EpochEndOffset & { errorCode: number }): Promise<void> {
    return this.inOrder(async () => {
      const follower = this.replica.follower;
      if (!follower) return;
      await this.apply(follower.onOffsetForLeaderEpochAnswer(request, answer), Buffer.alloc(0));
    });
  }

  /** The leader's Fetch answer with its records: append, truncate and move the HW, in order. */
  onFetchAnswer(request: FetchRequest, answer: ReplicaFetchAnswer, records: Buffer): Promise<void> {
    return this.inOrder(async () => {
      const follower = this.replica.follower;
      if (!follower) return;
      const views = [...iterateBatches(records)];
      const batches = views.map((view) => ({ nextOffset: view.lastOffset + 1, epoch: view.partitionLeaderEpoch }));
      await this.apply(follower.onFetchAnswer(request, answer, batches), records, views);
    });
  }

  /** Waiting requests fail (NOT_LEADER_OR_FOLLOWER); the partition is closing or moving away. */
  close(): void {
    this.closed = true;
    this.handle(this.replica.close());
    this.partition.appendObserver = null;
    this.partition.replicated = false;
  }

  // ---- Internals ------------------------------------------------------------------------------

  private async apply(effects: FollowerEffect[], records: Buffer, views: RecordBatchView[] = []): Promise<void> {
    const log = this.partition.log;
    for (const effect of effects) {
      if (this.closed) return;
      switch (effect.kind) {
        case 'truncate': {
          const before = log.logEndOffset;
          await log.truncateTo(effect.endOffset);
          this.partition.producers.state.truncateTo(effect.endOffset);
          this.partition.lowerHighWatermarkTo(log.logEndOffset);
          // The disk cuts at a batch boundary; should that be below the logic's point, follow the disk.
          if (log.logEndOffset < this.replica.log.logEndOffset) this.replica.log.truncateTo(log.logEndOffset);
          if (log.logEndOffset < before) this.logger.info('follower truncated', { partition: this.key, from: before, to: log.logEndOffset });
          break;
        }
        case 'append': {
          const chosen = views.filter((view) => view.baseOffset >= effect.fromOffset && view.lastOffset < effect.toOffset);
          if (chosen.length === 0) break;
          const first = chosen[0]!;
          const last = chosen.at(-1)!;
          const start = first.bytes().byteOffset - records.byteOffset;
          const end = last.bytes().byteOffset - records.byteOffset + last.sizeBytes;
          await log.appendReplicated(records.subarray(start, end));
          for (const view of chosen) {
            this.partition.producers.state.applyLogBatch({
              baseOffset: view.baseOffset, lastOffsetDelta: view.lastOffsetDelta, producerId: view.producerId, producerEpoch: view.producerEpoch,
              baseSequence: view.baseSequence, maxTimestamp: view.maxTimestamp, isTransactional: view.isTransactional, isControl: view.isControl,
            });
          }
          break;
        }
        case 'high-watermark':
          this.partition.setHighWatermark(effect.highWatermark);
          break;
      }
    }
    this.onLocalFlush();
  }

  /** What is fsynced locally counts (flush=sync) toward the HW and the follower's next fetch. */
  private onLocalFlush(): void {
    const flushed = this.partition.log.flushedOffset;
    const leader = this.replica.leader;
    if (leader) this.handle(leader.onFlushed(flushed));
    else this.replica.follower?.onFlushed(flushed);
  }

  private handle(actions: LeaderAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'produce-done': {
          const resolve = this.waiting.get(action.requestId);
          this.waiting.delete(action.requestId);
          resolve?.(action.errorCode);
          break;
        }
        case 'alter-partition':
          this.host.sendAlterPartition(this, action.request);
          break;
        case 'high-watermark':
          this.partition.setHighWatermark(action.highWatermark);
          break;
      }
    }
  }

  private inOrder(work: () => Promise<void>): Promise<void> {
    const next = this.followerChain.then(work);
    this.followerChain = next.catch(() => undefined);
    return next;
  }

  /** A duplicate's original must be committed before it is acknowledged again. */
  private async waitForHighWatermark(requiredOffset: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + Math.min(timeoutMs, duplicateWaitMsMax);
    // Bounded by the deadline: every round waits for new data or the remaining time.
    while (this.partition.highWatermark < requiredOffset) {
      if (!this.replica.leader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return ErrorCode.REQUEST_TIMED_OUT;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { cancel(); resolve(); }, Math.min(remainingMs, 100));
        const cancel = this.partition.onNewData(() => { clearTimeout(timer); resolve(); });
      });
    }
    return ErrorCode.NONE;
  }
}
