// Hands out producer ids (InitProducerId) from blocks that the caller reserves durably, as Kafka's
// ProducerIdManager does with blocks from the controller.
//
// Reservation contract: reserveBlock(blockSize) must make the reservation durable BEFORE it
// resolves (first a local checkpoint file, later a record in the Raft metadata log), and return
// the first id of a block no one was ever given. The manager then serves ids from memory. A
// restart loses the unused rest of the current block, never reuses an id: ids below the last
// reserved block end are never handed out again.
export type ReserveProducerIdBlock = (blockSize: number) => Promise<number>;

export interface ProducerIdManagerOptions {
  reserveBlock: ReserveProducerIdBlock;
  /** Kafka's block size. */
  blockSize?: number;
}

export const defaultProducerIdBlockSize = 1000;

interface Waiter {
  resolve: (producerId: number) => void;
  reject: (error: unknown) => void;
}

export class ProducerIdManager {
  readonly blockSize: number;
  readonly #reserveBlock: ReserveProducerIdBlock;
  #nextId = 0;
  #blockEnd = 0;
  /** End of the highest block ever received: a new block must start at or after it. */
  #highestBlockEnd = 0;
  /** Callers waiting for a block, served in arrival order. */
  #waiters: Waiter[] = [];
  /** One reservation at a time; it serves as many waiters as the block holds, then the next starts. */
  #reserving = false;

  constructor(options: ProducerIdManagerOptions) {
    this.blockSize = options.blockSize ?? defaultProducerIdBlockSize;
    if (!Number.isSafeInteger(this.blockSize) || this.blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${this.blockSize}`);
    this.#reserveBlock = options.reserveBlock;
  }

  /** Ids left in the current block before the next call must reserve. */
  get remainingInBlock(): number {
    return this.#blockEnd - this.#nextId;
  }

  nextProducerId(): Promise<number> {
    if (this.#waiters.length === 0 && this.#nextId < this.#blockEnd) return Promise.resolve(this.#nextId++);
    return new Promise<number>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#serveWaiters();
    });
  }

  #serveWaiters(): void {
    while (this.#waiters.length > 0 && this.#nextId < this.#blockEnd) this.#waiters.shift()!.resolve(this.#nextId++);
    if (this.#waiters.length === 0 || this.#reserving) return;
    this.#reserving = true;
    // Through a then() so that a reserveBlock that throws instead of rejecting is handled the same.
    Promise.resolve()
      .then(() => this.#reserveBlock(this.blockSize))
      .then(
        (firstId) => {
          this.#reserving = false;
          try {
            this.#acceptBlock(firstId);
          } catch (error) {
            this.#failWaiters(error);
            return;
          }
          this.#serveWaiters();
        },
        (error: unknown) => {
          this.#reserving = false;
          // Everyone waiting is told; the next call tries a fresh reservation.
          this.#failWaiters(error);
        },
      );
  }

  #acceptBlock(firstId: number): void {
    // Programmer error in the persistence layer: a reused or overlapping block would hand two
    // producers the same id, and with it each other's sequence numbers.
    if (!Number.isSafeInteger(firstId) || firstId < this.#highestBlockEnd || firstId + this.blockSize > Number.MAX_SAFE_INTEGER) {
      throw new Error(`reserved producer id block at ${firstId} overlaps ids handed out before (below ${this.#highestBlockEnd}) or is invalid`);
    }
    this.#nextId = firstId;
    this.#blockEnd = firstId + this.blockSize;
    this.#highestBlockEnd = this.#blockEnd;
  }

  #failWaiters(error: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}

/** For the caller's checkpoint: the block that follows the last reserved one (null: none yet). */
export function nextProducerIdBlockStart(lastReservedBlockStart: number | null, blockSize = defaultProducerIdBlockSize): number {
  return lastReservedBlockStart === null ? 0 : lastReservedBlockStart + blockSize;
}
