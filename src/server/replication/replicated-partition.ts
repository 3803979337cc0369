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
import { recordIsrExpand, recordIsrShrink, recordLeaderElection, recordProduceBacklogWait } from '../../admin/metrics.ts';
import { AppendBacklog, defaultReplicaBacklogMaxBytes } from '../../replication/append-backlog.ts';
import type { AppendOutcome, Partition } from '../partition.ts';

export interface ReplicatedPartitionHost {
  nowMs(): number;
  /** Send to the active controller; feed the answer to onAlterPartitionResult (resend on no answer). */
  sendAlterPartition(partition: ReplicatedPartition, request: AlterPartitionRequest): void;
  /** The follower has a request to send: wake the fetcher of its leader. */
  wakeFetcher(leaderId: number): void;
  /** This replica lost data and is in the committed ISR: tell the controller (until it is out of the ISR). */
  reportLostData(partition: ReplicatedPartition): void;
  /** replica.backlog.max.bytes (default 4 MiB; 0: acks=all requests are never held). */
  readonly replicaBacklogMaxBytes?: number;
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
  private produceInFlight: { requestId: number; acks: Acks; timeoutMs: number; reservedBytes: number } | undefined;
  /** acks=all flow control as leader (see append-backlog.ts), with the answer of each waiting request. */
  private readonly backlog: AppendBacklog;
  private readonly backlogWaiters = new Map<number, (errorCode: number) => void>();
  private nextBacklogWaiterId = 1;
  /**
   * This replica lacks data it held (recovery cut damaged or unflushed bytes, or a read found a
   * batch failing its CRC): from this offset on. Until committed metadata shows it outside the
   * ISR it must not act as leader (it could answer followers with a log that lacks committed
   * data and make them truncate theirs); the controller is told (ReplicaLostData).
   */
  private lostFrom: number | null = null;
  /** The loss is only what a crash with flush=async left unflushed (no damage found). */
  private lossUnflushedOnly = false;
  /** Damaged bytes from this offset on: cut before fetching again as follower, then refetched. */
  private repairFrom: number | null = null;
  private repairing = false;

  constructor(
    readonly partition: Partition,
    readonly localId: number,
    config: ReplicationConfig,
    private readonly host: ReplicatedPartitionHost,
    private readonly logger: Logger,
    /** This partition's HW from replication-offset-checkpoint, if it has an entry. */
    checkpointedHighWatermark?: number,
  ) {
    const log = partition.log;
    this.backlog = new AppendBacklog(host.replicaBacklogMaxBytes ?? defaultReplicaBacklogMaxBytes);
    // The HW starts at the checkpointed one (a real HW once, so committed), never at the log end: a
    // just-opened log's tail may never have reached the other replicas. ReplicaLog clamps it to
    // the log end (power loss can cut below it). Without a checkpoint: the log start, so nothing
    // held here counts as committed until a leader (or, leading, its ISR) says so.
    partition.lowerHighWatermarkTo(log.logStartOffset);
    this.replica = new PartitionReplica(localId, config, new ReplicaLog({
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      flushedOffset: log.flushedOffset,
      highWatermark: checkpointedHighWatermark ?? log.logStartOffset,
      epochs: log.epochEntries(),
    }));
    partition.setHighWatermark(this.replica.log.highWatermark);
    partition.replicated = true;
    partition.appendObserver = (nextOffset, written) => this.onLeaderAppend(nextOffset, written);
    // Followers long-polling fetch what is written at once: their copy and fsync overlap ours.
    partition.log.onReadable = () => {
      if (this.replica.leader) this.partition.wakeReplicaWaiters();
    };
    if (log.recoveryLoss !== null) {
      this.lostFrom = log.recoveryLoss.fromOffset;
      this.lossUnflushedOnly = log.recoveryLoss.unflushedOnly;
    }
    // A log ending below a HW it had checkpointed lost committed data, whatever recovery saw (after
    // a crash with flush=async that is what went unflushed; otherwise damage).
    if (checkpointedHighWatermark !== undefined && log.logEndOffset < checkpointedHighWatermark) {
      this.lostFrom = Math.min(this.lostFrom ?? log.logEndOffset, log.logEndOffset);
    }
    if (log.damage !== null) this.onDamage(log.damage.fromOffset);
    log.onDamage = (damage) => this.onDamage(damage.fromOffset);
  }

