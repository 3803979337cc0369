// The leader's most recent appends, kept in memory for its followers' fetches.
//
// A follower fetches a batch milliseconds after the leader wrote it. Reading it back from the
// segment costs a positional read into a fresh buffer (an allocation the GC must later find) and
// a CRC-32C pass over bytes the leader checked itself on the way in; per 64 KiB batch and
// follower that was about as much CPU as the append. These are the very bytes handed to the
// LogWriter (offsets and epoch assigned in place, nothing changes them afterwards), so serving
// them from memory serves exactly what the file holds — or should hold: a bit flip on disk is
// then found by the next read from disk (consumers, a follower catching up from further back),
// which still checks every CRC, and is never served.
//
// Only whole single-batch appends are kept (every Produce v3+ append is one), so an answer is
// always whole batches with the same limits as a segment read. Bounded in bytes, in entries and
// in age: a partition gone idle drops its entries after about MAX_AGE_MS (the buffers may pin the
// request's receive arena). Any truncation or segment swap clears everything.
import type { Segment } from './segment.ts';

export const RECENT_BATCHES_MAX_BYTES = 4 * 1024 * 1024;
const MAX_ENTRIES = 256;
const MAX_AGE_MS = 2000;

interface RecentBatch {
  segment: Segment;
  baseOffset: number;
  /** The offset after the batch. */
  endOffset: number;
  bytes: Buffer;
  addedMs: number;
}

export class RecentBatches {
  private entries: RecentBatch[] = [];
  private bytes = 0;
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly now: () => number, private readonly maxBytes = RECENT_BATCHES_MAX_BYTES) {}

  /** A leader append of one batch at [baseOffset, endOffset), in `segment`, in offset order. */
  remember(segment: Segment, baseOffset: number, endOffset: number, bytes: Buffer): void {
    const last = this.entries.at(-1);
    // Contiguous offsets only: a gap (an append not kept) would make an answer skip offsets.
    if (last !== undefined && last.endOffset !== baseOffset) this.clear();
    if (bytes.length > this.maxBytes) return;
    this.entries.push({ segment, baseOffset, endOffset, bytes, addedMs: this.now() });
    this.bytes += bytes.length;
    // Bounded: each round removes one entry.
    while (this.bytes > this.maxBytes || this.entries.length > MAX_ENTRIES) this.bytes -= this.entries.shift()!.bytes.length;
    this.armExpiry();
  }

  /**
   * Whole batches from the one starting exactly at `offset`, as a segment read would answer: at
   * least one batch, then more while the total stays within `maxBytes`, none starting at or past
   * `limitOffset` (which must not exceed what is readable in the file), all from one segment.
   * null when `offset` does not start a kept batch (the caller reads the segment).
   */
  read(offset: number, maxBytes: number, limitOffset: number): { records: Buffer; nextOffset: number } | null {
    const entries = this.entries;
    if (entries.length === 0 || offset < entries[0]!.baseOffset || offset >= entries.at(-1)!.endOffset) return null;
    let index = entries.length - 1;
    // Followers fetch near the end: search from there (bounded by MAX_ENTRIES).
    while (index > 0 && entries[index]!.baseOffset > offset) index--;
    const first = entries[index]!;
    if (first.baseOffset !== offset || first.baseOffset >= limitOffset) return null;
    const parts: Buffer[] = [];
    let total = 0;
    let nextOffset = offset;
    for (let at = index; at < entries.length; at++) {
      const entry = entries[at]!;
      if (entry.segment !== first.segment || entry.baseOffset >= limitOffset) break;
      if (parts.length > 0 && total + entry.bytes.length > maxBytes) break;
      parts.push(entry.bytes);
      total += entry.bytes.length;
      nextOffset = entry.endOffset;
      if (total >= maxBytes) break;
    }
    return { records: parts.length === 1 ? parts[0]! : Buffer.concat(parts, total), nextOffset };
  }

  clear(): void {
    this.entries = [];
    this.bytes = 0;
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }

  private armExpiry(): void {
    if (this.expiryTimer !== null) return;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      const cutoff = this.now() - MAX_AGE_MS;
      // Bounded by the entry count.
      while (this.entries.length > 0 && this.entries[0]!.addedMs <= cutoff) this.bytes -= this.entries.shift()!.bytes.length;
      if (this.entries.length > 0) this.armExpiry();
    }, MAX_AGE_MS);
    this.expiryTimer.unref();
  }
}
