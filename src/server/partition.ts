import type { PartitionLog } from '../storage/partition-log.ts';
import type { LogConfig } from '../storage/log-config.ts';

export interface AppendOutcome {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

/**
 * One partition hosted by this node: its log, its high watermark and the fetches waiting for data.
 * On a single node the high watermark follows the log end once an append is durable by the topic's
 * flush policy; with replication it follows the ISR (issue 5).
 */
export class Partition {
  private highWatermarkOffset: number;
  private readonly waiters = new Set<() => void>();
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
  ) {
    this.highWatermarkOffset = log.logEndOffset;
    this.maxMessageBytes = config.maxMessageBytes;
  }

  /** The in-sync replicas as the metadata image last said. */
  isr: number[] = [];

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

  /** Appends validated batches as leader; resolves when durable per the flush policy and visible to consumers. */
  append(batches: Buffer): Promise<AppendOutcome> {
    const appended = this.log.append(batches, this.leaderEpoch);
    const visible = appended.then((result) => {
      this.advanceHighWatermark(result.lastOffset + 1);
      return result;
    });
    this.appendChain = visible.catch(() => undefined);
    return visible;
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

  wakeWaiters(): void {
    if (this.waiters.size === 0) return;
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiting) waiter();
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
    await this.log.close();
  }
}