  /** Whether this replica lost data and the committed ISR still lists it (the controller must be told). */
  get mustLeaveIsr(): boolean {
    const state = this.replica.partitionState;
    return this.lostFrom !== null && !this.closed && state !== undefined && state.isr.includes(this.localId);
  }

  /** Lost data not yet confirmed out of the ISR: no leader duties (see lostFrom). */
  private get suspended(): boolean {
    return this.lostFrom !== null;
  }

  /** A read found damaged bytes from `fromOffset` on. */
  private onDamage(fromOffset: number): void {
    if (this.closed) return;
    this.logger.error('replica holds damaged data; leaving the ISR and repairing from the leader', { partition: this.key, fromOffset });
    this.lostFrom = Math.min(this.lostFrom ?? fromOffset, fromOffset);
    this.lossUnflushedOnly = false;
    this.repairFrom = Math.min(this.repairFrom ?? fromOffset, fromOffset);
    this.checkLoss();
    const follower = this.replica.follower;
    if (follower) this.host.wakeFetcher(follower.leaderId);
  }

  /** Reports the loss while the ISR lists us; forgets it once committed metadata does not. */
  private checkLoss(): void {
    const state = this.replica.partitionState;
    if (this.lostFrom === null || state === undefined) return;
    if (state.replicas.length <= 1) {
      // No other replica to repair from or to protect: serving what is intact beats going offline.
      this.logger.warn('single replica lost data; nothing to repair it from', { partition: this.key, fromOffset: this.lostFrom });
      this.lostFrom = null;
      return;
    }
    if (!state.isr.includes(this.localId)) {
      this.logger.info('out of the ISR after losing data; rejoins once caught up', { partition: this.key, fromOffset: this.lostFrom, isr: state.isr, leader: state.leader });
      this.lostFrom = null;
      return;
    }
    if (this.lossUnflushedOnly && state.isr.length === 1) {
      // The last in-sync replica, back from a crash with flush=async: the others left the ISR
      // before it, so leaving too would keep the partition offline until an unclean election, and
      // after a whole-cluster crash that is every partition. Its flushed log is what that flush
      // mode promises to keep (Kafka elects the last ISR member the same way).
      this.logger.warn('last in-sync replica back from a crash with flush=async: it stays in the ISR with what it had flushed; acknowledged writes it had not flushed are lost', { partition: this.key, fromOffset: this.lostFrom });
      this.lostFrom = null;
      return;
    }
    this.host.reportLostData(this);
  }

  get key(): string {
    return `${this.partition.topic}-${this.partition.partition}`;
  }

