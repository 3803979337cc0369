// The core's view of its log: what storage already holds (durable) followed by what the core has
// accepted but the driver has not yet persisted ("unstable", handed out in Ready.entries), plus the
// commit and apply points. Mirrors etcd's raftLog/unstable.
import type { Entry, Snapshot } from './types.ts';
import type { RaftStorage } from './storage.ts';
import { entryCostBytes, limitSize } from './storage.ts';
import { assert } from './util.ts';

/** Entries (and possibly a snapshot) accepted but not yet durable. */
export class UnstableLog {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  /** Index of entries[0]. */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.metadata.index : undefined;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === index) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** Entries up to (index, term) are durable now; a later overwrite of that index makes this a no-op. */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    if (this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry);
    } else if (after <= this.offset) {
      // Replaces entries that may already be durable: the next Ready persists the new ones over them.
      this.offset = after;
      this.entries = entries.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    assert(lo >= this.offset && hi <= this.offset + this.entries.length, `unstable slice [${lo}, ${hi}) outside [${this.offset}, ${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

export class RaftLog {
  readonly storage: RaftStorage;
  readonly unstable: UnstableLog;
  /** Highest index known to be on a quorum (never decreases). */
  committed: number;
  /** Highest index the application has applied (never above committed). */
  applied: number;
  private readonly maxApplyBytes: number;

  constructor(storage: RaftStorage, maxApplyBytes: number) {
    this.storage = storage;
    this.maxApplyBytes = maxApplyBytes;
    const first = storage.firstIndex();
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of the entry at index, or undefined when compacted away or past the end. */
  term(index: number): number | undefined {
    const compactionPoint = this.firstIndex() - 1;
    if (index < compactionPoint || index > this.lastIndex()) return undefined;
    return this.unstable.maybeTerm(index) ?? this.storage.term(index);
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    assert(term !== undefined, `no term for the last index ${this.lastIndex()}`);
    return term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date if its last term is higher, or equal with an index at least as long. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of Append: if our log holds (index, logTerm), keep what matches, overwrite from the
   * first conflict, and commit up to min(leaderCommit, last new index). Returns the last new index,
   * or undefined when the logs do not match at `index`.
   */
  maybeAppend(index: number, logTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNewIndex = index + entries.length;
    const conflictIndex = this.findConflict(entries);
    if (conflictIndex !== 0) {
      assert(conflictIndex > this.committed, `entry ${conflictIndex} conflicts with committed entry (committed ${this.committed})`);
      this.append(entries.slice(conflictIndex - (index + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return lastNewIndex;
  }

  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    assert(after >= this.committed, `appending after ${after} would overwrite committed entries up to ${this.committed}`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** Index of the first entry whose term differs from ours (or that we lack); 0 if all match. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term: where a leader whose log
   * has `term` at some point may match ours. Lets a rejection skip a whole divergent term at once.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    if (index > this.lastIndex()) return { index, term: 0 };
    for (let candidate = index; candidate >= 0; candidate--) {
      const candidateTerm = this.term(candidate);
      if (candidateTerm === undefined) return { index: candidate, term: 0 };
      if (candidateTerm <= term) return { index: candidate, term: candidateTerm };
    }
    return { index: 0, term: 0 };
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  hasNextCommittedEntries(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  /** Committed entries not yet applied, at most maxApplyBytes of them (at least one). */
  nextCommittedEntries(): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, this.maxApplyBytes);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(toCommit: number): void {
    if (toCommit <= this.committed) return;
    assert(toCommit <= this.lastIndex(), `commit ${toCommit} is past the last index ${this.lastIndex()}`);
    this.committed = toCommit;
  }

  /** Leader side: commit `index` only if it carries the leader's own term (Raft §5.4.2). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(index <= this.committed && index >= this.applied, `applied ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapshotTo(index: number): void {
    this.unstable.stableSnapshotTo(index);
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** Entries from `lo` to the end, at most maxBytes; undefined when `lo` was compacted away (send a snapshot). */
  entriesFrom(lo: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  /** Entries [lo, hi) within the log, at most maxBytes (at least one). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, `slice [${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex() + 1})`);
    if (lo === hi) return [];
    const unstableOffset = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < unstableOffset) {
      const storedHi = Math.min(hi, unstableOffset);
      result = this.storage.entries(lo, storedHi, maxBytes);
      if (result.length < storedHi - lo) return result; // cut by size
    }
    if (hi > unstableOffset) {
      const fresh = this.unstable.slice(Math.max(lo, unstableOffset), hi);
      result = result.length === 0 ? fresh : result.concat(fresh);
    }
    return limitSize(result, maxBytes);
  }

  /** Bytes a set of entries costs, using the same measure as the size limits. */
  static costBytes(entries: readonly Entry[]): number {
    let size = 0;
    for (const entry of entries) size += entryCostBytes(entry);
    return size;
  }
}
