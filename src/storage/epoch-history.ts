// Leader epoch -> first offset written in that epoch, as pure logic (no I/O). The storage layer
// persists it as `leader-epoch-checkpoint` (leader-epoch-cache.ts); the replication core
// (src/replication/) uses it directly for OffsetForLeaderEpoch answers and truncation points.
// Invariant: epochs and start offsets both strictly increase along the list.

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

export class EpochHistory {
  protected entries: EpochEntry[] = [];

  /** Loads a list; an out-of-order list is refused rather than silently repaired. */
  constructor(entries: readonly EpochEntry[] = []) {
    for (const entry of entries) {
      if (!this.assign(entry.epoch, entry.startOffset)) throw new Error(`leader epoch entry ${entry.epoch}@${entry.startOffset} is out of order`);
    }
  }

  list(): EpochEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /** The start offset of `epoch`, or undefined when the history does not hold it. */
  startOffsetOf(epoch: number): number | undefined {
    return this.entries.find((entry) => entry.epoch === epoch)?.startOffset;
  }

  /** The epoch that wrote `offset` (the last entry starting at or before it). */
  epochAt(offset: number): number {
    let found = UNDEFINED_EPOCH;
    for (const entry of this.entries) {
      if (entry.startOffset > offset) break;
      found = entry.epoch;
    }
    return found;
  }

  /**
   * Records that `epoch` starts at `startOffset`. Only a newer epoch starting at or after the
   * current latest start is taken; returns whether the history changed (then persist it).
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || startOffset < 0) return false;
    const latest = this.entries.at(-1);
    if (latest !== undefined && (epoch <= latest.epoch || startOffset < latest.startOffset)) return false;
    // A newer epoch starting where the previous one started means the previous one wrote nothing.
    if (latest !== undefined && startOffset === latest.startOffset) this.entries.pop();
    this.entries.push({ epoch, startOffset });
    return true;
  }

  /** After truncating the log to `endOffset`: epochs that start at or past it are gone. */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.entries.length;
    while (this.entries.length > 0 && this.entries.at(-1)!.startOffset >= endOffset) this.entries.pop();
    return this.entries.length !== before;
  }

  /** After the log start moved to `startOffset`: the epoch covering it now starts there. */
  truncateFromStart(startOffset: number): boolean {
    let firstKept = 0;
    while (firstKept + 1 < this.entries.length && this.entries[firstKept + 1]!.startOffset <= startOffset) firstKept++;
    const first = this.entries[firstKept];
    const changed = firstKept > 0 || (first !== undefined && first.startOffset < startOffset);
    this.entries = this.entries.slice(firstKept);
    if (first !== undefined && first.startOffset < startOffset) first.startOffset = startOffset;
    return changed;
  }

  /**
   * OffsetForLeaderEpoch as Kafka answers it (KIP-101, KIP-279): for the latest epoch, the log end
   * offset; for an older one, the start of the next higher epoch, paired with the largest epoch at
   * or below the requested one (or the requested one when it is older than everything held);
   * undefined when the requested epoch is newer than everything here.
   */
  endOffsetForEpoch(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) return undefinedAnswer;
    if (requestedEpoch === this.latestEpoch()) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.entries.find((entry) => entry.epoch > requestedEpoch);
    if (higher === undefined) return undefinedAnswer;
    let floor: EpochEntry | undefined;
    for (const entry of this.entries) if (entry.epoch <= requestedEpoch) floor = entry;
    return { epoch: floor?.epoch ?? requestedEpoch, endOffset: higher.startOffset };
  }
}