  /** Committed metadata for this partition; stale or repeated states change nothing. */
  onMetadata(state: PartitionState): void {
    const ledBefore = this.replica.leader;
    const ledEpoch = ledBefore?.leaderEpoch;
    const outcome = this.replica.onMetadata(state, this.host.nowMs());
    if (!outcome.accepted) return;
    this.checkLoss();
    this.handle(outcome.actions);
    const leader = this.replica.leader;
    if (leader !== ledBefore) this.answerBacklogWaiters(this.backlog.clear(), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (leader && leader.leaderEpoch !== ledEpoch) recordLeaderElection();
    if (leader && outcome.epochsChanged) this.persistLeaderEpoch(leader.leaderEpoch);
    if (leader) {
      // An ISR of one (or followers already caught up) lets the HW reach the durable end at once.
      this.handle(leader.onFlushed(this.partition.log.flushedOffset));
      this.partition.wakeWaiters();
      this.partition.wakeReplicaWaiters();
    } else if (this.replica.follower) {
      // Followers still long-polling here as if we led are answered NOT_LEADER_OR_FOLLOWER now.
      this.partition.wakeReplicaWaiters();
      this.host.wakeFetcher(state.leader);
    }
  }

  tick(): void {
    const nowMs = this.host.nowMs();
    this.answerBacklogWaiters(this.backlog.takeExpired(nowMs), ErrorCode.REQUEST_TIMED_OUT);
    this.handle(this.replica.tick(nowMs));
  }

  /**
   * The topic's replication config as the image now says (min.insync.replicas, flush): applies at
   * once, not at the next leader epoch; unchanged values change nothing.
   */
  onConfig(config: ReplicationConfig): void {
    const current = this.replica.replicationConfig;
    if (current.minInsyncReplicas === config.minInsyncReplicas && current.flushSync === config.flushSync && current.replicaLagTimeMaxMs === config.replicaLagTimeMaxMs) return;
    this.logger.info('replication config changed', { partition: this.key, minInsyncReplicas: config.minInsyncReplicas, flushSync: config.flushSync });
    this.handle(this.replica.onConfig(config));
    // A follower that waited for an fsync under flush=sync may fetch at once now.
    const follower = this.replica.follower;
    if (follower) this.host.wakeFetcher(follower.leaderId);
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
  async produce(records: Buffer, acks: Acks, timeoutMs: number, framed?: readonly RecordBatchView[]): Promise<ProduceAnswer> {
    const leader = this.replica.leader;
    if (!leader || leader.leaderEpoch !== this.partition.leaderEpoch || this.suspended) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    let refused = leader.checkProduce(acks);
    if (refused !== ErrorCode.NONE) return { errorCode: refused };
    const bytes = records.length;
    if (acks !== -1) this.backlog.reserve(bytes);
    else if (!this.backlog.tryAdmit(bytes)) {
      // Held before the append, so an answer other than NONE means nothing was written.
      const startMs = this.host.nowMs();
      const waited = await this.waitForBacklog(bytes, startMs + timeoutMs);
      if (waited !== ErrorCode.NONE) return { errorCode: waited };
      // A new leadership cleared the backlog: nothing of this request is counted there any more.
      const stillLeader = this.replica.leader === leader;
      if (stillLeader) this.backlog.started();
      refused = !stillLeader || leader.leaderEpoch !== this.partition.leaderEpoch || this.suspended ? ErrorCode.NOT_LEADER_OR_FOLLOWER : leader.checkProduce(acks);
      if (refused !== ErrorCode.NONE) {
        if (stillLeader) this.backlog.release(bytes);
        return { errorCode: refused };
      }
      timeoutMs = Math.max(1, startMs + timeoutMs - this.host.nowMs());
    }
    const requestId = this.nextRequestId++;
    const answered = new Promise<number>((resolve) => this.waiting.set(requestId, resolve));
    // The append observer (onLeaderAppend) picks this up synchronously if the batch is appended.
    const inFlight = { requestId, acks, timeoutMs, reservedBytes: bytes };
    this.produceInFlight = inFlight;
    let appending: Promise<AppendOutcome>;
    try {
      appending = this.partition.append(records, framed);
    } finally {
      this.produceInFlight = undefined;
      // Not appended (a duplicate, a refusal): its bytes never reach the followers.
      if (inFlight.reservedBytes > 0) this.backlog.release(inFlight.reservedBytes);
    }
    let appended: AppendOutcome;
    try {
      appended = await appending;
    } catch (error) {
      this.waiting.delete(requestId);
      throw error;
    }
    if (appended.duplicate || acks === 0) this.waiting.delete(requestId);
    if (appended.duplicate) return { errorCode: await this.waitForHighWatermark(appended.lastOffset + 1, timeoutMs, leader.leaderEpoch), appended };
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
    if (produce !== undefined) {
      this.backlog.appended(nextOffset, produce.reservedBytes);
      produce.reservedBytes = 0;
    }
    this.handle(leader.onAppend(nextOffset, this.host.nowMs(), produce));
    // Followers long-polling were woken when the bytes became readable (log.onReadable); with
    // flush=sync the batch counts for the HW once fsynced here too (a HW move wakes consumers).
    void written.then(() => this.onLocalFlush());
  }

  /** A follower's Fetch: the answer and the records to send ([readFrom, readTo), whole batches, capped). */
  async onReplicaFetch(request: ReplicaFetchRequest, maxBytes: number): Promise<{ answer: ReplicaFetchAnswer; records: Buffer }> {
    const leader = this.replica.leader;
    const empty = Buffer.alloc(0);
    if (!leader || this.suspended) {
      return { answer: { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1, logStartOffset: -1, logEndOffset: -1, readFromOffset: request.fetchOffset, readToOffset: request.fetchOffset }, records: empty };
    }
    // Retention and DeleteRecords move the log start in storage; the leader logic answers with it.
    this.replica.log.startMovedTo(this.partition.log.logStartOffset);
    const { answer, actions } = leader.onFetch(request, this.host.nowMs());
    this.handle(actions);
    if (answer.errorCode !== ErrorCode.NONE || answer.divergingEpoch !== undefined || answer.readToOffset <= answer.readFromOffset || maxBytes <= 0) return { answer, records: empty };
    const read = await this.partition.log.readForReplica(answer.readFromOffset, maxBytes, answer.readToOffset);
    return { answer, records: read.records };
  }

  onOffsetForLeaderEpoch(currentLeaderEpoch: number, requestedEpoch: number): (EpochEndOffset & { errorCode: number }) | null {
    if (this.suspended) return null;
    return this.replica.leader?.onOffsetForLeaderEpoch(currentLeaderEpoch, requestedEpoch) ?? null;
  }

  // ---- Follower -------------------------------------------------------------------------------

  nextFollowerRequest(): OffsetForLeaderEpochRequest | FetchRequest | undefined {
    const follower = this.replica.follower;
    if (!follower) return undefined;
    if (this.repairFrom !== null) {
      this.startRepair(follower.leaderId);
      return undefined;
    }
    return follower.nextRequest();
  }

  /**
   * Cuts the damaged bytes (and everything after them) before the next fetch; the follower then
   * fetches them again from the leader. In the follower chain, so no answer is applied meanwhile;
   * answers to fetches sent before the cut are stale afterwards and ignored by the logic.
   */
  private startRepair(leaderId: number): void {
    if (this.repairing) return;
    this.repairing = true;
    void this.inOrder(async () => {
      const from = this.repairFrom;
      if (from === null || this.closed || !this.replica.follower) return;
      const log = this.partition.log;
      const before = log.logEndOffset;
      await log.truncateTo(from);
      this.partition.producers.state.truncateTo(log.logEndOffset);
      this.partition.lowerHighWatermarkTo(log.logEndOffset);
      this.replica.log.truncateTo(log.logEndOffset);
      this.repairFrom = null;
      this.logger.warn('cut damaged data; refetching it from the leader', { partition: this.key, from: before, to: log.logEndOffset });
    }).catch((error: unknown) => {
      this.logger.error('could not cut damaged data', { partition: this.key, error: (error as Error).message });
    }).finally(() => {
      this.repairing = false;
      this.host.wakeFetcher(leaderId);
    });
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
      const views = iterateBatches(records);
      const batches = views.map((view) => ({ nextOffset: view.lastOffset + 1, epoch: view.partitionLeaderEpoch }));
      await this.apply(follower.onFetchAnswer(request, answer, batches), records, views);
    });
  }

