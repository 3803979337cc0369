// This replica's local log as the replication logic sees it: offsets and epochs, never bytes. The
// driver keeps it in step with the storage layer (it applies every effect to the real log first,
// then to this mirror, as the effects' comments say). With flush=sync only fsynced data counts
// for the high watermark, so the mirror tracks the flushed offset apart from the end offset.
import { EpochHistory } from '../storage/epoch-history.ts';
import type { EpochEntry } from '../storage/epoch-history.ts';

export interface ReplicaLogSnapshot {
  logStartOffset: number;
  logEndOffset: number;
  /** Everything below this offset is fsynced. */
  flushedOffset: number;
  /** The high watermark from the checkpoint file; clamped to the log end offset. */
  highWatermark: number;
  epochs: readonly EpochEntry[];
}

export class ReplicaLog {
  readonly epochs: EpochHistory;
  logStartOffset: number;
  logEndOffset: number;
  flushedOffset: number;
  highWatermark: number;

  constructor(snapshot: ReplicaLogSnapshot) {
    if (!(snapshot.logStartOffset <= snapshot.logEndOffset)) throw new Error(`log start ${snapshot.logStartOffset} past end ${snapshot.logEndOffset}`);
    this.epochs = new EpochHistory(snapshot.epochs);
    this.logStartOffset = snapshot.logStartOffset;
    this.logEndOffset = snapshot.logEndOffset;
    this.flushedOffset = Math.min(snapshot.flushedOffset, snapshot.logEndOffset);
    // A checkpointed HW above what the disk kept (power loss) would expose data we do not have.
    this.highWatermark = Math.max(snapshot.logStartOffset, Math.min(snapshot.highWatermark, snapshot.logEndOffset));
    this.epochs.truncateFromEnd(this.logEndOffset);
  }

  /** Offsets [logEndOffset, nextOffset) were appended, written in `epoch`. */
  appended(nextOffset: number, epoch: number): void {
    if (!(nextOffset > this.logEndOffset)) throw new Error(`append must move the end forward: ${this.logEndOffset} -> ${nextOffset}`);
    if (epoch !== this.epochs.latestEpoch()) this.epochs.assign(epoch, this.logEndOffset);
    if (this.epochs.latestEpoch() !== epoch) throw new Error(`batch epoch ${epoch} is older than the log's latest ${this.epochs.latestEpoch()}`);
    this.logEndOffset = nextOffset;
  }

  flushed(offset: number): void {
    this.flushedOffset = Math.max(this.flushedOffset, Math.min(offset, this.logEndOffset));
  }

  /**
   * Cuts the log back to `endOffset`, and the epoch history with it (even at the current end: an
   * epoch that starts there wrote nothing). Returns whether anything changed.
   */
  truncateTo(endOffset: number): boolean {
    if (endOffset > this.logEndOffset) return false;
    const shortened = endOffset < this.logEndOffset;
    this.logEndOffset = Math.max(endOffset, this.logStartOffset);
    this.flushedOffset = Math.min(this.flushedOffset, this.logEndOffset);
    this.highWatermark = Math.min(this.highWatermark, this.logEndOffset);
    return this.epochs.truncateFromEnd(this.logEndOffset) || shortened;
  }

  /**
   * The log now starts at `offset` (retention or DeleteRecords here, or the leader's log start
   * for a follower), never past its end. Returns whether it moved.
   */
  startMovedTo(offset: number): boolean {
    const start = Math.min(offset, this.logEndOffset);
    if (start <= this.logStartOffset) return false;
    this.logStartOffset = start;
    this.highWatermark = Math.max(this.highWatermark, start);
    this.epochs.truncateFromStart(start);
    return true;
  }

  /** The log was emptied and starts again at `offset`, past its old end (storage's restartAt). */
  restartAt(offset: number): void {
    if (!(offset >= this.logEndOffset)) throw new Error(`restart at ${offset} must not go below the log end ${this.logEndOffset}`);
    this.epochs.truncateFromEnd(0);
    this.logStartOffset = offset;
    this.logEndOffset = offset;
    this.flushedOffset = offset;
    this.highWatermark = offset;
  }

  /** The end offset that may count toward the HW: flushed for flush=sync, written otherwise. */
  durableEndOffset(flushSync: boolean): number {
    return flushSync ? this.flushedOffset : this.logEndOffset;
  }
}
