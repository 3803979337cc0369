// The log storage the core reads (like etcd's Storage): the entries, hard state and snapshot that
// are already durable. The core never writes it; the driver appends to it after each fsync, so a
// MemoryStorage is the in-memory view of the files, and in the simulator it IS the durable state.
import { EMPTY_BYTES, EMPTY_HARD_STATE, emptySnapshot } from './types.ts';
import type { ConfState, Entry, HardState, Snapshot } from './types.ts';
import { assert, entriesSizeBytes } from './util.ts';

export interface RaftStorage {
  /** Hard state and membership saved before the last shutdown or crash. */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries [lo, hi), cut to at most maxBytes but never fewer than one. Requires firstIndex() <= lo <= hi <= lastIndex() + 1. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at index; answered for firstIndex() - 1 (the compaction point) too. Undefined outside. */
  term(index: number): number | undefined;
  /** Index of the first entry still held (the one after the compaction point). */
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot; its index is at or after the compaction point. */
  snapshot(): Snapshot;
}

/**
 * Entries in an array whose slot 0 is a placeholder holding the compaction point's index and term,
 * so term(firstIndex - 1) needs no special case.
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private currentSnapshot: Snapshot;
  private log: Entry[];

  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.currentSnapshot = emptySnapshot(confState);
    this.log = [{ index: 0, term: 0, data: EMPTY_BYTES }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.currentSnapshot.metadata.confState };
  }

  hardStateNow(): HardState {
    return this.hardState;
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const first = this.firstIndex();
    assert(lo >= first && lo <= hi && hi <= this.lastIndex() + 1, `storage entries [${lo}, ${hi}) outside [${first}, ${this.lastIndex() + 1})`);
    const offset = this.log[0]!.index;
    return limitSize(this.log.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number | undefined {
    const offset = this.log[0]!.index;
    if (index < offset || index > this.lastIndex()) return undefined;
    return this.log[index - offset]!.term;
  }

  firstIndex(): number {
    return this.log[0]!.index + 1;
  }

  lastIndex(): number {
    return this.log[0]!.index + this.log.length - 1;
  }

  snapshot(): Snapshot {
    return this.currentSnapshot;
  }

  /** Replaces everything with a snapshot received from the leader. Returns false if it is older than the one held. */
  applySnapshot(snapshot: Snapshot): boolean {
    if (snapshot.metadata.index <= this.currentSnapshot.metadata.index) return false;
    this.currentSnapshot = snapshot;
    this.log = [{ index: snapshot.metadata.index, term: snapshot.metadata.term, data: EMPTY_BYTES }];
    return true;
  }

  /** Records a snapshot of the applied state at `index` (which must still be in the log). */
  createSnapshot(index: number, data: Uint8Array, confState: ConfState): Snapshot {
    assert(index > this.currentSnapshot.metadata.index, `snapshot at ${index} is not newer than ${this.currentSnapshot.metadata.index}`);
    const term = this.term(index);
    assert(term !== undefined, `snapshot index ${index} is not in the log [${this.firstIndex() - 1}, ${this.lastIndex()}]`);
    this.currentSnapshot = { metadata: { index, term, confState }, data };
    return this.currentSnapshot;
  }

  /** Drops entries up to and including `compactIndex`; a no-op if they are already gone. */
  compact(compactIndex: number): void {
    const offset = this.log[0]!.index;
    if (compactIndex <= offset) return;
    assert(compactIndex <= this.lastIndex(), `compact ${compactIndex} is past the last index ${this.lastIndex()}`);
    const term = this.log[compactIndex - offset]!.term;
    this.log = [{ index: compactIndex, term, data: EMPTY_BYTES }, ...this.log.slice(compactIndex - offset + 1)];
  }

  /** Appends entries, discarding any stored entries from the first new index on. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const lastNew = entries[entries.length - 1]!.index;
    if (lastNew < first) return; // all of it is already behind the compaction point
    let fresh = entries;
    if (first > entries[0]!.index) fresh = entries.slice(first - entries[0]!.index);
    const offset = fresh[0]!.index - this.log[0]!.index;
    assert(offset <= this.log.length, `append at ${fresh[0]!.index} leaves a gap after ${this.lastIndex()}`);
    if (offset < this.log.length) this.log = this.log.slice(0, offset);
    for (const entry of fresh) this.log.push(entry);
  }

  /** Total payload bytes held, for limits and tests. */
  sizeBytes(): number {
    return entriesSizeBytes(this.log);
  }
}

/** Cuts `entries` so their size stays within maxBytes, keeping at least the first. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entryCostBytes(entries[0]!);
  let count = 1;
  for (; count < entries.length; count++) {
    size += entryCostBytes(entries[count]!);
    if (size > maxBytes) break;
  }
  return count === entries.length ? entries : entries.slice(0, count);
}

/** Payload plus the fixed header an entry costs on the wire and on disk. */
export function entryCostBytes(entry: Entry): number {
  return entry.data.length + 24;
}
