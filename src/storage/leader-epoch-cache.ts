// Leader epoch -> first offset written in that epoch, the `leader-epoch-checkpoint` file. A replica
// that becomes follower asks the leader where its latest epoch ended (OffsetForLeaderEpoch) and
// truncates past that, so divergent never-committed data is cut rather than kept as a fork.
// Invariant: epochs and start offsets both strictly increase along the list.
import { encodeCheckpoint, parseCheckpoint } from './checkpoint-file.ts';

export const LEADER_EPOCH_FILE = 'leader-epoch-checkpoint';
const CHECKPOINT_VERSION = 0;
const MAX_ENTRIES = 1_000_000;
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class LeaderEpochCache {
  private entries: EpochEntry[];

  constructor(entries: EpochEntry[] = []) {
    this.entries = entries.map((entry) => ({ ...entry }));
  }

  static parse(text: string): LeaderEpochCache {
    const rows = parseCheckpoint(text, CHECKPOINT_VERSION, 2, MAX_ENTRIES);
    const cache = new LeaderEpochCache();
    for (const [epoch, startOffset] of rows) {
      if (!cache.assign(epoch!, startOffset!)) throw new Error(`leader epoch entry ${epoch} ${startOffset} is out of order`);
    }
    return cache;
  }

  encode(): string {
    return encodeCheckpoint(CHECKPOINT_VERSION, this.entries.map((entry) => [entry.epoch, entry.startOffset]));
  }

  list(): EpochEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /**
   * Records that `epoch` starts at `startOffset`. Only a newer epoch starting at or after the
   * current latest start is taken; returns whether the cache changed (then persist it).
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || startOffset < 0) return false;
    const latest = this.entries.at(-1);
    if (latest !== undefined && (epoch <= latest.epoch || startOffset < latest.startOffset)) return false;
    // A newer epoch starting where the previous one started means the previous wrote nothing.
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
   * OffsetForLeaderEpoch, as Kafka answers it: for the latest epoch, the log end offset; for an
   * older epoch, the start offset of the next higher epoch, together with the largest epoch at or
   * below the requested one (or the requested one when it is older than everything cached).
   */
  endOffsetForEpoch(requestedEpoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
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
