// The `leader-epoch-checkpoint` file: the epoch history (epoch-history.ts) plus its text format. A
// replica that becomes follower asks the leader where its latest epoch ended (OffsetForLeaderEpoch)
// and truncates past that, so divergent never-committed data is cut rather than kept as a fork.
import { encodeCheckpoint, parseCheckpoint } from './checkpoint-file.ts';
import { EpochHistory } from './epoch-history.ts';

export { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEntry } from './epoch-history.ts';

export const LEADER_EPOCH_FILE = 'leader-epoch-checkpoint';
const CHECKPOINT_VERSION = 0;
const MAX_ENTRIES = 1_000_000;

export class LeaderEpochCache extends EpochHistory {
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
}
