import { iterateBatches, type RecordBatchView } from '../protocol/record-batch.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { LogConfig } from '../storage/log-config.ts';
import { ProducerStateError, type PartitionProducers } from './partition-producers.ts';

export interface AppendOutcome {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** A producer's retry of a batch already stored: the offsets are the original ones, nothing was appended. */
  duplicate?: boolean;
}

/**
 * One partition hosted by this node: its log, its high watermark and the fetches waiting for data.
 * On a single node the high watermark follows the log end once an append is durable by the topic's
 * flush policy; with replication it follows the ISR (issue 5).
 */
export class Partition {
  private highWatermarkOffset: number;
  private readonly waiters = new Set<() => void>();
  private readonly replicaWaiters = new Set<() => void>();
  /** Appends are chained so that the high watermark only ever moves forward, in offset order. */
  private appendChain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly partition: number,
    readonly log: PartitionLog,
    public leaderEpoch: number,
    config: LogConfig,
    public minInsyncReplicas: number,
    readonly producers: PartitionProducers,
  ) {
    this.highWatermarkOffset = log.logEndOffset;
    this.maxMessageBytes = config.maxMessageBytes;
  }

  /** The in-sync replicas as the metadata image last said. */
  isr: number[] = [];

  /** The leader as the metadata image last said (-1: none). */
  leader = -1;

  /**
   * Set by partition replication (src/server/replication/): the high watermark then follows the
   * ISR through setHighWatermark, never the local log end, and a duplicate is answered at once
   * (the replication driver waits for the HW to pass it).
   */
  replicated = false;

  /**
   * Told of every leader append, synchronously once its offsets are assigned (so replication sees
   * appends in offset order, the group coordinator's as well as produced ones), with the promise
   * that settles once the batch is written.
   */
  appendObserver: ((nextOffset: number, written: Promise<unknown>) => void) | null = null;

  /** Largest batch accepted, in bytes including the 12-byte log overhead (max.message.bytes). */
  maxMessageBytes: number;

  get highWatermark(): number {
    return this.highWatermarkOffset;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  /**
   * Appends validated batches as leader; resolves when durable per the flush policy and visible to
   * consumers. Idempotent batches are checked against the producer state first, and the check, the
   * offset assignment and the recording happen in one synchronous step, so no other append to this
   * partition can slip in between. A duplicate resolves with the original offsets; a refused
   * batch rejects with a ProducerStateError carrying the Kafka error code.
   */
  append(batches: Buffer, framed?: readonly RecordBatchView[]): Promise<AppendOutcome> {
    // Produce passes the views validateBatches made; other writers (the coordinator) are framed here.
    const views = framed ?? iterateBatches(batches);
    const admission = this.producers.admit(views);
    if (admission.kind === 'error') return Promise.reject(new ProducerStateError(admission.errorCode, admission.message));
    if (admission.kind === 'duplicate') return this.answerDuplicate(admission.baseOffset, admission.lastOffset);
    const logEndBefore = this.log.logEndOffset;
    const appended = this.log.append(batches, this.leaderEpoch, framed);
    // PartitionLog.append assigns offsets before its first await; when it refused the batch the
    // log end did not move and there is nothing to remember.
    if (this.log.logEndOffset > logEndBefore) this.producers.recordAppended(views, admission.batches);
    // Replicated, the HW follows the ISR (setHighWatermark): nothing to do when the write lands.
    const visible = this.replicated ? appended : appended.then((result) => {
      this.advanceHighWatermark(result.lastOffset + 1);
      return result;
    });
    this.appendChain = visible.catch(() => undefined);
    if (this.log.logEndOffset > logEndBefore) this.appendObserver?.(this.log.logEndOffset, this.appendChain);
    return visible;
  }

  /**
   * Like Kafka, a duplicate is answered only once the original is visible: if the original is still
   * being written, wait for the appends in flight (they complete in offset order).
   */
  private async answerDuplicate(baseOffset: number, lastOffset: number): Promise<AppendOutcome> {
    if (this.replicated) {
      await this.appendChain;
      return { baseOffset, lastOffset, logAppendTimeMs: -1, logStartOffset: this.log.logStartOffset, duplicate: true };
    }
    if (lastOffset >= this.highWatermarkOffset) await this.appendChain;
    if (lastOffset >= this.highWatermarkOffset) throw new Error(`the original append of offsets ${baseOffset}..${lastOffset} did not complete`);
    return { baseOffset, lastOffset, logAppendTimeMs: -1, logStartOffset: this.log.logStartOffset, duplicate: true };
  }

  /** Replication's high watermark (leader: min end of the ISR; follower: the leader's, capped by ours). */
  setHighWatermark(offset: number): void {
    this.advanceHighWatermark(Math.min(offset, this.log.logEndOffset));
  }

  /**
   * Follower truncation cut the log below the high watermark we hold (it was set from an older
   * leader's answer, or assumed at start-up): the HW follows the log down.
   */
  lowerHighWatermarkTo(offset: number): void {
    if (offset < this.highWatermarkOffset) this.highWatermarkOffset = offset;
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.highWatermarkOffset) return;
    this.highWatermarkOffset = offset;
    this.wakeWaiters();
  }

  /** Reads whole batches from `offset` below `maxOffset` (the high watermark for consumers). */
  read(offset: number, maxBytes: number, maxOffset: number): Promise<{ records: Buffer; nextOffset: number }> {
    return this.log.read(offset, maxBytes, maxOffset);
  }

  /** Registers a callback for the next time new data becomes visible; returns a function that cancels it. */
  onNewData(callback: () => void): () => void {
    this.waiters.add(callback);
    return () => this.waiters.delete(callback);
  }

  /**
   * onNewData for a follower's fetch, which waits for bytes readable past its offset, not for the
   * high watermark: the HW moves and leader fsyncs that wake consumers would only make it read
   * nothing and wait again (three reads per produced batch instead of one).
   */
  onNewReplicaData(callback: () => void): () => void {
    this.replicaWaiters.add(callback);
    return () => this.replicaWaiters.delete(callback);
  }

  /** Consumers and other high-watermark waiters. */
  wakeWaiters(): void {
    wake(this.waiters);
  }

  /** Followers' fetches: new bytes are readable, or the leadership changed. */
  wakeReplicaWaiters(): void {
    wake(this.replicaWaiters);
  }

  updateConfig(config: LogConfig, minInsyncReplicas: number): void {
    this.log.updateConfig(config);
    this.maxMessageBytes = config.maxMessageBytes;
    this.minInsyncReplicas = minInsyncReplicas;
  }

  async deleteRecordsBefore(offset: number): Promise<number> {
    const start = await this.log.deleteRecordsBefore(offset);
    return start;
  }

  async close(): Promise<void> {
    await this.appendChain;
    this.wakeWaiters();
    this.wakeReplicaWaiters();
    await this.producers.settle();
    await this.log.close();
    await this.producers.close();
  }
}

function wake(waiters: Set<() => void>): void {
  if (waiters.size === 0) return;
  const waiting = [...waiters];
  waiters.clear();
  for (const waiter of waiting) waiter();
}
