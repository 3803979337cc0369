// Produce requests a leader holds until their acks are met, in two queues: acks=1 waits for the
// leader's durable end, acks=all for the high watermark. Appends arrive in offset order and both
// thresholds only grow, so each queue completes from its head: an event costs what it completes,
// not a scan of everything waiting (with a thousand requests in flight, that scan and the array
// it rebuilt on every append and fetch were a leading cost of the leader).
import type { Acks } from './types.ts';

export interface PendingProduce {
  readonly requestId: number;
  /** The offset after the batch: done when the threshold for its acks reaches this. */
  readonly requiredOffset: number;
  readonly deadlineMs: number;
  readonly acks: Acks;
}

const COMPACT_AT = 1024;

/** FIFO in requiredOffset order, with a moving head instead of shifting. */
class OffsetQueue {
  private items: PendingProduce[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(produce: PendingProduce): void {
    this.items.push(produce);
  }

  /** Removes and returns the leading entries whose requiredOffset <= `threshold`. */
  takeUpTo(threshold: number, into: PendingProduce[]): void {
    while (this.head < this.items.length && this.items[this.head]!.requiredOffset <= threshold) into.push(this.items[this.head++]!);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Removes and returns the entries matching `test`, keeping the order of the rest. */
  takeWhere(test: (produce: PendingProduce) => boolean, into: PendingProduce[]): void {
    const kept: PendingProduce[] = [];
    for (let index = this.head; index < this.items.length; index++) {
      const produce = this.items[index]!;
      if (test(produce)) into.push(produce);
      else kept.push(produce);
    }
    this.items = kept;
    this.head = 0;
  }
}

export class PendingProduces {
  private readonly leaderAcks = new OffsetQueue();
  private readonly allAcks = new OffsetQueue();

  get size(): number {
    return this.leaderAcks.size + this.allAcks.size;
  }

  add(produce: PendingProduce): void {
    (produce.acks === 1 ? this.leaderAcks : this.allAcks).push(produce);
  }

  /** acks=1 requests covered by `durableEnd`, acks=all requests covered by `highWatermark`. */
  takeDone(durableEnd: number, highWatermark: number): { leader: PendingProduce[]; all: PendingProduce[] } {
    const leader: PendingProduce[] = [];
    const all: PendingProduce[] = [];
    this.leaderAcks.takeUpTo(durableEnd, leader);
    this.allAcks.takeUpTo(highWatermark, all);
    return { leader, all };
  }

  takeExpired(nowMs: number): PendingProduce[] {
    const expired: PendingProduce[] = [];
    if (this.size === 0) return expired;
    const due = (produce: PendingProduce): boolean => produce.deadlineMs <= nowMs;
    this.leaderAcks.takeWhere(due, expired);
    this.allAcks.takeWhere(due, expired);
    return expired;
  }

  takeAll(): PendingProduce[] {
    return this.takeExpired(Number.POSITIVE_INFINITY);
  }
}
