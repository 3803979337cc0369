// Flow control for acks=all producers on a partition leader. The bytes a leader holds above its
// high watermark are what its followers still have to fetch. Left unbounded (a client with many
// requests in flight, librdkafka's default), that backlog outgrows one follower fetch (4 MiB per
// partition), so no fetch ever reaches the leader's end, the followers count as lagging and leave
// the ISR one after the other although they keep pace, until acks=all fails with
// NOT_ENOUGH_REPLICAS: a healthy cluster refusing writes under load. So an acks=all request that
// would take the backlog past the limit waits here, before it is appended, until the HW has moved
// far enough; waiting requests go in arrival order, and a new one never passes them. acks=0 and
// acks=1 requests are not held (they asked not to wait for the followers) but their bytes count.
// Pure: time comes in as nowMs; the driver resolves what these methods return.
import { replicaFetchPartitionMaxBytes } from './types.ts';

export interface BacklogWaiter {
  readonly id: number;
  readonly bytes: number;
  readonly deadlineMs: number;
}

interface AppendedRun {
  readonly endOffset: number;
  readonly bytes: number;
}

const COMPACT_AT = 1024;

/** A backlog no larger than one follower fetch of the partition is fetched whole. */
export const defaultReplicaBacklogMaxBytes = replicaFetchPartitionMaxBytes;

export class AppendBacklog {
  private runs: AppendedRun[] = [];
  private head = 0;
  private appendedBytes = 0;
  /** Admitted (or not held) requests whose append has not happened yet. */
  private reservedBytes = 0;
  /** Admitted waiters that have not started their append: a newcomer must not pass them. */
  private admittedNotStarted = 0;
  private queue: BacklogWaiter[] = [];

  /** limitBytes <= 0: nothing is ever held. */
  constructor(private readonly limitBytes: number) {}

  /** Bytes above the HW, plus those admitted and about to be appended. */
  get bytes(): number {
    return this.appendedBytes + this.reservedBytes;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /**
   * An acks=all request of `bytes` arrives: true if it may append now (its bytes are then reserved
   * until `appended` or `release`), false if it must `enqueue` and wait.
   */
  tryAdmit(bytes: number): boolean {
    if (this.queue.length > 0 || this.admittedNotStarted > 0 || !this.fits(bytes)) return false;
    this.reservedBytes += bytes;
    return true;
  }

  /** Reserves the bytes of a request that is never held (acks=0, acks=1). */
  reserve(bytes: number): void {
    this.reservedBytes += bytes;
  }

  enqueue(waiter: BacklogWaiter): void {
    this.queue.push(waiter);
  }

  /** An admitted waiter is about to append (or gave up): newcomers may be admitted again. */
  started(): void {
    if (this.admittedNotStarted > 0) this.admittedNotStarted--;
  }

  /** A reserved request's bytes are in the log, which now ends at `endOffset`. */
  appended(endOffset: number, bytes: number): void {
    this.reservedBytes = Math.max(0, this.reservedBytes - bytes);
    this.appendedBytes += bytes;
    this.runs.push({ endOffset, bytes });
  }

  /** A reserved request was not appended (refused, duplicate, failed). */
  release(bytes: number): void {
    this.reservedBytes = Math.max(0, this.reservedBytes - bytes);
  }

  /** The HW moved: forget what it covers; returns the waiters admitted now, in order (reserved). */
  onHighWatermark(highWatermark: number): BacklogWaiter[] {
    while (this.head < this.runs.length && this.runs[this.head]!.endOffset <= highWatermark) {
      this.appendedBytes -= this.runs[this.head]!.bytes;
      this.head++;
    }
    if (this.head >= COMPACT_AT && this.head * 2 >= this.runs.length) {
      this.runs = this.runs.slice(this.head);
      this.head = 0;
    }
    return this.admit();
  }

  /** Waiters whose deadline passed (answer REQUEST_TIMED_OUT: nothing was appended). */
  takeExpired(nowMs: number): BacklogWaiter[] {
    if (this.queue.length === 0 || this.queue.every((waiter) => waiter.deadlineMs > nowMs)) return [];
    const expired = this.queue.filter((waiter) => waiter.deadlineMs <= nowMs);
    this.queue = this.queue.filter((waiter) => waiter.deadlineMs > nowMs);
    return expired;
  }

  private admit(): BacklogWaiter[] {
    const admitted: BacklogWaiter[] = [];
    while (this.queue.length > 0 && this.fits(this.queue[0]!.bytes)) {
      const waiter = this.queue.shift()!;
      this.reservedBytes += waiter.bytes;
      this.admittedNotStarted++;
      admitted.push(waiter);
    }
    return admitted;
  }

  /** Leadership ended: every waiter is returned (answer NOT_LEADER_OR_FOLLOWER) and the count restarts. */
  clear(): BacklogWaiter[] {
    const waiters = this.queue;
    this.queue = [];
    this.runs = [];
    this.head = 0;
    this.appendedBytes = 0;
    this.reservedBytes = 0;
    this.admittedNotStarted = 0;
    return waiters;
  }

  /** One request larger than the limit still goes alone, once nothing else is outstanding. */
  private fits(bytes: number): boolean {
    const outstanding = this.bytes;
    return this.limitBytes <= 0 || outstanding === 0 || outstanding + bytes <= this.limitBytes;
  }
}