  /** Waiting requests fail (NOT_LEADER_OR_FOLLOWER); the partition is closing or moving away. */
  close(): void {
    this.closed = true;
    this.answerBacklogWaiters(this.backlog.clear(), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.handle(this.replica.close());
    this.partition.appendObserver = null;
    this.partition.log.onReadable = null;
    this.partition.log.onDamage = null;
    this.partition.replicated = false;
  }

  // ---- Internals ------------------------------------------------------------------------------

  /**
   * The new epoch goes into leader-epoch-checkpoint now, in the log's write queue, so it is fsynced
   * before any batch of it is written (and so before any is acknowledged), as the mirror has it.
   */
  private persistLeaderEpoch(epoch: number): void {
    try {
      void this.partition.log.assignLeaderEpoch(epoch).catch((error: unknown) => {
        this.logger.error('persisting the new leader epoch failed', { partition: this.key, epoch, error: (error as Error).message });
      });
    } catch (error) {
      // A failed or closing log refuses; its appends are refused as well.
      this.logger.warn('cannot persist the new leader epoch', { partition: this.key, epoch, error: (error as Error).message });
    }
  }

  private async apply(effects: FollowerEffect[], records: Buffer, views: RecordBatchView[] = []): Promise<void> {
    const log = this.partition.log;
    for (const effect of effects) {
      if (this.closed) return;
      switch (effect.kind) {
        case 'truncate': {
          const before = log.logEndOffset;
          // The producer state first, for the reason given at 'append': a retry that reaches this
          // replica as new leader meanwhile must not be matched with a batch being cut away.
          this.partition.producers.state.truncateTo(effect.endOffset);
          await log.truncateTo(effect.endOffset);
          this.partition.producers.state.truncateTo(log.logEndOffset);
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
          const endBefore = log.logEndOffset;
          // The log end moves before the first await (the write and its fsync come after). The
          // producer state must move in the same step: leadership can arrive while this append is
          // being fsynced, and a new leader that does not know these batches takes a producer's
          // retry of one for new data and appends it twice (found by a 30-minute fault run).
          const appending = log.appendReplicated(records.subarray(start, end));
          if (log.logEndOffset > endBefore) {
            for (const view of chosen) {
              this.partition.producers.state.applyLogBatch({
                baseOffset: view.baseOffset, lastOffsetDelta: view.lastOffsetDelta, producerId: view.producerId, producerEpoch: view.producerEpoch,
                baseSequence: view.baseSequence, maxTimestamp: view.maxTimestamp, isTransactional: view.isTransactional, isControl: view.isControl,
              });
            }
          }
          await appending;
          break;
        }
        case 'high-watermark':
          this.partition.setHighWatermark(effect.highWatermark);
          break;
        case 'log-start':
          await this.partition.deleteRecordsBefore(effect.offset);
          break;
        case 'restart': {
          const before = log.logEndOffset;
          // Kafka forgets every producer here too: their batches are gone with the log.
          this.partition.producers.state.truncateTo(0);
          await log.restartAt(effect.offset);
          this.partition.setHighWatermark(effect.offset);
          this.logger.warn('follower log ended below the leader\'s log start (deleted there); emptied it and fetching from the leader\'s start', { partition: this.key, logEndOffset: before, leaderLogStartOffset: effect.offset });
          break;
        }
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
          // A replica that lost data changes no ISR (it would shrink the ISR to itself); it leaves.
          if (!this.suspended) this.host.sendAlterPartition(this, action.request);
          break;
        case 'high-watermark':
          this.partition.setHighWatermark(action.highWatermark);
          this.answerBacklogWaiters(this.backlog.onHighWatermark(action.highWatermark), ErrorCode.NONE);
          break;
        case 'isr-changed':
          if (action.shrunk.length > 0) recordIsrShrink();
          if (action.expanded.length > 0) recordIsrExpand();
          break;
      }
    }
  }

  /** Waits until the backlog admits `bytes` (NONE), the deadline passes or leadership ends. */
  private waitForBacklog(bytes: number, deadlineMs: number): Promise<number> {
    recordProduceBacklogWait();
    const id = this.nextBacklogWaiterId++;
    const answer = new Promise<number>((resolve) => this.backlogWaiters.set(id, resolve));
    this.backlog.enqueue({ id, bytes, deadlineMs });
    return answer;
  }

  private answerBacklogWaiters(waiters: readonly { id: number }[], errorCode: number): void {
    for (const waiter of waiters) {
      const resolve = this.backlogWaiters.get(waiter.id);
      this.backlogWaiters.delete(waiter.id);
      resolve?.(errorCode);
    }
  }

  private inOrder(work: () => Promise<void>): Promise<void> {
    const next = this.followerChain.then(work);
    this.followerChain = next.catch(() => undefined);
    return next;
  }

  /**
   * A duplicate's original must be committed before it is acknowledged again, and by this leader
   * in `leaderEpoch`, which holds the original: once the leadership moved, this node may have cut
   * the original away as a follower while its HW (now the new leader's) passed those offsets — a
   * 30-minute fault run found such a retry acknowledged at offsets that held other records.
   */
  private async waitForHighWatermark(requiredOffset: number, timeoutMs: number, leaderEpoch: number): Promise<number> {
    const deadline = Date.now() + Math.min(timeoutMs, duplicateWaitMsMax);
    // Bounded by the deadline: every round waits for new data or the remaining time.
    for (;;) {
      const leader = this.replica.leader;
      if (!leader || leader.leaderEpoch !== leaderEpoch) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
      if (this.partition.highWatermark >= requiredOffset) return ErrorCode.NONE;
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return ErrorCode.REQUEST_TIMED_OUT;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { cancel(); resolve(); }, Math.min(remainingMs, 100));
        const cancel = this.partition.onNewData(() => { clearTimeout(timer); resolve(); });
      });
    }
  }
}
